/**
 * The graph space's settings in experiment.json ("graph"), declared once:
 * their types, defaults and checks, and the schedule the space runs by
 * default. Defaults are evonas's, scaled for minutes on 2 cores rather than
 * days on 250 machines; each says what the paper had.
 */
import { z } from 'zod';
import { atLeast, strict, whole } from '../../util/schema.js';
import { MUTATIONS } from './mutations.js';

/**
 * Mutation probabilities. The paper picks uniformly among its eleven; on a
 * 2-core machine with minutes rather than days, growth must come sooner, so
 * the defaults favour the mutations that grow a network (insert a
 * convolution, alter its channels) and continued training (identity), and
 * rarely throw trained weights away (reset). Every mutation stays possible.
 * Measured: a 10-minute run reached 0.62 validation accuracy with these,
 * where uniform weights (and population 20) reached 0.43 in 20 minutes.
 */
export const SCALED_MUTATION_WEIGHTS: Record<string, number> = {
  'insert-convolution': 3,
  'alter-channels': 3,
  identity: 2,
  'alter-stride': 1,
  'filter-size': 1,
  'add-skip': 1,
  'alter-learning-rate': 1,
  'remove-skip': 0.5,
  'remove-convolution': 0.5,
  'insert-one-to-one': 0.5,
  'reset-weights': 0.2,
};

/** A raised mutation rate (3 per child) for the first 3 minutes, while networks are trivial and cheap (the paper's section 5 schedule, scaled). */
export const SCALED_SCHEDULE = { mutationRate: [{ from: 0, to: 180, k: 3 }] };

export const GraphSettingsSchema = strict({
  minChannels: whole(1)
    .default(16)
    .describe('The fewest output channels a convolution has (1: none, the paper). Without a floor, deep chains of 3-7 channels trapped whole runs (docs/findings/main-job).'),
  minLearningRate: atLeast(0).default(0.02).describe('The least learning rate ALTER-LEARNING-RATE sets (0: no floor, the paper). The finish anneals at the end instead (docs/findings/main-job).'),
  mutationWeights: z
    .record(z.string(), atLeast(0), { error: 'expected an object of mutation names to weights' })
    .superRefine((w, ctx) => {
      for (const k of Object.keys(w)) if (!(MUTATIONS as readonly string[]).includes(k)) ctx.addIssue({ code: 'custom', path: [k], message: `unknown mutation (known: ${MUTATIONS.join(', ')})` });
    })
    .refine((w) => Object.keys(w).length === 0 || Object.values(w).some((v) => v > 0), {
      error: 'every listed mutation has weight 0, and an unlisted one gets 0: no mutation could be drawn (give one a weight above 0, or {} for uniform)',
    })
    .default(SCALED_MUTATION_WEIGHTS)
    .describe('Mutation weights by name; a mutation not listed gets weight 0, and at least one must be above 0 ({}: every mutation weight 1, the paper). The default favours growth.'),
});

export type GraphSettings = z.output<typeof GraphSettingsSchema>;
