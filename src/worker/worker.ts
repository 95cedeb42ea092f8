/**
 * One worker: its own engine, its own random stream (derived from the
 * experiment seed and the worker id), stepping the experiment's algorithm
 * against the shared store until the deadline or a stop signal. A child in
 * flight when it stops is dropped, never half-written: births are atomic.
 */
import { readConfig } from '../evolution/config.js';
import { selectionFitness } from '../evolution/selection.js';
import { EvonasError } from '../util/errors.js';
import type { StepOutcome } from '../evolution/types.js';
import { spaceOf } from '../spaces/index.js';
import { ConflictError, historyKeepers } from '../store/index.js';
import { generationalDriver } from './generational-driver.js';
import { makeKit } from './kit.js';
import { readRun } from '../store/run-state.js';
import { steadyStateDriver } from './steady-state.js';

export interface WorkerOptions {
  dir: string;
  id: number;
  signal?: AbortSignal;
  onStep?: (outcome: StepOutcome) => void;
}

/** Runs one worker until the deadline, the child budget or the signal. @returns how many steps of each kind it took. */
export async function runWorker(o: WorkerOptions): Promise<Record<string, number>> {
  if (readConfig(o.dir).evaluator === 'table')
    throw new EvonasError('ERR_INPUT', `${o.dir}: a table-driven run's workers are simulated by evonas evolve, in one process on the simulated clock; there is nothing for evonas worker to do`);
  const kit = makeKit(o.dir, o.id, o.signal);
  const { config, store } = kit;
  const step = spaceOf(config.space).generational ? generationalDriver(kit) : steadyStateDriver(kit);
  const run = readRun(o.dir);
  const counts: Record<string, number> = {};
  let lastWatch = Date.now();
  const deadline = Date.parse(run.deadline);
  try {
    const childrenLeft = async () => run.maxChildren === undefined || (await store.list()).filter((i) => i.parent !== null).length < run.maxChildren;
    while (!o.signal?.aborted && Date.now() < deadline && (await childrenLeft())) {
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
        kit.watchStagnation(await store.list());
      }
      if (counts[outcome]! % 20 === 0) {
        // The report needs the weights of every best-so-far and of the top individuals.
        const all = await store.list();
        await store.collectGarbage(10 * 60_000, historyKeepers(all, 10, selectionFitness(all)));
        kit.report();
      }
    }
  } finally {
    kit.report();
    kit.dispose();
  }
  return counts;
}
