/**
 * The stages space's settings in experiment.json ("stages"), declared once:
 * their types, defaults (Genetic CNN's CIFAR-10 values, section 4.1) and
 * checks: the generations, how each individual trains, the operators, and
 * the network around the stages.
 */
import { z } from 'zod';
import { atLeast, oneOf, probability, strict, whole } from '../../util/schema.js';
import { GENETIC_CNN_BASE } from './compile.js';

/** Genetic CNN's operator settings (Xie & Yuille 2017, section 4.1: pM 0.8, qM 0.05, pC 0.2, qC 0.2). */
export const GeneticSchema = strict({
  pM: probability().default(0.8).describe('Probability that an individual mutates.'),
  qM: probability().default(0.05).describe('Probability that each bit of a mutating individual flips.'),
  pC: probability().default(0.2).describe('Probability that a pair crosses over.'),
  qC: probability().default(0.2).describe('Probability that each stage is swapped within a crossing pair.'),
  initialization: oneOf(['random', 'zeros']).default('random').describe("Generation 0: Bernoulli(0.5) bits, or all zeros (the paper's section 4.1.2)."),
});

export type GeneticSettings = z.output<typeof GeneticSchema>;

const list = (what: string) => z.array(whole(1), { error: `expected a list of ${what}` }).min(1, { error: `expected a list of ${what}` });
const odd = 'expected an odd whole number';

export const StagesSettingsSchema = strict({
  generations: whole(0).default(50).describe('Generations T after the initial one (paper: 50).'),
  epochs: atLeast(0, true).nullable().default(null).describe("Train each individual this many epochs instead of the experiment's stepsPerChild (null: stepsPerChild)."),
  learningRate: atLeast(0, true).default(0.01).describe("The base of the paper's stepped schedule (paper: 0.01)."),
  genetic: GeneticSchema.prefault({}).describe("The operators' settings (the paper's CIFAR-10 values)."),
  nodes: list('whole numbers >= 1').default([3, 4, 5]).describe('Ordinary nodes per stage (paper: 3, 4, 5).'),
  widths: list('whole numbers >= 1').default(GENETIC_CNN_BASE.widths).describe('Channels of every convolution in each stage (paper: 8, 8, 16 in the search; 64, 128, 256 retrained).'),
  kernel: whole(1)
    .refine((k) => k % 2 === 1, { error: odd })
    .default(GENETIC_CNN_BASE.kernel)
    .describe("Kernel size of the stages' convolutions (paper: 3)."),
  fc: whole(1).default(GENETIC_CNN_BASE.fc).describe('Units of the first fully connected layer (paper: 32 in the search, 1024 retrained).'),
  dropout: atLeast(0).lt(1, { error: 'expected a number in [0, 1)' }).default(GENETIC_CNN_BASE.dropout).describe('Dropout after it (paper: 0.5).'),
}).superRefine((s, ctx) => {
  if (s.widths.length !== s.nodes.length) ctx.addIssue({ code: 'custom', path: ['widths'], message: `expected one width per stage (${s.nodes.length}) but found ${s.widths.length}` });
});

export type StagesSettings = z.output<typeof StagesSettingsSchema>;
