/**
 * evolve's flags and how they become an experiment's configuration: shared by
 * the evolve and sweep commands (a helper like args.ts, not a command).
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { readManifest } from '../data/manifest.js';
import { dataOf, upgradeConfig, validateConfig } from '../evolution/config.js';
import { DEFAULT_SPACE, SPACE_REGISTRY, tableOf } from '../spaces/index.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { assertDevice } from '../engine/devices.js';
import { parseDuration } from '../util/duration.js';
import { FILE_SCHEMAS } from '../util/json-schemas.js';
import { CliError, intOption, numberOption, str } from './args.js';
import type { ParseOptions, Parsed } from './args.js';

/**
 * The flags that set one field of experiment.json (a path into it), how
 * each is read, and its help (from the field's declaration in the schema,
 * unless `help` says more): the one list the command's options, the
 * configuration and the help text are made from.
 */
interface FieldFlag {
  flag: string;
  arg: string;
  path: string[];
  /** int/number: within [min, max]; positive: a number > 0; string: as given; list: comma-separated; path: resolved; off: a switch that sets false. */
  read: 'int' | 'number' | 'positive' | 'string' | 'list' | 'path' | 'off';
  min?: number;
  max?: number;
  /** Help where the schema's description would not do (a nested field, a flag that reads differently). */
  help?: string;
}

const FIELD_FLAGS: FieldFlag[] = [
  { flag: 'space', arg: 'S', path: ['space'], read: 'string' },
  { flag: 'algorithm', arg: 'A', path: ['algorithm'], read: 'string' },
  { flag: 'population', arg: 'N', path: ['population'], read: 'int', min: 2 },
  { flag: 'workers', arg: 'W', path: ['workers'], read: 'int', min: 1 },
  { flag: 'steps', arg: 'S', path: ['stepsPerChild'], read: 'int', min: 1 },
  { flag: 'batch', arg: 'N', path: ['batchSize'], read: 'int', min: 1 },
  { flag: 'threads', arg: 'N', path: ['threadsPerWorker'], read: 'int', min: 1 },
  { flag: 'precision', arg: 'P', path: ['precision'], read: 'string' },
  { flag: 'device', arg: 'D', path: ['device'], read: 'string' },
  { flag: 'workers-per-gpu', arg: 'K', path: ['workersPerGpu'], read: 'int', min: 1 },
  { flag: 'no-inheritance', arg: '', path: ['inheritance'], read: 'off', help: "The paper's no-inheritance control: every child trains from scratch." },
  { flag: 'generations', arg: 'T', path: ['stages', 'generations'], read: 'int', min: 0, help: 'stages space: generations T after the initial one (paper: 50).' },
  { flag: 'epochs', arg: 'E', path: ['stages', 'epochs'], read: 'positive', help: 'stages space: train each individual this many epochs instead of --steps.' },
  { flag: 'seed', arg: 'K', path: ['seed'], read: 'int', min: 0 },
  { flag: 'evaluator', arg: 'E', path: ['evaluator'], read: 'string' },
  {
    flag: 'benchmark',
    arg: 'FILE',
    path: ['benchmark', 'path'],
    read: 'path',
    help: "Evaluator table: the tabular benchmark (NAS-Bench-201's CSV layout: index, cell, <dataset>_valid_12ep, <dataset>_test_200ep, ...).",
  },
  { flag: 'dataset', arg: 'D', path: ['benchmark', 'dataset'], read: 'string', help: 'Evaluator table: which of its datasets, cifar10, cifar100 or imagenet16.' },
  {
    flag: 'cells-per-stage',
    arg: 'N',
    path: ['nb201', 'cellsPerStage'],
    read: 'int',
    min: 1,
    help: "nb201 space: cells per stage of the benchmark's skeleton (the benchmark's 5; fewer for 2 cores).",
  },
  { flag: 'channels', arg: 'C', path: ['nb201', 'channels'], read: 'int', min: 1, help: "nb201 space: the first stage's channels, the others 2x and 4x (the benchmark's 16)." },
  {
    flag: 'objectives',
    arg: 'LIST',
    path: ['objectives'],
    read: 'list',
    help: 'What selection optimizes, e.g. accuracy,parameters: accuracy and any of parameters, flops and latency, kept as a Pareto front (NSGA-II).',
  },
  { flag: 'max-parameters', arg: 'N', path: ['constraints', 'parameters'], read: 'int', min: 1, help: 'The most parameters a network may have to become a parent or the best.' },
  { flag: 'max-flops', arg: 'N', path: ['constraints', 'flops'], read: 'int', min: 1, help: 'The most forward FLOPs per image a network may need to become a parent or the best.' },
  {
    flag: 'max-latency',
    arg: 'MS',
    path: ['constraints', 'latency'],
    read: 'positive',
    help: 'The most milliseconds per image at batch 1 (on the worker, with its threads) a network may take to become a parent or the best.',
  },
  {
    flag: 'recombination',
    arg: 'FORM',
    path: ['recombination'],
    read: 'string',
    help: 'Breed some children from two parents (graph space: probabilities, weights or fusion; none, the default, is mutation only).',
  },
  { flag: 'recombination-rate', arg: 'P', path: ['recombinationRate'], read: 'number', min: 0, max: 1, help: 'With --recombination: the share of children bred from two parents.' },
  { flag: 'finish', arg: 'F', path: ['finish'], read: 'number', min: 0, max: 0.9 },
  { flag: 'finish-lr', arg: 'R', path: ['finishLearningRate'], read: 'number', min: 0 },
  { flag: 'min-lr', arg: 'R', path: ['graph', 'minLearningRate'], read: 'number', min: 0, help: 'graph space: the least learning rate ALTER-LEARNING-RATE sets (0: no floor, the paper).' },
  { flag: 'min-channels', arg: 'N', path: ['graph', 'minChannels'], read: 'int', min: 1, help: 'graph space: the fewest output channels a convolution has (1: none, the paper).' },
];

/** evolve's flags (the sweep validates the evolve options it passes on with them). */
export const EVOLVE_OPTIONS: ParseOptions = {
  data: { type: 'string' },
  out: { type: 'string' },
  store: { type: 'string' },
  prepare: { type: 'boolean' },
  resume: { type: 'string' },
  config: { type: 'string' },
  'time-budget': { type: 'string' },
  'max-children': { type: 'string' },
  stagnation: { type: 'string' },
  'stagnation-remedy': { type: 'string' },
  'print-config': { type: 'boolean' },
  ...Object.fromEntries(FIELD_FLAGS.map((f) => [f.flag, { type: f.read === 'off' ? 'boolean' : 'string' }])),
};

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
  type Prop = { description?: string; default?: unknown; properties?: Record<string, Prop> };
  const root = { properties: FILE_SCHEMAS.experiment!().properties } as Prop;
  return FIELD_FLAGS.map(({ flag, arg, path, help }) => {
    // A flag too long for the column gets its own line, the help below it.
    const flagText = `  --${flag}${arg ? ` ${arg}` : ''}`;
    const head = flagText.length < 23 ? flagText.padEnd(23) : `${flagText}\n${' '.repeat(23)}`;
    const p = path.reduce<Prop>((o, k) => o.properties?.[k] ?? {}, root);
    const shown = p.default !== undefined && p.default !== null && flag !== 'no-inheritance' ? ` Default ${JSON.stringify(p.default)}.` : '';
    return head + wrap(`${help ?? p.description ?? ''}${shown} (${path.join('.')})`, 23, 23);
  }).join('\n');
}

/** Reads one field flag's value as its table entry says. @throws {CliError} naming the flag. */
function readFlag(f: FieldFlag, p: Parsed): unknown {
  if (f.read === 'off') return p.values[f.flag] ? false : undefined;
  const v = str(p, f.flag);
  if (v === undefined) return undefined;
  switch (f.read) {
    case 'int':
      return intOption(v, `--${f.flag}`, 0, f.min, f.max);
    case 'number':
      return numberOption(v, `--${f.flag}`, 0, f.min, f.max);
    case 'positive':
      if (!(Number(v) > 0)) throw new CliError(`Expected a number > 0 for --${f.flag} but received "${v}"`);
      return Number(v);
    case 'list':
      return v.split(',').map((x) => x.trim());
    case 'path':
      return resolve(v);
    default:
      return v;
  }
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
  base = upgradeConfig(base); // a version 1 file in today's layout, so that the flags below override it field by field
  // No version here: a file that names none is told where a moved field went (validateConfig).
  const flags: Record<string, unknown> = { format: 'evonas.experiment', ...(data ? { data: resolve(data) } : {}) };
  const space = str(p, 'space') ?? (typeof base.space === 'string' ? base.space : DEFAULT_SPACE);
  for (const f of FIELD_FLAGS) {
    const v = readFlag(f, p);
    if (v === undefined) continue;
    const [field, key] = f.path as [string, string | undefined];
    if (SPACE_REGISTRY.has(field) && field !== space) throw new CliError(`--${f.flag} is a setting of the ${field} space; this experiment searches the ${space} space`);
    // A nested flag sets its key over the file's object (--dataset keeps the file's benchmark.path).
    if (key === undefined) flags[field] = v;
    else flags[field] = { ...(base[field] as object | undefined), ...(flags[field] as object | undefined), [key]: v };
  }
  if ((flags.evaluator ?? base.evaluator ?? 'train') === 'train' && !data && base.data === undefined)
    throw new CliError('--data <cache> is required (or --resume <experiment>, or --evaluator table); see evonas evolve --help');
  if (str(p, 'stagnation') !== undefined) {
    flags.stagnation = { window: parseDuration(str(p, 'stagnation'), 0, '--stagnation') / 1000, remedy: str(p, 'stagnation-remedy') ?? 'both' };
  } else if (str(p, 'stagnation-remedy') !== undefined) {
    throw new CliError('--stagnation-remedy needs --stagnation <window>, e.g. --stagnation 4m');
  }
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
