import { EvonasError } from '../util/errors.js';
/**
 * The population store: individuals are immutable
 * records; the only transitions are *born* (appears alive and complete, at
 * once) and *killed* (alive -> dead, exactly once: a second killer gets a
 * conflict). Every backend passes test/store-contract.test.ts.
 */

export interface IndividualRecord {
  id: string;
  /** The parent's id; null for the initial population. */
  parent: string | null;
  /** Worker that made it. */
  worker: string;
  /** ISO time of birth. */
  bornAt: string;
  /** Search space name and DNA. */
  space: string;
  dna: unknown;
  /** What the reproduction did (mutation records), for lineage. */
  mutations: unknown[];
  /** Validation accuracy; null while untrained or when training failed. */
  fitness: number | null;
  /** Why training failed, when it did. */
  failure?: string;
  /** Training steps, cumulative through inheritance. */
  stepsTrained: number;
  trainFlops: number;
  validationFlops: number;
  /**
   * What the network costs at inference: its parameters and forward FLOPs per
   * image and, where the search names it, its latency (ms per image at batch
   * 1, the median of repeats after warm-up) with the CPU and threads it was
   * measured on. The objectives and constraints a search may name. Absent in
   * older records.
   */
  costs?: { parameters: number; flops: number; latency?: number; latencyOn?: string };
  /** Seconds the worker spent on this child. */
  timing: { train: number; evaluate: number; store: number; idle: number };
  /**
   * When the training that made its weights began from scratch (ISO): its own
   * training's start, or, when it inherited, its parent's. A weight reset after
   * this time makes its weights and fitness stale. Absent in older records
   * (then its birth stands in).
   */
  weightsSince?: string;
  /** Whether a weights file comes with it (false for a dead one whose weights were collected). */
  hasWeights: boolean;
  /** Generational runs: the generation and the slot of its plan. */
  generation?: number;
  slot?: number;
  /** Generational runs: every parent (crossover has two); `parent` is the first. */
  parents?: string[];
}

/** When `i`'s weights began training from scratch (ISO): its record's weightsSince, or its birth for records older than the field. */
export function weightsSince(i: Pick<IndividualRecord, 'weightsSince' | 'bornAt'>): string {
  return i.weightsSince ?? i.bornAt;
}

export interface Individual extends IndividualRecord {
  state: 'alive' | 'dead';
  diedAt?: string;
  killedBy?: string;
}

/** A store operation lost a race (for instance a second kill): give up and go on. */
/** Another worker got there first (a kill, a claim): the step is dropped, nothing is wrong. */
export class ConflictError extends EvonasError {
  constructor(message: string) {
    super('ERR_STORE_CONFLICT', message);
  }
}

export class StoreError extends EvonasError {}

export interface StoreCheck {
  alive: number;
  dead: number;
  /** Problems found: malformed entries, records that do not parse, duplicates. */
  problems: string[];
}

export interface PopulationStore {
  /** Makes an individual appear alive with its record and weights, atomically. */
  put(record: IndividualRecord, weights?: Uint8Array[]): Promise<void>;
  /** alive -> dead; 'conflict' when someone else killed it first (or it is gone). */
  kill(id: string, by: string): Promise<'killed' | 'conflict'>;
  /** Up to k distinct alive individuals chosen uniformly by `random` (a function in [0, 1)). */
  sample(k: number, random: () => number): Promise<Individual[]>;
  get(id: string): Promise<Individual | undefined>;
  list(filter?: { state?: 'alive' | 'dead' }): Promise<Individual[]>;
  aliveCount(): Promise<number>;
  /** The weights file's bytes. @throws {ConflictError} when the individual is gone. */
  readWeights(id: string): Promise<Buffer>;
  /** Deletes the weights of individuals dead more than `graceMs`, except those in `keep` (their records stay, as history); returns their ids. */
  collectGarbage(graceMs: number, keep?: ReadonlySet<string>): Promise<string[]>;
  /** Reads everything and reports problems; changes nothing. */
  check(): Promise<StoreCheck>;
}

/**
 * The individuals whose weights the report needs after the run: each that
 * held the best validation accuracy when it was born (the best-so-far curve
 * evaluates them on the test split) and the `top` best by `fitness`, the
 * fitness the report selects by (Genetic CNN's mean over duplicate bits;
 * each record's own by default), for the best model and the ensemble.
 */
export function historyKeepers(individuals: Pick<IndividualRecord, 'id' | 'bornAt' | 'fitness'>[], top = 10, fitness?: ReadonlyMap<string, number>): Set<string> {
  const keep = new Set<string>();
  let best = -Infinity;
  for (const i of [...individuals].sort((a, b) => (a.bornAt < b.bornAt ? -1 : a.bornAt > b.bornAt ? 1 : a.id < b.id ? -1 : 1))) {
    if (i.fitness !== null && i.fitness > best) {
      best = i.fitness;
      keep.add(i.id);
    }
  }
  const f = (i: Pick<IndividualRecord, 'id' | 'fitness'>) => fitness?.get(i.id) ?? i.fitness!;
  for (const i of individuals
    .filter((x) => x.fitness !== null)
    .sort((a, b) => f(b) - f(a) || (a.id < b.id ? -1 : 1))
    .slice(0, top))
    keep.add(i.id);
  return keep;
}

/**
 * Leases on keys (who trains a generational slot, who trains an initial
 * individual): a claim is held until it is released or goes unrefreshed for
 * its lease; exactly one worker takes a free key. The filesystem backend is
 * LeaseClaims (through asyncLeases); PostgreSQL's is PgStore.leases.
 */
export interface Leases {
  /** Takes `key` when it is free, released, or held past `leaseMs` without a heartbeat. @returns whether this worker holds it now. */
  claim(key: string, worker: string, leaseMs: number): Promise<boolean>;
  /** Whether this process's claim on `key` is still the current one. */
  holds(key: string): Promise<boolean>;
  /** Keeps this process's claim fresh while its work runs. */
  heartbeat(key: string): Promise<void>;
  /** Gives `key` back so another may claim it at once; never another worker's claim. */
  release(key: string, worker: string): Promise<void>;
  /** Forgets this process's claim without releasing it: the work is done and its result marks it. */
  done(key: string): Promise<void>;
}

/**
 * A generational run's shared state beside the population: each generation's
 * plan (created once), claims on its slots, and its statistics once
 * complete. GenerationLedger keeps it in any experiment's documents and leases.
 */
export interface GenerationLog {
  /** The highest generation with a plan, or -1. */
  latest(): Promise<number>;
  readPlan<T>(t: number): Promise<T>;
  /** Writes generation t's plan unless one exists. @returns whether this call created it. */
  createPlan(t: number, plan: unknown): Promise<boolean>;
  claim(t: number, slot: number, worker: string, leaseMs: number): Promise<boolean>;
  heartbeat(t: number, slot: number): Promise<void>;
  release(t: number, slot: number, worker: string): Promise<void>;
  writeStats(t: number, stats: unknown): Promise<void>;
  /** Every generation's statistics, in order. */
  stats<T>(): Promise<T[]>;
}
