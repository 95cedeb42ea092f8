/** The search spaces by name: what a stored individual's `space` field selects. */
import type { NetIR } from '../net/ir.js';
import type { IOSpec } from '../net/presets.js';
import { compileDNA, validateDNA } from './graph/index.js';
import { compileStages, GENETIC_CNN_BASE, validateStagesDNA } from './stages/index.js';
import type { StagesBase } from './stages/index.js';

export const SPACES = ['graph', 'stages'] as const;
export type SpaceName = (typeof SPACES)[number];

/** Compiles a stored DNA of either space; `stages` gives the stages space's base network. */
export function compileIndividual(space: string, dna: unknown, io: IOSpec, stages: StagesBase = GENETIC_CNN_BASE): NetIR {
  switch (space) {
    case 'graph':
      return compileDNA(validateDNA(dna), io);
    case 'stages':
      return compileStages(validateStagesDNA(dna), io, stages);
    default:
      throw new RangeError(`Expected a search space (${SPACES.join(', ')}) but found ${JSON.stringify(space)}`);
  }
}
