/**
 * An experiment's state now, as a library call (evonas status is this plus
 * printing): its settings, the run's start and deadline, the population's
 * counts, the best by validation, the workers' utilization and, for a
 * generational space, each generation's statistics.
 */
import { readConfig } from '../evolution/config.js';
import type { GenerationStats } from '../evolution/generational.js';
import { spaceOf } from '../spaces/index.js';
import { FileStore, GenerationFiles } from '../store/index.js';
import { readRun } from '../store/run-state.js';
import type { RunState } from '../store/run-state.js';
import { summarizePopulation } from '../store/summary.js';
import { utilization } from './reports.js';

export interface ExperimentStatus extends RunState {
  experiment: string;
  space: string;
  algorithm: string;
  population: number;
  /** Children the workers trained (from their reports). */
  children: number;
  alive: number;
  dead: number;
  trained: number;
  failed: number;
  best: { id: string; validationAccuracy: number | null; stepsTrained: number; state: 'alive' | 'dead' } | null;
  /** Share of the workers' wall time spent training and evaluating, and in the store (null before any report). */
  workerUtilization: number | null;
  storeShare: number | null;
  /** Worker reports counted. */
  workerReports: number;
  /** Generational spaces: each generation's statistics. */
  generations?: GenerationStats[];
}

/** @throws {ConfigError} when `dir` holds no experiment. */
export async function status(dir: string): Promise<ExperimentStatus> {
  const config = readConfig(dir);
  const s = await summarizePopulation(new FileStore(dir));
  const run = readRun(dir);
  const u = utilization(dir);
  return {
    experiment: dir,
    space: config.space,
    algorithm: config.algorithm,
    population: config.population,
    ...run,
    children: u.children,
    alive: s.alive,
    dead: s.dead,
    trained: s.trained,
    failed: s.failed,
    best: s.best ? { id: s.best.id, validationAccuracy: s.best.fitness, stepsTrained: s.best.stepsTrained, state: s.best.state } : null,
    workerUtilization: u.wall ? u.busy / u.wall : null,
    storeShare: u.wall ? u.store / u.wall : null,
    workerReports: u.workers,
    ...(spaceOf(config.space).generational ? { generations: new GenerationFiles(dir).stats<GenerationStats>() } : {}),
  };
}
