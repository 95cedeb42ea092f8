import type { ExperimentDocs } from './docs.js';
import { StoreError } from './types.js';

export const RUN_FILE = 'run.json';

/** When the experiment started (schedules count from it) and when it must stop. */
export interface RunState {
  startedAt: string;
  deadline: string;
  /** When the time budget that ends at the deadline was given (a resume gives a new one); absent in older runs: startedAt. */
  budgetFrom?: string;
  /** Stop once the store holds this many children (a budget that repeats, unlike time). */
  maxChildren?: number;
}

/** The run's state. @throws {StoreError} naming `where` when there is none (an experiment never started). */
export async function readRun(docs: ExperimentDocs, where: string): Promise<RunState> {
  const r = await docs.read<RunState>(RUN_FILE);
  if (!r) throw new StoreError('ERR_INPUT', `${where}: no ${RUN_FILE} (the experiment was never started; evonas evolve starts it)`);
  return r;
}

export async function writeRun(docs: ExperimentDocs, r: RunState): Promise<void> {
  await docs.write(RUN_FILE, r);
}
