/**
 * What a search space is to the rest of evonas: the contract every space
 * folder implements (src/spaces/<name>/space.ts) and the registry lists.
 * Shared code (algorithms, workers, report, dashboard, config) asks a space
 * through this contract and never names one, nor imports its folder.
 */
import type { z } from 'zod';
import type { NetIR } from '../net/ir.js';
import type { IOSpec } from '../net/presets.js';
import type { Rng } from '../util/rng.js';

/** How a child of a space trains, as the space says: its rate and, where the space's settings fix them, a schedule and a length in epochs. */
export interface ChildTraining {
  learningRate: number;
  /** The engine's learning-rate schedule (default constant). */
  schedule?: 'constant' | 'stepped';
}

/** One individual-to-be of a generation: its DNA, where it came from and how (the space's records). */
export interface PlanSlot {
  dna: unknown;
  /** Ids of the previous generation's individuals it descends from. */
  parents: string[];
  operations: unknown[];
}

/** A finished individual of a generation, with the fitness selection sees. */
export interface Evaluated {
  id: string;
  slot: number;
  dna: unknown;
  /** This evaluation's validation accuracy (0 when training failed). */
  accuracy: number;
  /** Mean accuracy over every evaluation of the same structure so far (Genetic CNN's rule for duplicates). */
  fitness: number;
  /** What its network costs (the record's), for selection by several objectives. */
  costs?: { parameters: number; flops: number; latency?: number };
}

/**
 * Trained tensors by name, as the engine gives and takes them (its
 * WeightMap): a space recombining weights handles them without the engine.
 */
export type Weights = Map<string, { shape: number[]; data: Float32Array | Float64Array }>;

/** A child made from its parent(s): its DNA, the records the lineage shows, how much of the parents' weights it may inherit. */
export interface Mutation {
  dna: unknown;
  records: unknown[];
  inherit: 'all' | 'matching' | 'none';
}

/** A generational space's breeding: how generation 0 is drawn and generation t+1 bred from t. Pure given `rng`. */
export interface Breeding<S> {
  /** Generations T after the initial one. */
  generations(settings: S): number;
  /** Each individual trains this many epochs from scratch (null: the experiment's stepsPerChild). */
  epochs(settings: S): number | null;
  initial(settings: S, population: number, rng: Rng): PlanSlot[];
  /**
   * Generation t+1 from `previous` (generation t, in slot order; or, by
   * several objectives, NSGA-II's survivors). `select` draws the parents'
   * indices into `previous` when given (NSGA-II's crowded tournaments);
   * otherwise the space's own selection (Genetic CNN's roulette).
   */
  next(settings: S, previous: Evaluated[], population: number, rng: Rng, select?: (n: number, rng: Rng) => number[]): PlanSlot[];
}

/**
 * A space; `S` is its settings (experiment.json's block under the space's
 * name). Methods receive the settings already parsed by `settings`.
 */
export interface SearchSpace<S = unknown> {
  name: string;
  /** What it is, for help and the schema: "Large-Scale Evolution's graph DNA". */
  title: string;
  /** The algorithms this space runs (names from src/evolution), its default first. */
  algorithms: readonly string[];
  /** This space's settings: strict, every field with its default and description. */
  settings: z.ZodType<S>;
  /** @throws naming the field when `dna` is not this space's. */
  validate(dna: unknown): unknown;
  compile(dna: unknown, io: IOSpec, settings: S): NetIR;
  /** Individuals with one key are one network: selection averages their evaluations (Genetic CNN's rule); by default each individual is its own. */
  selectionKey(individual: { id: string; dna: unknown }): string;
  /** A diagram (SVG). */
  render(dna: unknown, io: IOSpec, title: string): string;
  /** What the report shows of the best beside its accuracies (e.g. the stages' bits). */
  describe(dna: unknown): Record<string, string>;
  /** Its structure in a line, for evonas dna info (else what describe says). */
  outline?(dna: unknown): string;
  /** How a child trains: the rate its DNA carries, or its settings'. */
  training(dna: unknown, settings: S): ChildTraining;
  /** The population evolve seeds (steady-state spaces), drawn with `rng` where the space draws it; a generational space's workers make generation 0. */
  initialPopulation(size: number, rng: Rng, settings: S): unknown[];
  /**
   * Steady-state spaces: a child of `dna` by `k` mutations, the records the
   * lineage shows, and how much of the parent's weights it may inherit.
   * `recombination` is the experiment's form (a form that changes how every
   * child mutates, as evolved mutation probabilities do, acts here too).
   */
  mutate?(dna: unknown, rng: Rng, k: number, settings: S, recombination?: string): Mutation;
  /** Steady-state spaces that breed a child of two parents (Large-Scale Evolution's section "Recombination"): the forms offered, and how. */
  recombination?: {
    forms: readonly string[];
    /**
     * A child of `first` (the step's tournament winner) and `second` (a second
     * tournament's) by `form`: its DNA, records, what it inherits, and, for
     * a form that takes weights from both, how its weights are made from the
     * two parents' trained weights (absent: the first's alone).
     */
    recombine(form: string, first: unknown, second: unknown, rng: Rng, k: number, settings: S, io: IOSpec): Mutation & { weights?(first: Weights, second: Weights): Weights };
  };
  /**
   * A fresh individual drawn uniformly, where the space defines one: random
   * search then evaluates independent draws (the field's baseline on a
   * tabular space, as Genetic CNN's random strings) instead of the 2017
   * paper's control, a random walk of mutations.
   */
  randomIndividual?(rng: Rng, settings: S): unknown;
  /** Generational spaces: workers plan generations (generation files and statistics) bred this way; otherwise a steady-state population seeded by evolve. */
  breeding?: Breeding<S>;
  /** The experiment's schedule when it names none (steady-state spaces; none when absent). */
  defaultSchedule?: { mutationRate?: { from: number; to: number; k: number }[]; weightResets?: number[] };
  /** Spaces whose structures evonas retrain trains wider from scratch: their stages, and the settings with other widths. */
  retrain?: { stages(settings: S): number; widen(settings: S, widths: number[], fc: number): S };
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
