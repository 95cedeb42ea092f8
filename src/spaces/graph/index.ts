/** The Large-Scale Evolution search space: graph DNA, mutations, compile, cost. */
export * from './dna.js';
export * from './mutations.js';
export { compileDNA, vertexShapes } from './compile.js';
export { renderDNA } from './render.js';

import { analyze, individualCost } from '../../net/analyze.js';
import type { IOSpec } from '../../net/presets.js';
import { compileDNA } from './compile.js';
import type { GraphDNA } from './dna.js';

/** The paper's cost of an individual, Ft·Nt + Fv·Nv, in FLOPs. */
export function dnaCost(dna: GraphDNA, io: IOSpec, o: { trainSteps: number; batchSize: number; validationImages: number }): number {
  return individualCost(analyze(compileDNA(dna, io)), o);
}
