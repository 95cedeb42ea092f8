/**
 * An experiment's configuration, saved whole in <experiment>/experiment.json.
 * Defaults are the paper's values, scaled where a 2-core machine needs it;
 * each scaled value says so.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { ALGORITHMS } from './algorithms.js';
import type { AlgorithmName } from './algorithms.js';
import { validateSchedule } from './schedule.js';
import type { Schedule } from './schedule.js';

export const EXPERIMENT_FILE = 'experiment.json';

export interface ExperimentConfig {
  format: 'evonas.experiment';
  version: 1;
  /** Dataset cache folder. */
  data: string;
  space: 'graph';
  algorithm: AlgorithmName;
  /** Paper: 1,000. Scaled to 20 for a 2-core machine. */
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
  /** Mutation weights by name (uniform when empty). */
  mutationWeights: Record<string, number>;
}

export const DEFAULTS: Omit<ExperimentConfig, 'data'> = {
  format: 'evonas.experiment',
  version: 1,
  space: 'graph',
  algorithm: 'tournament',
  population: 20,
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
  schedule: {},
  mutationWeights: {},
};

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ConfigError';
  }
}

function int(c: Record<string, unknown>, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  const v = c[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(field, `expected a whole number from ${min} to ${max} but found ${JSON.stringify(v)}`);
  }
}

/** @throws {ConfigError} naming the field and the reason. */
export function validateConfig(raw: unknown): ExperimentConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError('(config)', 'expected an object');
  const known = new Set([...Object.keys(DEFAULTS), 'data']);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new ConfigError(k, `unknown field (known: ${[...known].sort().join(', ')})`);
  const c = { ...DEFAULTS, ...(raw as object) } as ExperimentConfig & Record<string, unknown>;
  if (c.format !== 'evonas.experiment' || c.version !== 1) throw new ConfigError('format', 'not an evonas experiment (version 1)');
  if (typeof c.data !== 'string' || c.data === '') throw new ConfigError('data', 'expected the path of a dataset cache');
  if (c.space !== 'graph') throw new ConfigError('space', `expected "graph" but found ${JSON.stringify(c.space)}`);
  if (!ALGORITHMS.includes(c.algorithm)) throw new ConfigError('algorithm', `expected one of ${ALGORITHMS.join(', ')} but found ${JSON.stringify(c.algorithm)}`);
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
  if (typeof c.inheritance !== 'boolean') throw new ConfigError('inheritance', 'expected true or false');
  if (c.precision !== 'fp32' && c.precision !== 'bf16') throw new ConfigError('precision', `expected fp32 or bf16 but found ${JSON.stringify(c.precision)}`);
  try {
    validateSchedule(c.schedule);
  } catch (e) {
    throw new ConfigError('schedule', (e as Error).message);
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
