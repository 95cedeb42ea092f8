/**
 * evolve's flags and how they become an experiment's configuration: shared by
 * the evolve and sweep commands (a helper like args.ts, not a command).
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { readManifest } from '../data/manifest.js';
import { dataOf, validateConfig } from '../evolution/config.js';
import { tableOf } from '../spaces/index.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { assertDevice } from '../engine/devices.js';
import { parseDuration } from '../util/duration.js';
import { FILE_SCHEMAS } from '../util/json-schemas.js';
import { CliError, intOption, numberOption, str } from './args.js';
import type { ParseOptions, Parsed } from './args.js';

/** evolve's flags (the sweep validates the evolve options it passes on with them). */
export const EVOLVE_OPTIONS = {
  data: { type: 'string' },
  out: { type: 'string' },
  store: { type: 'string' },
  prepare: { type: 'boolean' },
  resume: { type: 'string' },
  config: { type: 'string' },
  algorithm: { type: 'string' },
  space: { type: 'string' },
  generations: { type: 'string' },
  epochs: { type: 'string' },
  'cells-per-stage': { type: 'string' },
  channels: { type: 'string' },
  population: { type: 'string' },
  workers: { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  threads: { type: 'string' },
  precision: { type: 'string' },
  device: { type: 'string' },
  'workers-per-gpu': { type: 'string' },
  'no-inheritance': { type: 'boolean' },
  'time-budget': { type: 'string' },
  'max-children': { type: 'string' },
  stagnation: { type: 'string' },
  'stagnation-remedy': { type: 'string' },
  finish: { type: 'string' },
  'finish-lr': { type: 'string' },
  'min-lr': { type: 'string' },
  'min-channels': { type: 'string' },
  'print-config': { type: 'boolean' },
  seed: { type: 'string' },
  evaluator: { type: 'string' },
  benchmark: { type: 'string' },
  dataset: { type: 'string' },
} satisfies ParseOptions;

/** The flags that set one field of experiment.json: their help comes from the field's declaration. */
const FIELD_FLAGS: { flag: string; arg: string; field: keyof ExperimentConfig }[] = [
  { flag: 'space', arg: 'S', field: 'space' },
  { flag: 'algorithm', arg: 'A', field: 'algorithm' },
  { flag: 'population', arg: 'N', field: 'population' },
  { flag: 'workers', arg: 'W', field: 'workers' },
  { flag: 'steps', arg: 'S', field: 'stepsPerChild' },
  { flag: 'batch', arg: 'N', field: 'batchSize' },
  { flag: 'threads', arg: 'N', field: 'threadsPerWorker' },
  { flag: 'precision', arg: 'P', field: 'precision' },
  { flag: 'device', arg: 'D', field: 'device' },
  { flag: 'workers-per-gpu', arg: 'K', field: 'workersPerGpu' },
  { flag: 'no-inheritance', arg: '', field: 'inheritance' },
  { flag: 'generations', arg: 'T', field: 'generations' },
  { flag: 'epochs', arg: 'E', field: 'epochs' },
  { flag: 'seed', arg: 'K', field: 'seed' },
  { flag: 'evaluator', arg: 'E', field: 'evaluator' },
];

/** Word-wraps `text` to `width` columns, every line after the first indented by `indent`. */
function wrap(text: string, indent: number, first: number, width = 79): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const room = (lines.length ? width - indent : width - first) - line.length;
    if (line && word.length + 1 > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** The help of the flags that set experiment.json's fields, made from the schema (its descriptions and defaults). */
export function fieldFlagsHelp(): string {
  const props = (FILE_SCHEMAS.experiment!().properties ?? {}) as Record<string, { description?: string; default?: unknown }>;
  return FIELD_FLAGS.map(({ flag, arg, field }) => {
    const head = `  --${flag}${arg ? ` ${arg}` : ''}`.padEnd(23);
    const p = props[field] ?? {};
    const text = `${p.description ?? ''}${p.default !== undefined && p.default !== null && flag !== 'no-inheritance' ? ` Default ${JSON.stringify(p.default)}.` : ''} (${field})`;
    return head + wrap(text, 23, 23);
  }).join('\n');
}

/**
 * The experiment that the flags describe, validated (its dataset included)
 * but not written.
 * @throws {CliError} naming the flag, field or file at fault.
 */
export function configFromFlags(p: Parsed): ExperimentConfig {
  const data = str(p, 'data');
  const file = str(p, 'config');
  let base: Record<string, unknown> = {};
  if (file) {
    try {
      base = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`${file}: ${(e as Error).message}`, 1);
    }
  }
  const flags: Record<string, unknown> = { format: 'evonas.experiment', version: 1, ...(data ? { data: resolve(data) } : {}) };
  if (str(p, 'evaluator')) flags.evaluator = str(p, 'evaluator');
  if (str(p, 'benchmark') !== undefined || str(p, 'dataset') !== undefined) {
    const b = { ...(base.benchmark as object | undefined) } as Record<string, unknown>;
    if (str(p, 'benchmark') !== undefined) b.path = resolve(str(p, 'benchmark')!);
    if (str(p, 'dataset') !== undefined) b.dataset = str(p, 'dataset');
    flags.benchmark = b;
  }
  if ((flags.evaluator ?? base.evaluator ?? 'train') === 'train' && !data && base.data === undefined)
    throw new CliError('--data <cache> is required (or --resume <experiment>, or --evaluator table); see evonas evolve --help');
  const intFlag = (flag: string, field: string, min: number) => {
    if (str(p, flag) !== undefined) flags[field] = intOption(str(p, flag), `--${flag}`, 0, min);
  };
  intFlag('population', 'population', 2);
  intFlag('workers', 'workers', 1);
  intFlag('steps', 'stepsPerChild', 1);
  intFlag('batch', 'batchSize', 1);
  intFlag('threads', 'threadsPerWorker', 1);
  intFlag('seed', 'seed', 0);
  if (str(p, 'space')) flags.space = str(p, 'space');
  if (str(p, 'algorithm')) flags.algorithm = str(p, 'algorithm');
  intFlag('generations', 'generations', 0);
  if (str(p, 'epochs') !== undefined) {
    const e = Number(str(p, 'epochs'));
    if (!(e > 0)) throw new CliError(`Expected a number > 0 for --epochs but received "${str(p, 'epochs')}"`);
    flags.epochs = e;
  }
  if (str(p, 'precision')) flags.precision = str(p, 'precision');
  const nb201 = { ...(base.nb201 as object | undefined) } as Record<string, unknown>;
  if (str(p, 'cells-per-stage') !== undefined) nb201.cellsPerStage = intOption(str(p, 'cells-per-stage'), '--cells-per-stage', 0, 1);
  if (str(p, 'channels') !== undefined) nb201.channels = intOption(str(p, 'channels'), '--channels', 0, 1);
  if (Object.keys(nb201).length) flags.nb201 = nb201;
  if (str(p, 'device')) flags.device = str(p, 'device');
  intFlag('workers-per-gpu', 'workersPerGpu', 1);
  if (p.values['no-inheritance']) flags.inheritance = false;
  if (str(p, 'stagnation') !== undefined) {
    flags.stagnation = { window: parseDuration(str(p, 'stagnation'), 0, '--stagnation') / 1000, remedy: str(p, 'stagnation-remedy') ?? 'both' };
  } else if (str(p, 'stagnation-remedy') !== undefined) {
    throw new CliError('--stagnation-remedy needs --stagnation <window>, e.g. --stagnation 4m');
  }
  if (str(p, 'finish') !== undefined) flags.finish = numberOption(str(p, 'finish'), '--finish', 0, 0, 0.9);
  if (str(p, 'finish-lr') !== undefined) flags.finishLearningRate = numberOption(str(p, 'finish-lr'), '--finish-lr', 0, 0);
  if (str(p, 'min-lr') !== undefined) flags.minLearningRate = numberOption(str(p, 'min-lr'), '--min-lr', 0, 0);
  intFlag('min-channels', 'minChannels', 1);
  let config: ExperimentConfig;
  try {
    config = validateConfig({ ...base, ...flags });
  } catch (e) {
    throw new CliError(`bad configuration: ${(e as Error).message}`, 1);
  }
  // Clear errors now rather than in every worker: a dataset or benchmark that does not read, no CUDA in this build, no such GPU.
  if (config.evaluator === 'table') tableOf(config);
  else {
    readManifest(dataOf(config));
    assertDevice(config.device);
  }
  return config;
}

/** A table-driven run with only an evaluation budget: no limit on the simulated clock (ten years). */
export const TABLE_NO_TIME_LIMIT = 10 * 365 * 24 * 3_600_000;

/** A table-driven run's clock is simulated: its budget is what the user gives (evaluations, simulated time, or both), checked before anything is written. */
export function checkTableBudget(p: Parsed, config: ExperimentConfig): void {
  if (config.evaluator === 'table' && str(p, 'time-budget') === undefined && str(p, 'max-children') === undefined)
    throw new CliError('a table-driven run needs a budget: --max-children N (evaluations) and/or --time-budget T (simulated time, e.g. 200h)');
}
