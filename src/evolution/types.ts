/**
 * An algorithm decides, one step at a time, whom to kill and whom to
 * reproduce; the worker supplies the work (mutating, training, storing).
 * Steps are independent and may run in many workers at once: every decision
 * reads the store afresh and a lost race is a conflict, not an error.
 */
import type { Rng } from '../util/rng.js';
import type { Individual, PopulationStore } from '../store/types.js';

/** 'planned' and 'done' are a generational run's: a generation was planned; the last one is complete. */
export type StepOutcome = 'killed' | 'reproduced' | 'trained-initial' | 'conflict' | 'idle' | 'planned' | 'done';

export interface StepContext {
  store: PopulationStore;
  rng: Rng;
  /** The population's set-point. */
  populationSize: number;
  /**
   * Children other workers are training now, which will join the population:
   * the set-point counts them, so that many workers keep alive + in flight
   * at it rather than overshooting (each step then kills one and adds one,
   * as in the paper). Simulated workers count their own; real ones read the
   * other workers' reports.
   */
  inFlight?: () => number | Promise<number>;
  worker: string;
  /** Makes, trains and stores a child of `parent` (the worker's job). */
  reproduce(parent: Individual): Promise<void>;
  /**
   * Trains an individual from scratch (the initial population, or one alive
   * at a weight reset), storing the trained copy and retiring the old one.
   * @throws {ConflictError} when another worker is training it.
   */
  trainInitial(individual: Individual): Promise<void>;
  /** Whether an individual must be retrained from scratch before it competes: it was alive at a population-wide weight reset. */
  stale?(individual: Individual): boolean;
}

export interface Algorithm {
  readonly name: string;
  step(ctx: StepContext): Promise<StepOutcome>;
  /**
   * A second parent for `parent`'s child (recombination): the winner of a
   * second tournament of the algorithm's own kind among the other trained
   * individuals alive; undefined when there is none. Kills nothing.
   */
  mate(ctx: StepContext, parent: Individual): Promise<Individual | undefined>;
}

/** A failed or untrained individual ranks below every trained one. */
export function rank(i: Individual): number {
  return i.fitness ?? -Infinity;
}

/** Untrained individuals of the initial population are trained when first sampled. */
export function untrained(i: Individual): boolean {
  return i.fitness === null && i.failure === undefined;
}
