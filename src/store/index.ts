export * from './types.js';
export { FileStore, newIndividualId, newRecord } from './fs-store.js';
export { TimedStore } from './timed.js';
export { GenerationFiles } from './generations.js';
export { LeaseClaims } from './claims.js';
