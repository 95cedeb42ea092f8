/**
 * What selection sees, shared by the algorithms' bookkeeping and the report,
 * so that the weights kept during a run are those the report will choose.
 */
import { hashStagesDNA, validateStagesDNA } from '../spaces/stages/index.js';
import type { Individual } from '../store/types.js';

/**
 * The fitness selection sees: validation accuracy, averaged over every
 * evaluation of the same bits in the stages space (Genetic CNN's rule).
 */
export function selectionFitness(individuals: Pick<Individual, 'id' | 'space' | 'dna' | 'fitness'>[]): Map<string, number> {
  const out = new Map<string, number>();
  const sums = new Map<string, { sum: number; n: number }>();
  const key = (i: Pick<Individual, 'id' | 'space' | 'dna'>) => (i.space === 'stages' ? hashStagesDNA(validateStagesDNA(i.dna)) : i.id);
  for (const i of individuals) {
    if (i.fitness === null) continue;
    const e = sums.get(key(i)) ?? { sum: 0, n: 0 };
    sums.set(key(i), { sum: e.sum + i.fitness, n: e.n + 1 });
  }
  for (const i of individuals) if (i.fitness !== null) out.set(i.id, sums.get(key(i))!.sum / sums.get(key(i))!.n);
  return out;
}

