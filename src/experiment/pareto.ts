/**
 * An experiment's Pareto front now, read from its store (evonas pareto): every
 * trained individual within the constraints that no other beats in every
 * objective, by validation accuracy and recorded costs. Test accuracies are
 * the report's: it tests each member once.
 */
import { loadConfig } from '../evolution/config.js';
import { OBJECTIVES, paretoFront } from '../evolution/pareto.js';
import type { Objective } from '../evolution/pareto.js';
import { withHome } from '../store/home.js';
import { EvonasError } from '../util/errors.js';

export interface FrontMember {
  id: string;
  state: 'alive' | 'dead';
  validationAccuracy: number;
  parameters: number;
  flops: number;
  /** Milliseconds per image at batch 1, where the search measured it, and where. */
  latency?: number;
  latencyOn?: string;
}

/**
 * @param o.objectives the objectives to judge by (default: the experiment's; accuracy alone gives the best).
 * @throws {EvonasError} ERR_INPUT when an objective is unknown.
 */
export async function paretoOf(location: string, o: { objectives?: Objective[] } = {}): Promise<{ experiment: string; objectives: Objective[]; members: FrontMember[] }> {
  return withHome(location, async (home) => {
    const config = await loadConfig(home);
    const objectives = o.objectives ?? [...config.objectives];
    for (const obj of objectives)
      if (!(OBJECTIVES as readonly string[]).includes(obj)) throw new EvonasError('ERR_INPUT', `objectives: expected ${OBJECTIVES.join(', ')} but found ${JSON.stringify(obj)}`, ['objectives']);
    if (objectives[0] !== 'accuracy') throw new EvonasError('ERR_INPUT', 'objectives: the first objective is accuracy', ['objectives']);
    const all = (await home.store.list()).filter((i) => i.costs !== undefined);
    const front = paretoFront(all, { objectives, constraints: config.constraints });
    return {
      experiment: home.name,
      objectives,
      members: front.map((i) => ({ id: i.id, state: i.state, validationAccuracy: i.fitness!, ...i.costs! })),
    };
  });
}
