/**
 * An experiment's configuration, saved whole in <experiment>/experiment.json.
 * Defaults are the paper's values, scaled where a 2-core machine needs it;
 * each scaled value says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import type { AlgorithmName } from './algorithms.js';
import { validateSchedule } from './schedule.js';
import { validateStagnation } from './stagnation.js';
import type { StagnationPolicy } from './stagnation.js';
import type { Schedule } from './schedule.js';
import { GENETIC_CNN_BASE } from '../spaces/stages/compile.js';
import { MUTATIONS } from '../spaces/graph/mutations.js';
import { SPACE_REGISTRY, spaceOf } from '../spaces/index.js';
import type { StagesBase } from '../spaces/stages/compile.js';
import { EvonasError, pathOf } from '../util/errors.js';

export const EXPERIMENT_FILE = 'experiment.json';

export interface ExperimentConfig {
  format: 'evonas.experiment';
  version: 1;
  /** Dataset cache folder. */
  data: string;
  /** graph: Large-Scale Evolution's DNA; stages: Genetic CNN's binary encoding. */
  space: 'graph' | 'stages';
  /** graph: tournament, aging or random; stages: generational or random. */
  algorithm: AlgorithmName | 'generational';
  /** Paper: 1,000. Scaled to 10 for a 2-core machine (two workers): selection must act within minutes. */
  population: number;
  /** Paper: population / 4. Scaled to 2 (one per core). */
  workers: number;
  /** Intra-op threads per worker. */
  threadsPerWorker: number;
  /** Paper: 25,600 per child. Scaled to 400 (weights are inherited, so training accumulates). */
  stepsPerChild: number;
  /** Paper: 50. */
  batchSize: number;
  /** Paper: 0.9 and 0.0001. */
  momentum: number;
  weightDecay: number;
  /** Aging evolution's sample size. */
  sampleSize: number;
  /** False for the paper's no-inheritance control. */
  inheritance: boolean;
  precision: 'fp32' | 'bf16';
  seed: number;
  schedule: Schedule;
  /** Notice a trapped population and apply the paper's remedies by itself (null: never; see stagnation.ts). */
  stagnation: StagnationPolicy | null;
  /** Mutation weights by name (uniform when empty; the default favours growth, see SCALED_MUTATION_WEIGHTS). */
  mutationWeights: Record<string, number>;
  /** Stages space: generations T after the initial one (paper 50). */
  generations: number;
  /** Stages space: train each individual this many epochs instead of stepsPerChild (null: use stepsPerChild). */
  epochs: number | null;
  /** Stages space: the base learning rate of the paper's stepped schedule (paper 0.01). */
  learningRate: number;
  /** Stages space: Genetic CNN's operator settings (paper's CIFAR-10 values). */
  genetic: GeneticSettings;
  /** Stages space: the network around the encoded stages (paper's CIFAR-10 LeNet base). */
  stages: { nodes: number[] } & StagesBase;
}

export interface GeneticSettings {
  pM: number;
  qM: number;
  pC: number;
  qC: number;
  /** Generation 0: Bernoulli(0.5) bits, or all zeros (the paper's section 4.1.2). */
  initialization: 'random' | 'zeros';
}

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
export const SCALED_SCHEDULE: Schedule = { mutationRate: [{ from: 0, to: 180, k: 3 }] };

export const DEFAULTS: Omit<ExperimentConfig, 'data'> = {
  format: 'evonas.experiment',
  version: 1,
  space: 'graph',
  algorithm: 'tournament',
  population: 10,
  workers: 2,
  threadsPerWorker: 1,
  stepsPerChild: 400,
  batchSize: 50,
  momentum: 0.9,
  weightDecay: 1e-4,
  sampleSize: 5,
  inheritance: true,
  precision: 'fp32',
  seed: 0,
  schedule: SCALED_SCHEDULE,
  stagnation: null,
  mutationWeights: SCALED_MUTATION_WEIGHTS,
  generations: 50,
  epochs: null,
  learningRate: 0.01,
  genetic: { pM: 0.8, qM: 0.05, pC: 0.2, qC: 0.2, initialization: 'random' },
  stages: { nodes: [3, 4, 5], ...GENETIC_CNN_BASE },
};

export class ConfigError extends EvonasError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super('ERR_CONFIG', `${field}: ${message}`, pathOf(field));
  }
}

function int(c: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  const v = c[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `expected a whole number from ${min} to ${max} but found ${JSON.stringify(v)}`);
  }
}

/** A nested object's keys must be among `known`'s: a misspelt one is refused with its path, never ignored. */
function refuseUnknown(value: unknown, known: object, path: string): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, `expected an object but found ${JSON.stringify(value)}`);
  const names = Object.keys(known);
  for (const k of Object.keys(value)) if (!names.includes(k)) throw new ConfigError(`${path}.${k}`, `unknown field (known: ${names.join(', ')})`);
}

/** @throws {ConfigError} naming the field and the reason. */
export function validateConfig(raw: unknown): ExperimentConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('(config)', 'expected an object');
  const known = new Set([...Object.keys(DEFAULTS), 'data']);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new ConfigError(k, `unknown field (known: ${[...known].sort().join(', ')})`);
  const c = { ...DEFAULTS, ...(raw as object) } as ExperimentConfig & Record<string, unknown>;
  // Each space's own algorithm by default: the paper's tournament, or Genetic CNN's generations.
  if (typeof c.space !== 'string' || !SPACE_REGISTRY.has(c.space)) throw new ConfigError('space', `expected one of ${[...SPACE_REGISTRY.keys()].map((k) => JSON.stringify(k)).join(', ')} but found ${JSON.stringify(c.space)}`);
  const space = spaceOf(c.space);
  if ((raw as Record<string, unknown>).algorithm === undefined) c.algorithm = space.algorithms[0] as ExperimentConfig['algorithm'];
  if (c.format !== 'evonas.experiment' || c.version !== 1) throw new ConfigError('format', 'not an evonas experiment (version 1)');
  if (typeof c.data !== 'string' || c.data === '') throw new ConfigError('data', 'expected the path of a dataset cache');
  const allowed = space.algorithms;
  if (!allowed.includes(c.algorithm)) throw new ConfigError('algorithm', `the ${c.space} space takes ${allowed.join(', ')} but found ${JSON.stringify(c.algorithm)}`);
  int(c, 'population', 2);
  int(c, 'workers', 1, 1024);
  int(c, 'threadsPerWorker', 1, 1024);
  int(c, 'stepsPerChild', 1);
  int(c, 'batchSize', 1, 65536);
  int(c, 'sampleSize', 1);
  int(c, 'seed', 0, 2 ** 32 - 1);
  for (const f of ['momentum', 'weightDecay'] as const) {
    if (typeof c[f] !== 'number' || !(c[f] >= 0)) throw new ConfigError(f, `expected a number >= 0 but found ${JSON.stringify(c[f])}`);
  }
  if (typeof c.mutationWeights !== 'object' || c.mutationWeights === null) throw new ConfigError('mutationWeights', 'expected an object of mutation names to weights');
  for (const [k, v] of Object.entries(c.mutationWeights)) {
    if (!(MUTATIONS as readonly string[]).includes(k)) throw new ConfigError(`mutationWeights.${k}`, `unknown mutation (known: ${MUTATIONS.join(', ')})`);
    if (typeof v !== 'number' || !(v >= 0)) throw new ConfigError(`mutationWeights.${k}`, `expected a weight >= 0 but found ${JSON.stringify(v)}`);
  }
  int(c, 'generations', 0);
  if (c.epochs !== null && !(typeof c.epochs === 'number' && c.epochs > 0)) throw new ConfigError('epochs', `expected a number > 0 or null but found ${JSON.stringify(c.epochs)}`);
  if (typeof c.learningRate !== 'number' || !(c.learningRate > 0)) throw new ConfigError('learningRate', `expected a number > 0 but found ${JSON.stringify(c.learningRate)}`);
  refuseUnknown(c.genetic, DEFAULTS.genetic, 'genetic');
  refuseUnknown(c.stages, DEFAULTS.stages, 'stages');
  refuseUnknown(c.schedule, { mutationRate: 0, weightResets: 0 }, 'schedule');
  for (const [i, p] of ((c.schedule as Schedule | undefined)?.mutationRate ?? []).entries()) refuseUnknown(p, { from: 0, to: 0, k: 0 }, `schedule.mutationRate[${i}]`);
  c.genetic = { ...DEFAULTS.genetic, ...(c.genetic as object) };
  for (const f of ['pM', 'qM', 'pC', 'qC'] as const) {
    const v = c.genetic[f];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new ConfigError(`genetic.${f}`, `expected a probability in [0, 1] but found ${JSON.stringify(v)}`);
  }
  if (c.genetic.initialization !== 'random' && c.genetic.initialization !== 'zeros') {
    throw new ConfigError('genetic.initialization', `expected "random" or "zeros" but found ${JSON.stringify(c.genetic.initialization)}`);
  }
  c.stages = { ...DEFAULTS.stages, ...(c.stages as object) };
  for (const f of ['nodes', 'widths'] as const) {
    const v = c.stages[f];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 1)) throw new ConfigError(`stages.${f}`, `expected a list of whole numbers >= 1 but found ${JSON.stringify(v)}`);
  }
  if (c.stages.widths.length !== c.stages.nodes.length) {
    throw new ConfigError('stages.widths', `expected one width per stage (${c.stages.nodes.length}) but found ${c.stages.widths.length}`);
  }
  if (!(Number.isInteger(c.stages.kernel) && c.stages.kernel >= 1 && c.stages.kernel % 2 === 1)) throw new ConfigError('stages.kernel', `expected an odd whole number but found ${JSON.stringify(c.stages.kernel)}`);
  if (!(Number.isInteger(c.stages.fc) && c.stages.fc >= 1)) throw new ConfigError('stages.fc', `expected a whole number >= 1 but found ${JSON.stringify(c.stages.fc)}`);
  if (typeof c.stages.dropout !== 'number' || !(c.stages.dropout >= 0 && c.stages.dropout < 1)) throw new ConfigError('stages.dropout', `expected a number in [0, 1) but found ${JSON.stringify(c.stages.dropout)}`);
  if (typeof c.inheritance !== 'boolean') throw new ConfigError('inheritance', 'expected true or false');
  if (c.precision !== 'fp32' && c.precision !== 'bf16') throw new ConfigError('precision', `expected fp32 or bf16 but found ${JSON.stringify(c.precision)}`);
  try {
    validateSchedule(c.schedule);
  } catch (e) {
    throw new ConfigError('schedule', (e as Error).message);
  }
  if (c.stagnation !== null) {
    if (space.generational) throw new ConfigError('stagnation', `applies to steady-state spaces only (the ${c.space} space is generational: it has no population to free)`);
    try {
      validateStagnation(c.stagnation);
    } catch (e) {
      throw new ConfigError('stagnation', (e as Error).message);
    }
  }
  return c;
}

export function readConfig(dir: string): ExperimentConfig {
  const path = join(dir, EXPERIMENT_FILE);
  if (!existsSync(path)) throw new ConfigError(path, 'no experiment here (evonas evolve creates one)');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(path, (e as Error).message);
  }
  return validateConfig(raw);
}

export function writeConfig(dir: string, c: ExperimentConfig): void {
  writeFileAtomic(join(dir, EXPERIMENT_FILE), JSON.stringify(c, null, 2) + '\n');
}
