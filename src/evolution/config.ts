/**
 * An experiment's configuration, saved whole in <experiment>/experiment.json.
 * Defaults are the paper's values, scaled where a 2-core machine needs it;
 * each scaled value says so.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentDocs } from '../store/docs.js';
import { writeFileAtomic } from '../util/fs.js';
import { z } from 'zod';
import type { AlgorithmName } from './algorithms.js';
import { OBJECTIVES } from './pareto.js';
import { ScheduleSchema } from './schedule.js';
import { StagnationSchema } from './stagnation.js';
import { DEFAULT_SPACE, SPACE_REGISTRY, spaceOf } from '../spaces/index.js';
import { DEVICE_PATTERN } from '../engine/devices.js';
import { EvonasError, pathOf } from '../util/errors.js';
import { atLeast, dotted, oneOf, parseWith, strict, whole } from '../util/schema.js';
import type { Path } from '../util/schema.js';

export const EXPERIMENT_FILE = 'experiment.json';

/**
 * The layout of experiment.json this evonas writes. Version 1 (before
 * December 2026) held every space's knobs at the top level; version 2 holds
 * each space's under its name, and reads version 1 by moving them there
 * (upgradeConfig).
 */
export const EXPERIMENT_VERSION = 2;

/** Version 1's top-level fields that version 2 keeps in a space's block, by the space that reads them (learningRate: stages and nb201). */
const V1_MOVED: Record<string, string[]> = {
  graph: ['minChannels', 'minLearningRate', 'mutationWeights'],
  stages: ['generations', 'epochs', 'learningRate', 'genetic'],
  nb201: ['learningRate'],
};
const V1_ONLY = new Set(Object.values(V1_MOVED).flat());

/**
 * A version 1 experiment.json in version 2's layout: the space's own knobs
 * moved under its name (the v1 "stages" and "nb201" objects were already
 * those spaces' blocks), and other spaces' knobs, which had no effect on this
 * experiment, dropped. A document of another version is returned as it is.
 */
export function upgradeConfig(raw: Record<string, unknown>): Record<string, unknown> {
  if (raw.version !== 1) return raw;
  const space = typeof raw.space === 'string' ? raw.space : DEFAULT_SPACE;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!V1_ONLY.has(k) && !(SPACE_REGISTRY.has(k) && k !== space)) out[k] = v;
  const block: Record<string, unknown> = typeof raw[space] === 'object' && raw[space] !== null ? { ...(raw[space] as object) } : {};
  for (const k of V1_MOVED[space] ?? []) if (raw[k] !== undefined) block[k] = raw[k];
  if (SPACE_REGISTRY.has(space)) out[space] = block;
  out.version = EXPERIMENT_VERSION;
  return out;
}

/** The spaces that breed children of two parents (their recombination forms). */
const recombining = () => [...SPACE_REGISTRY.values()].filter((s) => s.recombination);

const experiment = {
  format: z.literal('evonas.experiment', { error: 'not an evonas experiment' }).default('evonas.experiment'),
  version: z.literal(EXPERIMENT_VERSION, { error: `an experiment of another evonas version (this one reads versions 1 to ${EXPERIMENT_VERSION})` }).default(EXPERIMENT_VERSION),
  data: z
    .string({ error: 'expected the path of a dataset cache' })
    .min(1, { error: 'expected the path of a dataset cache' })
    .optional()
    .describe('Dataset cache folder (evonas data import makes one). Required unless the evaluator is a table.'),
  evaluator: oneOf(['train', 'table'])
    .default('train')
    .describe(
      "How a child is evaluated: train (the engine trains it and measures its validation accuracy) or table (its accuracy is looked up in the space's tabular benchmark, on a simulated clock: nb201 with NAS-Bench-201).",
    ),
  benchmark: strict({
    path: z.string({ error: 'expected the path of the benchmark file' }).min(1, { error: 'expected the path of the benchmark file' }),
    dataset: z.string({ error: 'expected a dataset of the benchmark' }),
  })
    .nullable()
    .default(null)
    .describe("With evaluator table: the benchmark file (NAS-Bench-201's CSV layout) and which of its datasets to read (cifar10, cifar100, imagenet16)."),
  space: z
    .string({ error: 'expected the name of a search space' })
    .default(DEFAULT_SPACE)
    .describe(`The search space: ${[...SPACE_REGISTRY.values()].map((s) => `${s.name} (${s.title})`).join('; ')}.`),
  algorithm: z
    .string({ error: 'expected the name of an algorithm' })
    .optional()
    .describe(`The algorithm, among those its space takes (${[...SPACE_REGISTRY.values()].map((s) => `${s.name}: ${s.algorithms.join(', ')}`).join('; ')}); default: the space's first.`),
  population: whole(2)
    .default(20)
    .describe('Population set-point: the individuals alive plus the children in training (paper: 1,000; 20 here, measured against 10 over seeds in docs/findings/main-job).'),
  workers: whole(1, 1024).default(2).describe('Worker processes. Paper: population / 4; scaled to 2, one per core.'),
  threadsPerWorker: whole(1, 1024).default(1).describe('Intra-op threads per worker.'),
  stepsPerChild: whole(1).default(400).describe('Training steps per child. Paper: 25,600; scaled to 400 (weights are inherited, so training accumulates).'),
  batchSize: whole(1, 65536).default(50).describe('Images per training step. Paper: 50.'),
  momentum: atLeast(0).default(0.9).describe('SGD momentum. Paper: 0.9.'),
  weightDecay: atLeast(0).default(1e-4).describe('Paper: 0.0001.'),
  sampleSize: whole(1).default(5).describe("Aging evolution's sample size."),
  objectives: z
    .array(oneOf(OBJECTIVES), { error: `expected a list of objectives (${OBJECTIVES.join(', ')})` })
    .min(1, { error: 'expected at least accuracy' })
    .refine((o) => o[0] === 'accuracy', { error: 'the first objective is accuracy (validation accuracy, always optimized)' })
    .refine((o) => new Set(o).size === o.length, { error: 'an objective is listed twice' })
    .default(['accuracy'])
    .describe(
      "What selection optimizes: validation accuracy, and any of parameters, flops (forward FLOPs per image) and latency (ms per image at batch 1 on the worker that trained it), kept as a Pareto front (NSGA-II: non-dominated front, then crowding distance; generational spaces breed by NSGA-II's survivor selection). Default: accuracy alone, the papers.",
    ),
  constraints: strict({
    parameters: whole(1).optional().describe('The most parameters a network may have.'),
    flops: whole(1).optional().describe('The most forward FLOPs per image a network may need.'),
    latency: atLeast(0, true).optional().describe('The most milliseconds per image at batch 1 a network may take (measured on each worker, with its threads).'),
  })
    .default({})
    .describe('Limits on the costs: an individual over one never becomes a parent nor the best (of two over, the one over by less wins).'),
  recombination: z
    .string({ error: 'expected none or the name of a recombination' })
    .default('none')
    .describe(
      `Steady-state spaces: breed some children from two parents, the second the winner of a second tournament (Large-Scale Evolution's section "Recombination"; none, the default, is the paper's mutation only). Forms: ${recombining()
        .map((s) => `${s.name}: ${s.recombination!.forms.join(', ')}`)
        .join('; ')}.`,
    ),
  recombinationRate: atLeast(0)
    .max(1, { error: 'expected a number from 0 to 1' })
    .default(0.25)
    .describe(
      "With a recombination: the share of children bred from two parents (the rest by mutation alone; with probabilities every child still evolves its distribution). The paper gives none; 0.25 is evonas's.",
    ),
  inheritance: z
    .boolean({ error: 'expected true or false' })
    .default(true)
    .describe("Children inherit their parent's weights where shapes match; false is the paper's no-inheritance control (every child trains from scratch)."),
  device: z
    .string({ error: 'expected cpu, cuda or cuda:N' })
    .regex(DEVICE_PATTERN, { error: 'expected cpu, cuda or cuda:N' })
    .default('cpu')
    .describe('Where workers train: cpu, cuda (workers spread over the visible GPUs) or cuda:N (all on GPU N).'),
  workersPerGpu: whole(1, 64).default(1).describe('With device cuda: consecutive workers that share one GPU before the next GPU is used.'),
  precision: oneOf(['fp32', 'bf16']).default('fp32').describe('Training precision: fp32, or bf16 where the CPU computes it natively (evonas info says).'),
  seed: whole(0, 2 ** 32 - 1)
    .default(0)
    .describe('Seeds every random choice: with one worker and one thread, two runs make the same individuals.'),
  schedule: ScheduleSchema.optional().describe(
    "Steady-state spaces: raised mutation rates and population-wide weight resets at set times (the paper's section 5). Default: the space's (graph: 3 mutations per child for the first 3 minutes; nb201: none, the field's baseline; stages, generational, follows none).",
  ),
  stagnation: StagnationSchema.nullable().default(null).describe("Notice a trapped population and apply the paper's remedies by itself (null: never). Steady-state spaces only."),
  finish: atLeast(0)
    .max(0.9, { error: 'expected a number from 0 to 0.9' })
    .default(0.25)
    .describe(
      "The last part of each time budget (a fraction) in which each worker stops reproducing and anneals one of the best individuals alive (its own weights, a learning rate brought to 0 along a cosine over the time left), stored as a child that competes by validation accuracy like any other. evonas's, not the paper's; 0: never (the paper). Steady-state spaces only. The default was measured over seeds in docs/findings/main-job.",
    ),
  finishLearningRate: atLeast(0)
    .default(0.05)
    .describe(
      "The least learning rate a finish starts its cosine from: the individual's own when higher (trapped populations drift to rates at which annealing gains little; docs/findings/main-job). 0: always the individual's own.",
    ),
};

/** Every space's block is `unknown` to shared code: the space reads it (settingsOf). */
type SharedFields = z.output<z.ZodObject<typeof experiment>>;

/**
 * experiment.json, declared once: its type, its defaults, its checks and the
 * words of its refusals come from here, and so does its JSON Schema
 * (evonas schema). The space and the algorithm are checked against the
 * registry of search spaces, so adding a space adds its algorithms and its
 * settings here.
 */
function buildSchema() {
  // Each space's settings, under its name (only the experiment's space's may be given; its defaults when absent).
  const spaceBlocks = Object.fromEntries(
    [...SPACE_REGISTRY.values()].map((sp) => [sp.name, sp.settings.optional().describe(`The ${sp.name} space's settings (with space ${sp.name} only; each field's default when absent).`)]),
  );

  return (
    strict({ ...experiment, ...spaceBlocks } as typeof experiment)
      .superRefine((c, ctx) => {
        const space = SPACE_REGISTRY.get(c.space);
        if (!space) {
          ctx.addIssue({ code: 'custom', path: ['space'], message: `expected one of ${[...SPACE_REGISTRY.keys()].join(', ')} but found ${JSON.stringify(c.space)}` });
          return;
        }
        if (c.algorithm !== undefined && !space.algorithms.includes(c.algorithm)) {
          ctx.addIssue({ code: 'custom', path: ['algorithm'], message: `the ${c.space} space takes ${space.algorithms.join(', ')} but found ${JSON.stringify(c.algorithm)}` });
        }
        if (c.evaluator === 'train' && c.data === undefined) ctx.addIssue({ code: 'custom', path: ['data'], message: 'expected the path of a dataset cache (required to train)' });
        if (c.evaluator === 'table') {
          if (!space.table)
            ctx.addIssue({
              code: 'custom',
              path: ['evaluator'],
              message: `the ${c.space} space has no tabular benchmark (spaces with one: ${[...SPACE_REGISTRY.values()]
                .filter((s) => s.table)
                .map((s) => s.name)
                .join(', ')})`,
            });
          else if (c.benchmark === null) ctx.addIssue({ code: 'custom', path: ['benchmark'], message: 'required with evaluator table: {"path": "<file.csv>", "dataset": "cifar10"}' });
          else if (!space.table.datasets.includes(c.benchmark.dataset))
            ctx.addIssue({ code: 'custom', path: ['benchmark', 'dataset'], message: `expected one of ${space.table.datasets.join(', ')} but found ${JSON.stringify(c.benchmark.dataset)}` });
          if (c.stagnation !== null) ctx.addIssue({ code: 'custom', path: ['stagnation'], message: 'not with evaluator table (looked-up individuals have no weights to reset)' });
          if (c.schedule?.weightResets?.length)
            ctx.addIssue({ code: 'custom', path: ['schedule', 'weightResets'], message: 'not with evaluator table (looked-up individuals have no weights to reset)' });
        }
        for (const other of SPACE_REGISTRY.keys()) {
          if (other !== c.space && (c as Record<string, unknown>)[other] !== undefined)
            ctx.addIssue({ code: 'custom', path: [other], message: `settings of the ${other} space, but this experiment searches the ${c.space} space` });
        }
        if (c.evaluator === 'table' && (c.objectives.includes('latency') || c.constraints.latency !== undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: [c.objectives.includes('latency') ? 'objectives' : 'constraints'],
            message: 'latency: not with evaluator table (nothing runs; FLOPs or parameters stand in)',
          });
        }
        if (c.recombination !== 'none') {
          const forms = space.breeding ? undefined : space.recombination?.forms;
          if (!forms)
            ctx.addIssue({
              code: 'custom',
              path: ['recombination'],
              message: `the ${c.space} space does not recombine (spaces that do: ${recombining()
                .map((s) => s.name)
                .join(', ')})`,
            });
          else if (!forms.includes(c.recombination))
            ctx.addIssue({ code: 'custom', path: ['recombination'], message: `expected none or one of ${forms.join(', ')} but found ${JSON.stringify(c.recombination)}` });
        }
        if (c.stagnation !== null && space.breeding) {
          ctx.addIssue({ code: 'custom', path: ['stagnation'], message: `applies to steady-state spaces only (the ${c.space} space is generational: it has no population to free)` });
        }
        if (space.breeding && (c.schedule?.mutationRate?.length || c.schedule?.weightResets?.length)) {
          ctx.addIssue({
            code: 'custom',
            path: ['schedule'],
            message: `applies to steady-state spaces only (the ${c.space} space is generational: its mutation is per bit, its children train from scratch)`,
          });
        }
      })
      // Each space's own algorithm by default (the paper's tournament, Genetic CNN's generations), kept in the file's key order.
      .transform(({ format, version, data, space, algorithm, schedule, ...rest }) => {
        const sp = spaceOf(space);
        const fields = Object.fromEntries(Object.entries(rest).filter(([k]) => !SPACE_REGISTRY.has(k))) as Omit<SharedFields, 'format' | 'version' | 'data' | 'space' | 'algorithm' | 'schedule'>;
        const out = {
          format,
          version,
          data,
          space,
          algorithm: (algorithm ?? sp.algorithms[0]!) as AlgorithmName | 'generational',
          ...fields,
          // The space's own default (graph: a warm-up of raised mutation rates; others none).
          schedule: schedule ?? sp.defaultSchedule ?? {},
        };
        // Only this space's settings, under its name, each field its default where absent: read through settingsOf.
        Object.assign(out, { [space]: (rest as Record<string, unknown>)[space] ?? sp.settings.parse({}) });
        return out;
      })
  );
}

type Schema = ReturnType<typeof buildSchema>;
let built: { spaces: string; schema: Schema } | undefined;

/**
 * experiment.json's schema for the spaces registered now (a library may
 * register its own: its block is then a field too), made again when the
 * registry changes.
 */
export function experimentSchema(): Schema {
  const spaces = [...SPACE_REGISTRY.keys()].join(',');
  if (built?.spaces !== spaces) built = { spaces, schema: buildSchema() };
  return built.schema;
}

export type ExperimentConfig = z.output<Schema>;

export const DEFAULTS: Omit<ExperimentConfig, 'data'> = (({ data: _, ...rest }) => rest)(experimentSchema().parse({ data: '-' }));

/**
 * The dataset cache an experiment trains on.
 * @throws {ConfigError} when it has none: its evaluator is a table.
 */
export function dataOf(config: Pick<ExperimentConfig, 'data' | 'evaluator'>): string {
  if (config.data === undefined) throw new ConfigError('data', `none: this experiment's evaluator is ${config.evaluator} (its accuracies are looked up, nothing is trained)`);
  return config.data;
}

export class ConfigError extends EvonasError {
  /** The field at fault, dotted: 'genetic.pM'. */
  readonly field: string;
  constructor(field: string | Path, message: string) {
    const name = typeof field === 'string' ? field : dotted(field);
    super('ERR_CONFIG', message.startsWith(`${name}: `) ? message : `${name}: ${message}`, typeof field === 'string' ? pathOf(field) : field);
    this.field = name;
  }
}

/** @throws {ConfigError} naming the field (its path) and the reason, one line per fault. */
export function validateConfig(raw: unknown): ExperimentConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('(config)', 'expected an object');
  const doc = upgradeConfig(raw as Record<string, unknown>);
  if (doc.version === undefined) {
    // A file in the old layout that names no version: say where the field went rather than that it is unknown.
    const space = typeof doc.space === 'string' && SPACE_REGISTRY.has(doc.space) ? doc.space : DEFAULT_SPACE;
    const owner = (k: string) => (V1_MOVED[space]!.includes(k) ? space : Object.keys(V1_MOVED).find((s) => V1_MOVED[s]!.includes(k))!);
    const moved = Object.keys(doc).filter((k) => V1_ONLY.has(k));
    if (moved.length)
      throw new ConfigError(
        moved[0]!,
        `${moved.map((k) => (owner(k) === space ? `${k}: now ${space}.${k}` : `${k}: a setting of the ${owner(k)} space (this experiment searches ${space})`)).join('; ')}. experiment.json version 2 keeps each space's settings under its name; "version": 1 reads the old layout.`,
      );
  }
  return parseWith(experimentSchema(), doc, (path, message) => new ConfigError(path, message));
}

export function readConfig(dir: string): ExperimentConfig {
  const path = join(dir, EXPERIMENT_FILE);
  if (!existsSync(path)) throw new ConfigError([path], 'no experiment here (evonas evolve creates one)');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError([path], (e as Error).message);
  }
  try {
    return validateConfig(raw);
  } catch (e) {
    // Name the file too: "<dir>/experiment.json: genetic.pm: unknown field ...".
    if (e instanceof ConfigError) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

/** The settings of the experiment at `home` (a folder's experiment.json, or the same document in a database). */
export async function loadConfig(home: { name: string; dir?: string; docs: ExperimentDocs }): Promise<ExperimentConfig> {
  if (home.dir) return readConfig(home.dir);
  const raw = await home.docs.read(EXPERIMENT_FILE);
  if (raw === undefined) throw new ConfigError([home.name], 'no experiment here (evonas evolve --store creates one)');
  try {
    return validateConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) e.message = `${home.name}: ${e.message}`;
    throw e;
  }
}

/** Records a new experiment's settings at `home`. @throws {ConfigError} when it holds one already. */
export async function saveConfig(home: { name: string; dir?: string; docs: ExperimentDocs }, c: ExperimentConfig): Promise<void> {
  if (home.dir) {
    if (existsSync(join(home.dir, EXPERIMENT_FILE))) throw new ConfigError([home.dir], 'already holds an experiment; resume it with --resume');
    mkdirSync(home.dir, { recursive: true });
    return writeConfig(home.dir, c);
  }
  if (!(await home.docs.create(EXPERIMENT_FILE, c))) throw new ConfigError([home.name], 'already holds an experiment; resume it with --resume');
}

export function writeConfig(dir: string, c: ExperimentConfig): void {
  writeFileAtomic(join(dir, EXPERIMENT_FILE), `${JSON.stringify(c, null, 2)}\n`);
}
