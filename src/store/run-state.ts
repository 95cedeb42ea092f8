import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';

export const RUN_FILE = 'run.json';

/** When the experiment started (schedules count from it) and when it must stop. */
export interface RunState {
  startedAt: string;
  deadline: string;
  /** Stop once the store holds this many children (a budget that repeats, unlike time). */
  maxChildren?: number;
}

export function readRun(dir: string): RunState {
  return JSON.parse(readFileSync(join(dir, RUN_FILE), 'utf8')) as RunState;
}

export function writeRun(dir: string, r: RunState): void {
  writeFileAtomic(join(dir, RUN_FILE), `${JSON.stringify(r, null, 2)}\n`);
}
