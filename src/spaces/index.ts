/**
 * The search spaces by name: what an experiment's `space` and a stored
 * individual's `space` field select. Shared code (report, dashboard,
 * selection, status, config) asks this registry what a space does and never
 * names one itself.
 */
import type { NetIR } from '../net/ir.js';
import type { IOSpec } from '../net/presets.js';
import { compileDNA, inheritance, initialDNA, mutate, renderDNA, validateDNA } from './graph/index.js';
import type { MutationWeights } from './graph/index.js';
import type { Rng } from '../util/rng.js';
import { EvonasError } from '../util/errors.js';
import { compileStages, formatBits, GENETIC_CNN_BASE, hashStagesDNA, renderStages, validateStagesDNA } from './stages/index.js';
import type { StagesBase } from './stages/index.js';
import {
  BENCHMARK_DATASETS,
  BENCHMARK_TRAINING,
  BenchmarkError,
  compileNb201,
  EDGES,
  formatCell,
  mutateCell,
  NB201_BENCHMARK,
  parseCell,
  randomCell,
  readBenchmark,
  renderNb201,
  validateNb201,
} from './nb201/index.js';
import type { BenchmarkDataset } from './nb201/index.js';
import type { Nb201Settings } from './nb201/index.js';

/** Settings a space may read from the experiment (the stages space's base network, the nb201 skeleton's size). */
export interface SpaceSettings {
  stages?: StagesBase;
  nb201?: Nb201Settings;
}

export interface SearchSpace {
  name: string;
  /** What it is, for help and the schema: "Large-Scale Evolution's graph DNA". */
  title: string;
  /** The algorithms this space runs (names from src/evolution), its default first. */
  algorithms: readonly string[];
  /** Generational: workers plan generations (generation files and statistics); otherwise a steady-state population seeded by evolve. */
  generational: boolean;
  /** @throws naming the field when `dna` is not this space's. */
  validate(dna: unknown): unknown;
  compile(dna: unknown, io: IOSpec, settings?: SpaceSettings): NetIR;
  /** Individuals with one key are one network: selection averages their evaluations (Genetic CNN's rule); by default each individual is its own. */
  selectionKey(individual: { id: string; dna: unknown }): string;
  /** A diagram (SVG). */
  render(dna: unknown, io: IOSpec, title: string): string;
  /** What the report shows of the best beside its accuracies (e.g. the stages' bits). */
  describe(dna: unknown): Record<string, string>;
  /** The population evolve seeds (steady-state spaces), drawn with `rng` where the space draws it; a generational space's workers make generation 0. */
  initialPopulation(size: number, rng: Rng): unknown[];
  /**
   * Steady-state spaces: a child of `dna` by `k` mutations (drawn with
   * `weights` by name where given), the records the lineage shows, and how
   * much of the parent's weights it may inherit.
   */
  mutate?(
    dna: unknown,
    rng: Rng,
    o: { k: number; weights?: Record<string, number>; minLearningRate?: number; minChannels?: number },
  ): { dna: unknown; records: unknown[]; inherit: 'all' | 'matching' | 'none' };
  /**
   * A fresh individual drawn uniformly, where the space defines one: random
   * search then evaluates independent draws (the field's baseline on a
   * tabular space, as Genetic CNN's random strings) instead of the 2017
   * paper's control, a random walk of mutations.
   */
  randomIndividual?(rng: Rng): unknown;
  /** Defaults of the experiment's fields that differ for this space (else the shared ones). */
  defaults?: { schedule?: { mutationRate?: { from: number; to: number; k: number }[]; weightResets?: number[] } };
  /** Whether evonas retrain can train its structures wider from scratch (settings.stages.widths). */
  retrainable?: boolean;
  /** The learning rate a DNA carries, where the space evolves it (else the experiment's). */
  learningRate?(dna: unknown): number;
  /** A tabular benchmark of this space (evaluator table): the datasets it records and how to read a file of its layout. */
  table?: { datasets: readonly string[]; read(path: string, dataset: string): LookupTable };
}

/**
 * A tabular benchmark read for one dataset: every structure's recorded
 * accuracies, looked up instead of trained. A search reads `validation`;
 * only the report reads `test`.
 */
export interface LookupTable {
  path: string;
  dataset: string;
  /** The network's input and classes on this dataset. */
  io: IOSpec;
  /** The training the table recorded per structure, which the simulated clock charges for (see worker/simulate.ts). */
  training: { epochs: number; batchSize: number; trainImages: number; validationImages: number };
  /** The validation accuracy (0-1) recorded for `dna`'s structure: the search's signal. @throws naming the structure when the table lacks it. */
  validation(dna: unknown): number;
  /** The test accuracy (0-1) recorded for it: read by the report only. */
  test(dna: unknown): number;
  /** The best test accuracy in the whole table, for scale. */
  bestTest: number;
}

const graph: SearchSpace = {
  name: 'graph',
  title: "Large-Scale Evolution's graph DNA",
  algorithms: ['tournament', 'aging', 'random'],
  generational: false,
  validate: validateDNA,
  compile: (dna, io) => compileDNA(validateDNA(dna), io),
  selectionKey: (i) => i.id,
  render: (dna, io, title) => renderDNA(validateDNA(dna), io, title),
  describe: () => ({}),
  initialPopulation: (size) => Array.from({ length: size }, () => initialDNA()),
  mutate(dna, rng, o) {
    const child = mutate(validateDNA(dna), rng, { k: o.k, weights: o.weights as MutationWeights | undefined, minLearningRate: o.minLearningRate, minChannels: o.minChannels });
    return { ...child, inherit: inheritance(child.records) };
  },
  learningRate: (dna) => validateDNA(dna).learningRate,
};

const stages: SearchSpace = {
  name: 'stages',
  title: "Genetic CNN's binary stage encoding",
  algorithms: ['generational', 'random'],
  generational: true,
  validate: validateStagesDNA,
  compile: (dna, io, settings) => compileStages(validateStagesDNA(dna), io, settings?.stages ?? GENETIC_CNN_BASE),
  selectionKey: (i) => hashStagesDNA(validateStagesDNA(i.dna)),
  render: (dna, _io, title) => renderStages(validateStagesDNA(dna), title),
  describe: (dna) => ({ bits: formatBits(validateStagesDNA(dna)) }),
  initialPopulation: () => [],
  retrainable: true,
  // Generational: its mutation is per bit and every child trains from scratch, so no schedule applies.
  defaults: { schedule: {} },
};

const nb201: SearchSpace = {
  name: 'nb201',
  title: "NAS-Bench-201's cell (Dong & Yang 2020)",
  algorithms: ['aging', 'tournament', 'random'],
  generational: false,
  validate: validateNb201,
  compile: (dna, io, settings) => compileNb201(parseCell(validateNb201(dna).cell), io, settings?.nb201 ?? NB201_BENCHMARK),
  selectionKey: (i) => i.id,
  render: (dna, _io, title) => renderNb201(parseCell(validateNb201(dna).cell), title),
  describe: (dna) => ({ cell: validateNb201(dna).cell }),
  // The field's regularized-evolution baselines start from cells drawn uniformly.
  initialPopulation: (size, rng) => Array.from({ length: size }, () => ({ cell: formatCell(randomCell(rng)) })),
  randomIndividual: (rng) => ({ cell: formatCell(randomCell(rng)) }),
  // One edge per child throughout, as the field's regularized-evolution baseline: no warm-up of raised mutation rates.
  defaults: { schedule: {} },
  mutate(dna, rng, o) {
    let ops = parseCell(validateNb201(dna).cell);
    const records: unknown[] = [];
    for (let k = 0; k < o.k; k++) {
      const m = mutateCell(ops, rng);
      ops = m.ops;
      records.push({ type: 'alter-edge', detail: { edge: `${EDGES[m.edge]![0]}->${EDGES[m.edge]![1]}`, from: m.from, to: m.to } });
    }
    // Weights are named by edge, so an unchanged edge keeps its parent's and a changed one starts afresh.
    return { dna: { cell: formatCell(ops) }, records, inherit: 'matching' };
  },
  table: {
    datasets: BENCHMARK_DATASETS,
    read(path, dataset) {
      const b = readBenchmark(path, dataset as BenchmarkDataset);
      const { io, ...training } = BENCHMARK_TRAINING[b.dataset];
      const entry = (dna: unknown) => {
        const cell = validateNb201(dna).cell;
        const e = b.byCell.get(cell);
        if (!e) throw new BenchmarkError(`${path}: no row for cell ${cell}`, [path, cell]);
        return e;
      };
      return {
        path,
        dataset,
        io,
        training,
        bestTest: b.bestTest,
        validation: (dna) => entry(dna).validation,
        test: (dna) => entry(dna).test,
      };
    },
  },
};

/** Every space; adding one is a folder under src/spaces/ and one entry here. */
export const SPACE_REGISTRY = new Map<string, SearchSpace>([
  [graph.name, graph],
  [stages.name, stages],
  [nb201.name, nb201],
]);

/** The space an experiment searches when it names none: the paper's. */
export const DEFAULT_SPACE = graph.name;

/** @throws {RangeError} naming the known spaces when `name` is none of them. */
export function spaceOf(name: string): SearchSpace {
  const s = SPACE_REGISTRY.get(name);
  if (!s) throw new RangeError(`Expected a search space (${[...SPACE_REGISTRY.keys()].join(', ')}) but found ${JSON.stringify(name)}`);
  return s;
}

/**
 * The tabular benchmark a table-driven experiment looks its accuracies up in.
 * @throws {EvonasError} naming the file, line or field at fault, or ERR_CONFIG when the experiment trains instead.
 */
export function tableOf(config: { space: string; evaluator: string; benchmark: { path: string; dataset: string } | null }): LookupTable {
  const t = spaceOf(config.space).table;
  if (config.evaluator !== 'table' || !t || !config.benchmark)
    throw new EvonasError('ERR_CONFIG', `evaluator: this experiment trains its individuals (evaluator ${config.evaluator}); it has no table`, ['evaluator']);
  return t.read(config.benchmark.path, config.benchmark.dataset);
}

/** Compiles a stored DNA of any space with the experiment's settings for it (its configuration will do). */
export function compileIndividual(space: string, dna: unknown, io: IOSpec, settings: SpaceSettings = {}): NetIR {
  return spaceOf(space).compile(dna, io, settings);
}
