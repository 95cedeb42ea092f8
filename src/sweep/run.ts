/**
 * Running a sweep (one evolution per seed) as a library call: each seed's
 * run as an `evonas evolve` process (the sweep survives a run that crashes),
 * one or several at a time, then its report; resumable run by run.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EXPERIMENT_FILE, readConfig } from '../evolution/config.js';
import { buildReport } from '../report/build.js';
import type { ReportSummary } from '../report/build.js';
import { readSweep, writeSweep } from '../report/sweep.js';
import type { SweepManifest, SweepRun } from '../report/sweep.js';
import { folderHome } from '../store/home.js';
import { readRun } from '../store/run-state.js';
import { EvonasError } from '../util/errors.js';
import { EVONAS } from '../util/command.js';

export interface SweepOptions {
  /** Runs at once (default 1). One run shows its progress on this process's terminal; several write theirs to <experiment>.log. */
  parallel?: number;
  /** Stops the runs in flight; they stay "running" and a later runSweep resumes them with the time they had left. */
  signal?: AbortSignal;
  /** Lines worth keeping: a run started, a seed's result. */
  onLog?: (line: string) => void;
  /** A one-line state of a seed's report as it is built. */
  onProgress?: (line: string) => void;
  /** Called when the progress line is finished with. */
  onProgressDone?: () => void;
}

/** What is left of a run's budget: the budget less the time from its start to its last birth. */
async function timeLeft(exp: string, budgetMs: number): Promise<number> {
  const home = folderHome(exp);
  const started = Date.parse((await readRun(home.docs, exp)).startedAt);
  const last = Math.max(started, ...(await home.store.list()).map((i) => Date.parse(i.bornAt)));
  return budgetMs - (last - started);
}

/** The evolve command that starts (or resumes, with the time it had left) one seed's run; none when its time is spent. */
async function evolveCommand(dir: string, m: SweepManifest, r: SweepRun): Promise<string[] | undefined> {
  const exp = join(dir, r.experiment);
  // A table-driven run is made in one go, in seconds, and repeats with its seed: one stopped part way is made again.
  if (existsSync(join(exp, EXPERIMENT_FILE)) && readConfig(exp).evaluator === 'table') rmSync(exp, { recursive: true, force: true });
  if (!existsSync(join(exp, EXPERIMENT_FILE))) return ['evolve', ...m.evolveArgs, '--seed', String(r.seed), '--out', exp, '--time-budget', `${m.budgetMs / 1000}s`];
  const left = await timeLeft(exp, m.budgetMs);
  const i = m.evolveArgs.indexOf('--max-children');
  const maxChildren = i >= 0 ? ['--max-children', m.evolveArgs[i + 1]!] : [];
  return left >= 5000 ? ['evolve', '--resume', exp, '--time-budget', `${Math.ceil(left / 1000)}s`, ...maxChildren] : undefined;
}

/**
 * Runs the sweep in `dir` (made by the sweep command, or a library caller,
 * as sweep.json) until every seed is done or `o.signal` stops it, reporting
 * each seed as it finishes.
 * @returns each finished seed's report summary, and whether it was stopped.
 * @throws {EvonasError} ERR_RUN when a seed's evolve fails: fix the cause, then run it again to resume.
 */
export async function runSweep(dir: string, o: SweepOptions = {}): Promise<{ stopped: boolean; reports: Map<number, ReportSummary> }> {
  const m = readSweep(dir);
  const parallel = o.parallel ?? 1;
  const log = o.onLog ?? (() => {});
  const children = new Set<ReturnType<typeof spawn>>();
  const stop = () => {
    for (const c of children) c.kill('SIGTERM'); // evolve stops the same way on either signal
  };
  o.signal?.addEventListener('abort', stop, { once: true });
  const reports = new Map<number, ReportSummary>();
  const runOne = async (r: SweepRun): Promise<void> => {
    const exp = join(dir, r.experiment);
    const args = await evolveCommand(dir, m, r);
    r.state = 'running';
    writeSweep(dir, m);
    if (args) {
      const out = parallel > 1 ? createWriteStream(`${exp}.log`, { flags: 'a' }) : undefined;
      const child = spawn(process.execPath, [EVONAS, ...args], { stdio: ['ignore', out ? 'pipe' : 'inherit', out ? 'pipe' : 'inherit'] });
      if (out) {
        child.stdout!.pipe(out);
        child.stderr!.pipe(out);
        log(`seed ${r.seed}: running (progress in ${exp}.log)`);
      }
      children.add(child);
      const code = await new Promise<number | null>((res) => child.on('close', res));
      children.delete(child);
      if (o.signal?.aborted) return; // stopped early: stays "running", resumed later with the time it had left
      if (code !== 0)
        throw new EvonasError('ERR_RUN', `seed ${r.seed}: evolve exited with ${code}${out ? ` (see ${exp}.log)` : ''}; fix the cause, then evonas sweep --resume ${dir}`, ['runs', m.runs.indexOf(r)]);
    }
    const s = await buildReport(exp, { log: (l) => o.onProgress?.(`seed ${r.seed}: ${l}`) }).finally(() => o.onProgressDone?.());
    reports.set(r.seed, s);
    log(
      `seed ${r.seed}: best by validation ${s.best.validationAccuracy.toFixed(4)}, test ${s.best.testAccuracy.toFixed(4)} (${s.best.params.toLocaleString('en')} parameters, ${s.individuals} individuals)`,
    );
    r.state = 'done';
    writeSweep(dir, m);
  };
  const queue = m.runs.filter((r) => r.state !== 'done');
  const lanes = Array.from({ length: Math.min(parallel, queue.length) }, async () => {
    for (let r = queue.shift(); r && !o.signal?.aborted; r = queue.shift()) await runOne(r);
  });
  try {
    await Promise.all(lanes);
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
  return { stopped: !!o.signal?.aborted, reports };
}
