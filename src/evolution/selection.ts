/**
 * What selection sees, shared by the algorithms' bookkeeping and the report,
 * so that the weights kept during a run are those the report will choose.
 */
import { spaceOf } from '../spaces/index.js';
import type { Individual } from '../store/types.js';

/**
 * The fitness selection sees: validation accuracy, averaged over every
 * evaluation of the same bits in the stages space (Genetic CNN's rule).
 */
export function selectionFitness(individuals: Pick<Individual, 'id' | 'space' | 'dna' | 'fitness'>[]): Map<string, number> {
  const out = new Map<string, number>();
  const sums = new Map<string, { sum: number; n: number }>();
  const key = (i: Pick<Individual, 'id' | 'space' | 'dna'>) => spaceOf(i.space).selectionKey(i);
  for (const i of individuals) {
    if (i.fitness === null) continue;
    const e = sums.get(key(i)) ?? { sum: 0, n: 0 };
    sums.set(key(i), { sum: e.sum + i.fitness, n: e.n + 1 });
  }
  for (const i of individuals) if (i.fitness !== null) out.set(i.id, sums.get(key(i))!.sum / sums.get(key(i))!.n);
  return out;
}

export interface Born {
  id: string;
  bornAt: string;
  fitness: number | null;
}

/**
 * The best-so-far individuals (Real et al. 2017, Figure 1's line): in birth
 * order, each individual whose validation accuracy beats every earlier one.
 * At any time the best so far is the last of these born at or before it.
 * Ties keep the earlier individual.
 */
export function bestSoFar<T extends Born>(individuals: T[]): T[] {
  const out: T[] = [];
  let best = -Infinity;
  for (const i of [...individuals].sort((a, b) => (a.bornAt < b.bornAt ? -1 : a.bornAt > b.bornAt ? 1 : a.id < b.id ? -1 : 1))) {
    if (i.fitness !== null && i.fitness > best) {
      best = i.fitness;
      out.push(i);
    }
  }
  return out;
}
