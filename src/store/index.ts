export * from './types.js';
export { FileStore, newIndividualId, newRecord } from './fs-store.js';
export { TimedStore } from './timed.js';
export { GenerationFiles } from './generations.js';
export { LeaseClaims } from './claims.js';
export { readRun, RUN_FILE, writeRun } from './run-state.js';
export type { RunState } from './run-state.js';
export { summarizePopulation } from './summary.js';
export type { PopulationSummary } from './summary.js';
