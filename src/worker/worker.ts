/**
 * One worker: its own engine, its own random stream (derived from the
 * experiment seed and the worker id), stepping the experiment's algorithm
 * against the shared store until the deadline or a stop signal. A child in
 * flight when it stops is dropped, never half-written: births are atomic.
 */
import { loadConfig } from '../evolution/config.js';
import { selectionFitness } from '../evolution/selection.js';
import { EvonasError } from '../util/errors.js';
import type { StepOutcome } from '../evolution/types.js';
import { spaceOf } from '../spaces/index.js';
import { ConflictError, historyKeepers } from '../store/index.js';
import { generationalDriver } from './generational-driver.js';
import { keepFresh, LEASE_MS, makeKit } from './kit.js';
import { HEARTBEAT_MS, workerReports } from '../store/worker-reports.js';
import { openHome } from '../store/home.js';
import type { ExperimentHome } from '../store/home.js';
import { readRun } from '../store/run-state.js';
import { finishOne } from './finish.js';
import { steadyStateDriver } from './steady-state.js';

export interface WorkerOptions {
  /** The experiment: its folder or its postgresql:// URL. */
  location: string;
  /** The worker's number (its random stream); omitted, the lowest no live worker holds. */
  id?: number;
  /**
   * Take the number over even if its claim looks live: the caller saw its
   * last holder die (evonas evolve restarting a worker), so its claim, not yet
   * run out, is not a live worker's.
   */
  takeover?: boolean;
  /** The dataset's path on this host, when it is not the one the experiment records. */
  data?: string;
  signal?: AbortSignal;
  onStep?: (outcome: StepOutcome) => void;
}

/** Runs one worker until the deadline, the child budget or the signal. @returns how many steps of each kind it took. */
export async function runWorker(o: WorkerOptions): Promise<Record<string, number>> {
  const home = await openHome(o.location);
  try {
    return await work(home, o);
  } finally {
    await home.close();
  }
}

async function work(home: ExperimentHome, o: WorkerOptions): Promise<Record<string, number>> {
  if ((await loadConfig(home)).evaluator === 'table')
    throw new EvonasError('ERR_INPUT', `${home.name}: a table-driven run's workers are simulated by evonas evolve, in one process on the simulated clock; there is nothing for evonas worker to do`);
  const { id, release } = await claimNumber(home, o);
  // Earlier starts of this number (a restart, a resumed run) left their reports: this start's stream is a new one.
  const incarnation = (await workerReports(home.docs)).filter((w) => new RegExp(`^w${id}(r\\d+)?-`).test(w.worker)).length;
  let kit: Awaited<ReturnType<typeof makeKit>>;
  try {
    kit = await makeKit(home, id, { incarnation, ...(o.signal ? { signal: o.signal } : {}), ...(o.data ? { data: o.data } : {}) });
  } catch (e) {
    await release();
    throw e;
  }
  const { config, store } = kit;
  const generational = spaceOf(config.space).breeding !== undefined;
  const step = generational ? generationalDriver(kit) : steadyStateDriver(kit);
  const run = await readRun(home.docs, home.name);
  const counts: Record<string, number> = {};
  let lastWatch = Date.now();
  const deadline = Date.parse(run.deadline);
  // With a finish, reproduction ends that part of the budget earlier and the time left goes to annealing one of the best.
  const budgetFrom = Date.parse(run.budgetFrom ?? run.startedAt);
  const reproduceUntil = config.finish > 0 && !generational ? deadline - config.finish * (deadline - budgetFrom) : deadline;
  // The report is also the worker's heartbeat: status counts a worker alive while it is fresh, from its start.
  await kit.report();
  const beat = setInterval(() => kit.report().catch(() => {}), HEARTBEAT_MS);
  try {
    const childrenLeft = async () => run.maxChildren === undefined || (await store.list()).filter((i) => i.parent !== null).length < run.maxChildren;
    while (!o.signal?.aborted && Date.now() < reproduceUntil && (await childrenLeft())) {
      let outcome: StepOutcome;
      try {
        outcome = await step();
      } catch (e) {
        if (e instanceof ConflictError) outcome = 'conflict';
        else if (e instanceof DOMException && e.name === 'AbortError')
          break; // the platform's abort, by its standard name
        else throw e;
      }
      if (outcome === 'done') break;
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      o.onStep?.(outcome);
      if (outcome === 'idle') await new Promise((r) => setTimeout(r, 200));
      if (config.stagnation && Date.now() - lastWatch > Math.min(10_000, (config.stagnation.window * 1000) / 4)) {
        lastWatch = Date.now();
        await kit.watchStagnation(await store.list());
      }
      if (counts[outcome]! % 20 === 0) {
        // The report needs the weights of every best-so-far and of the top individuals.
        const all = await store.list();
        await store.collectGarbage(10 * 60_000, historyKeepers(all, 10, selectionFitness(all)));
        await kit.report();
      }
    }
    if (reproduceUntil < deadline && !o.signal?.aborted && Date.now() < deadline && (await childrenLeft())) {
      if (await finishOne(kit, deadline)) counts.finished = 1;
    }
  } finally {
    clearInterval(beat);
    await kit.report(true).catch(() => {}); // stopping: the last report is a courtesy
    kit.dispose();
    await release();
  }
  return counts;
}

/** Numbers tried, from 0, for a worker started without one. */
const MAX_WORKER_NUMBER = 100_000;

/**
 * Claims the worker's number (a lease `worker-<id>`, kept fresh while it
 * works): two live workers never share a number, and so never a random
 * stream. @returns the number and how to give it back.
 * @throws {EvonasError} naming the number and its holder when it is taken.
 */
async function claimNumber(home: ExperimentHome, o: WorkerOptions): Promise<{ id: number; release: () => Promise<void> }> {
  const name = `worker-${process.pid}`;
  const held = (id: number) => {
    const key = `worker-${id}`;
    const stop = keepFresh(() => home.leases.heartbeat(key));
    return {
      id,
      release: async () => {
        stop();
        await home.leases.release(key, name).catch(() => {}); // not given back: it runs out by itself
      },
    };
  };
  if (o.id !== undefined) {
    if (await home.leases.claim(`worker-${o.id}`, name, o.takeover ? 0 : LEASE_MS)) return held(o.id);
    throw new EvonasError(
      'ERR_INPUT',
      `${home.name}: worker number ${o.id} is held by a live worker (its claim was refreshed in the last ${LEASE_MS / 1000} s); give another --id, or none to take the lowest free one`,
    );
  }
  for (let id = 0; id < MAX_WORKER_NUMBER; id++) if (await home.leases.claim(`worker-${id}`, name, LEASE_MS)) return held(id);
  throw new EvonasError('ERR_INPUT', `${home.name}: no free worker number below ${MAX_WORKER_NUMBER}`);
}
