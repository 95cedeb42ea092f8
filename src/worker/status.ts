/**
 * An experiment's state now, as a library call (evonas status is this plus
 * printing): its settings, the run's start and deadline, the population's
 * counts, the best by validation, the workers' utilization and, for a
 * generational space, each generation's statistics.
 */
import { loadConfig } from '../evolution/config.js';
import type { GenerationStats } from '../evolution/generational.js';
import { spaceOf } from '../spaces/index.js';
import { GenerationLedger } from '../store/index.js';
import { withHome } from '../store/home.js';
import { readRun } from '../store/run-state.js';
import type { RunState } from '../store/run-state.js';
import { summarizePopulation } from '../store/summary.js';
import { isLive, utilization, workerReports } from '../store/worker-reports.js';

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
  /** Workers alive now: their report (rewritten every HEARTBEAT_MS while they work) is fresh and does not say they stopped. */
  workers: { worker: string; host: string; job?: string; children: number; lastSeen: string }[];
  /** Generational spaces: each generation's statistics. */
  generations?: GenerationStats[];
}

/** @throws {ConfigError} when `location` (a folder or a postgresql:// URL) holds no experiment. */
export async function status(location: string): Promise<ExperimentStatus> {
  return withHome(location, async (home) => {
    const config = await loadConfig(home);
    const s = await summarizePopulation(home.store);
    const run = await readRun(home.docs, home.name);
    const u = await utilization(home.docs);
    const now = Date.now();
    const alive = (await workerReports(home.docs)).filter((w) => isLive(w, now));
    return {
      experiment: home.name,
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
      workers: alive.map((w) => ({ worker: w.worker, host: w.host ?? '?', ...(w.job ? { job: w.job } : {}), children: w.children ?? 0, lastSeen: w.at! })),
      ...(spaceOf(config.space).breeding !== undefined ? { generations: await new GenerationLedger(home.docs, home.leases).stats<GenerationStats>() } : {}),
    };
  });
}
