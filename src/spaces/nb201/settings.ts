/** The nb201 space's settings in experiment.json ("nb201"): the skeleton's size (the benchmark's by default) and the rate its children train at. */
import type { z } from 'zod';
import { atLeast, strict, whole } from '../../util/schema.js';
import { NB201_BENCHMARK } from './compile.js';

export const Nb201SettingsSchema = strict({
  cellsPerStage: whole(1, 64).default(NB201_BENCHMARK.cellsPerStage).describe('Cells per stage (the benchmark: 5; fewer for 2 cores).'),
  channels: whole(1, 4096).default(NB201_BENCHMARK.channels).describe("The first stage's channels; the others have 2x and 4x (the benchmark: 16)."),
  learningRate: atLeast(0, true).default(0.01).describe('The constant learning rate every trained child uses (a cell carries none).'),
});

export type Nb201SettingsConfig = z.output<typeof Nb201SettingsSchema>;
