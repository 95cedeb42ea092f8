/**
 * The search spaces by name: what an experiment's `space` and a stored
 * individual's `space` field select. Shared code (report, dashboard,
 * selection, status, config) asks this registry what a space does and never
 * names one itself, nor imports a space's folder.
 */
import type { NetIR } from '../net/ir.js';
import type { IOSpec } from '../net/presets.js';
import { EvonasError } from '../util/errors.js';
import { graphSpace } from './graph/space.js';
import { nb201Space } from './nb201/space.js';
import { stagesSpace } from './stages/space.js';
import type { LookupTable, SearchSpace } from './types.js';

export type { Breeding, ChildTraining, Evaluated, LookupTable, Mutation, PlanSlot, SearchSpace, Weights } from './types.js';

/** Every space; adding one is a folder under src/spaces/ (its space.ts) and one entry here. */
export const SPACE_REGISTRY = new Map<string, SearchSpace>([
  [graphSpace.name, graphSpace as SearchSpace],
  [stagesSpace.name, stagesSpace as SearchSpace],
  [nb201Space.name, nb201Space as SearchSpace],
]);

/** The space an experiment searches when it names none: the paper's. */
export const DEFAULT_SPACE = graphSpace.name;

/** @throws {RangeError} naming the known spaces when `name` is none of them. */
export function spaceOf(name: string): SearchSpace {
  const s = SPACE_REGISTRY.get(name);
  if (!s) throw new RangeError(`Expected a search space (${[...SPACE_REGISTRY.keys()].join(', ')}) but found ${JSON.stringify(name)}`);
  return s;
}

/**
 * A space's settings in an experiment's configuration (its block under the
 * space's name), or the space's defaults when it has none (a configuration of
 * another space, a caller with no experiment).
 */
export function settingsOf(space: string, config: object = {}): unknown {
  const s = spaceOf(space);
  const own = (config as Record<string, unknown>)[space];
  return own ?? s.settings.parse({});
}

/**
 * The tabular benchmark a table-driven experiment looks its accuracies up in.
 * @throws {EvonasError} naming the file, line or field at fault, or ERR_CONFIG when the experiment trains instead.
 */
export function tableOf(config: { space: string; evaluator: string; benchmark: { path: string; dataset: string } | null }): LookupTable {
  const t = spaceOf(config.space).table;
  if (config.evaluator !== 'table' || !t || !config.benchmark)
    throw new EvonasError('ERR_CONFIG', `evaluator: this experiment trains its individuals (evaluator ${config.evaluator}); it has no table`, ['evaluator']);
  return t.read(config.benchmark.path, config.benchmark.dataset);
}

/** Compiles a stored DNA of any space with an experiment's settings for it (its configuration will do; none: the space's defaults). */
export function compileIndividual(space: string, dna: unknown, io: IOSpec, config: object = {}): NetIR {
  return spaceOf(space).compile(dna, io, settingsOf(space, config));
}
