/** The Large-Scale Evolution search space: graph DNA, mutations, compile, cost. */
export * from './dna.js';
export * from './mutations.js';
export { compileDNA, vertexShapes } from './compile.js';
