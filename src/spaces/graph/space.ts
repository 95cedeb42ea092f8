/** The graph space as a SearchSpace: Large-Scale Evolution's DNA, its eleven mutations and its rate carried in the DNA. */
import type { Rng } from '../../util/rng.js';
import type { Mutation, SearchSpace } from '../types.js';
import { compileDNA } from './compile.js';
import { initialDNA, validateDNA } from './dna.js';
import type { GraphDNA } from './dna.js';
import { inheritance, mutate } from './mutations.js';
import type { MutationWeights } from './mutations.js';
import { crossWeights, evolveWeights, fuse, fusedWeights, normalizedWeights, RECOMBINATIONS } from './recombine.js';
import { renderDNA } from './render.js';
import { GraphSettingsSchema, SCALED_SCHEDULE } from './settings.js';
import type { GraphSettings } from './settings.js';

/**
 * A child by `k` mutations under the experiment's limits. With evolved
 * probabilities the child's own distribution (its parent's, or the
 * experiment's weights to begin with) is mutated first and then drawn from.
 */
function mutateGraph(dna: GraphDNA, rng: Rng, k: number, s: GraphSettings, form?: string): Mutation {
  let weights = Object.keys(s.mutationWeights).length ? (s.mutationWeights as MutationWeights) : undefined; // {}: uniform, the paper
  let evolved: Record<string, number> | undefined;
  if (form === 'probabilities') {
    evolved = evolveWeights(dna.mutationWeights ?? normalizedWeights(s.mutationWeights as MutationWeights), rng);
    weights = evolved as MutationWeights;
  }
  const child = mutate(dna, rng, { k, ...(weights ? { weights } : {}), minLearningRate: s.minLearningRate, minChannels: s.minChannels });
  if (evolved) child.dna.mutationWeights = evolved;
  return { ...child, inherit: inheritance(child.records) };
}

export const graphSpace: SearchSpace<GraphSettings> = {
  name: 'graph',
  title: "Large-Scale Evolution's graph DNA",
  algorithms: ['tournament', 'aging', 'random'],
  settings: GraphSettingsSchema,
  validate: validateDNA,
  compile: (dna, io) => compileDNA(validateDNA(dna), io),
  selectionKey: (i) => i.id,
  render: (dna, io, title) => renderDNA(validateDNA(dna), io, title),
  describe: () => ({}),
  outline(raw) {
    const dna = validateDNA(raw);
    return `vertices ${dna.vertices.length}, convolutions ${dna.edges.filter((e) => e.kind === 'conv').length}, skips ${dna.edges.filter((e) => e.skip).length}, learning rate ${dna.learningRate}`;
  },
  training: (dna) => ({ learningRate: validateDNA(dna).learningRate }),
  initialPopulation: (size) => Array.from({ length: size }, () => initialDNA()),
  mutate: (dna, rng, k, s, form) => mutateGraph(validateDNA(dna), rng, k, s, form),
  recombination: {
    forms: RECOMBINATIONS,
    recombine(form, a, b, rng, k, s, io) {
      const first = validateDNA(a);
      const second = validateDNA(b);
      switch (form) {
        case 'probabilities': {
          // Structure (and learning rate) from the first parent, the mutation distribution from the second.
          const { mutationWeights, ...structure } = first;
          const distribution = second.mutationWeights ?? normalizedWeights(s.mutationWeights as MutationWeights);
          const child = mutateGraph({ ...structure, mutationWeights: distribution }, rng, k, s, form);
          const record = { type: 'recombine', targets: [], detail: { form, distributionFrom: 'second' }, inherit: 'all' };
          return { ...child, records: [record, ...child.records] };
        }
        case 'weights': {
          const child = mutateGraph(first, rng, k, s, form);
          const detail: Record<string, number | string> = { form };
          const record = { type: 'recombine', targets: [] as string[], detail, inherit: 'all' };
          const coins = rng.fork('weights');
          return {
            ...child,
            records: [record, ...child.records],
            // Fills the record in as it crosses: the record is stored with the trained child, after this ran.
            weights(w1, w2) {
              const { weights, fromSecond } = crossWeights(w1, w2, coins);
              record.targets = fromSecond;
              detail.layersFromSecond = fromSecond.length;
              return weights;
            },
          };
        }
        case 'fusion': {
          // The parents' channel floor carries over (fuse): the child compiles to the two networks they were trained as.
          const f = fuse(first, second, io);
          const record = { type: 'recombine', targets: [], detail: { form, head: f.head, secondLayers: f.rename.size }, inherit: 'all' };
          return { dna: f.dna, records: [record], inherit: 'all', weights: (w1, w2) => fusedWeights(w1, w2, f) };
        }
        default:
          throw new RangeError(`the graph space has no recombination ${JSON.stringify(form)} (it has ${RECOMBINATIONS.join(', ')})`);
      }
    },
  },
  defaultSchedule: SCALED_SCHEDULE,
};
