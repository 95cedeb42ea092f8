/** The workers' own reports (workers/<name>.json among the experiment's documents): how each spent its time. */
import type { ExperimentDocs } from './docs.js';

/** How often a worker rewrites its report, its heartbeat (EVONAS_HEARTBEAT_MS overrides, for tests). */
export const HEARTBEAT_MS = Number(process.env.EVONAS_HEARTBEAT_MS ?? 30_000);

/** A worker counts as alive while its report (its heartbeat) is younger than this and does not say it stopped. */
export const ALIVE_MS = 3 * HEARTBEAT_MS;

/** What a worker reports about itself, rewritten as it goes: its time split and, by its time, that it is alive. */
export interface WorkerReport {
  worker: string;
  host?: string;
  pid?: number;
  /** The Slurm job and array task that started it, when one did. */
  job?: string;
  startedAt: string;
  /** When it last wrote this report (its heartbeat). */
  at?: string;
  wall: number;
  train: number;
  evaluate: number;
  store: number;
  children?: number;
  /** What it is training now: a child (which will join the population) or an individual retrained in place. */
  training?: 'child' | 'retrain';
  /** Its last report: it stopped (said by the worker, or by the supervisor that saw it die). */
  stopped?: boolean;
  /** How it ended when it did not stop by itself (the supervisor saw it exit): a signal or an exit code. */
  died?: string;
}

/** Whether the report's worker is alive at `now`: its heartbeat is fresh and it has not said (or been said) to stop. */
export function isLive(w: WorkerReport, now = Date.now()): boolean {
  return !w.stopped && w.at !== undefined && now - Date.parse(w.at) < ALIVE_MS;
}

export async function workerReports(docs: ExperimentDocs): Promise<WorkerReport[]> {
  return docs.list<WorkerReport>('workers');
}

/** Workers' time split from their reports: busy = training + evaluating. */
export async function utilization(docs: ExperimentDocs): Promise<{ workers: number; wall: number; busy: number; store: number; children: number }> {
  const out = { workers: 0, wall: 0, busy: 0, store: 0, children: 0 };
  for (const w of await workerReports(docs)) {
    out.workers++;
    out.children += w.children ?? 0;
    out.wall += w.wall;
    out.busy += w.train + w.evaluate;
    out.store += w.store;
  }
  return out;
}
