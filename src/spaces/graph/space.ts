/** The graph space as a SearchSpace: Large-Scale Evolution's DNA, its eleven mutations and its rate carried in the DNA. */
import type { SearchSpace } from '../types.js';
import { compileDNA } from './compile.js';
import { initialDNA, validateDNA } from './dna.js';
import { inheritance, mutate } from './mutations.js';
import type { MutationWeights } from './mutations.js';
import { renderDNA } from './render.js';
import { GraphSettingsSchema, SCALED_SCHEDULE } from './settings.js';
import type { GraphSettings } from './settings.js';

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
  mutate(dna, rng, k, s) {
    const weights = Object.keys(s.mutationWeights).length ? (s.mutationWeights as MutationWeights) : undefined; // {}: uniform, the paper
    const child = mutate(validateDNA(dna), rng, { k, ...(weights ? { weights } : {}), minLearningRate: s.minLearningRate, minChannels: s.minChannels });
    return { ...child, inherit: inheritance(child.records) };
  },
  defaultSchedule: SCALED_SCHEDULE,
};
