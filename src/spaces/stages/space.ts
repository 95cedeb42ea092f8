/**
 * The stages space as a SearchSpace: Genetic CNN's binary encoding, bred in
 * generations (Xie & Yuille 2017, Algorithm 1) by roulette selection,
 * per-stage crossover of pairs and per-bit mutation; every individual trains
 * from scratch on the paper's stepped schedule.
 */
import type { Rng } from '../../util/rng.js';
import type { PlanSlot, SearchSpace } from '../types.js';
import { compileStages } from './compile.js';
import { formatBits, hashStagesDNA, validateStagesDNA, zeroDNA } from './dna.js';
import type { StagesDNA } from './dna.js';
import { crossover, mutateBits, randomStagesDNA, roulette } from './operators.js';
import { renderStages } from './render.js';
import { StagesSettingsSchema } from './settings.js';
import type { StagesSettings } from './settings.js';

function initialSlot(s: StagesSettings, rng: Rng): PlanSlot {
  const zeros = s.genetic.initialization === 'zeros';
  return { dna: zeros ? zeroDNA(s.nodes) : randomStagesDNA(s.nodes, rng), parents: [], operations: [{ type: 'initial', initialization: s.genetic.initialization }] };
}

export const stagesSpace: SearchSpace<StagesSettings> = {
  name: 'stages',
  title: "Genetic CNN's binary stage encoding",
  algorithms: ['generational', 'random'],
  settings: StagesSettingsSchema,
  validate: validateStagesDNA,
  compile: (dna, io, s) => compileStages(validateStagesDNA(dna), io, s),
  selectionKey: (i) => hashStagesDNA(validateStagesDNA(i.dna)),
  render: (dna, _io, title) => renderStages(validateStagesDNA(dna), title),
  describe: (dna) => ({ bits: formatBits(validateStagesDNA(dna)) }),
  training: (_dna, s) => ({ learningRate: s.learningRate, schedule: 'stepped' }),
  initialPopulation: () => [],
  randomIndividual: (rng, s) => randomStagesDNA(s.nodes, rng),
  breeding: {
    generations: (s) => s.generations,
    epochs: (s) => s.epochs,
    initial: (s, population, rng) => Array.from({ length: population }, () => initialSlot(s, rng)),
    /**
     * Roulette selection (or the selection given), crossover of pairs (1,2), (3,4), ... with pC
     * swapping each stage with qC, then mutation of each individual not
     * crossed with pM flipping each bit with qM.
     */
    next(s, previous, population, rng, select) {
      const dna = (i: number) => previous[i]!.dna as StagesDNA;
      const slots: (PlanSlot & { dna: StagesDNA })[] = (
        select
          ? select(population, rng)
          : roulette(
              previous.map((e) => e.fitness),
              population,
              rng,
            )
      ).map((i) => ({ dna: dna(i), parents: [previous[i]!.id], operations: [{ type: 'selection', from: previous[i]!.id }] }));
      const crossed = new Set<number>();
      for (let a = 0; a + 1 < slots.length; a += 2) {
        if (rng.next() >= s.genetic.pC) continue;
        const [x, y] = [slots[a]!, slots[a + 1]!];
        const { children, swapped } = crossover(x.dna, y.dna, s.genetic.qC, rng);
        slots[a] = { dna: children[0], parents: [...x.parents, ...y.parents], operations: [...x.operations, { type: 'crossover', with: y.parents[0]!, stages: swapped }] };
        slots[a + 1] = { dna: children[1], parents: [...y.parents, ...x.parents], operations: [...y.operations, { type: 'crossover', with: x.parents[0]!, stages: swapped }] };
        crossed.add(a).add(a + 1);
      }
      slots.forEach((slot, i) => {
        if (crossed.has(i) || rng.next() >= s.genetic.pM) return;
        const { dna, flipped } = mutateBits(slot.dna, s.genetic.qM, rng);
        slots[i] = { ...slot, dna, operations: [...slot.operations, { type: 'mutation', flipped }] };
      });
      return slots;
    },
  },
  retrain: {
    stages: (s) => s.nodes.length,
    widen: (s, widths, fc) => ({ ...s, widths, fc }),
  },
};
