/** The Large-Scale Evolution search space: graph DNA, mutations, compile, drawing, settings. */
export * from './dna.js';
export * from './mutations.js';
export { compileDNA, vertexShapes } from './compile.js';
export { renderDNA } from './render.js';
export { GraphSettingsSchema, SCALED_MUTATION_WEIGHTS, SCALED_SCHEDULE } from './settings.js';
export type { GraphSettings } from './settings.js';
export { graphSpace } from './space.js';
export * from './recombine.js';
