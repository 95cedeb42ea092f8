/**
 * Workers on a Slurm cluster: an sbatch job array whose tasks are `evonas
 * worker` processes on the experiment (a folder every node mounts, or a
 * postgresql:// URL every node reaches). Each task's worker id is the first
 * id plus its array index, so each has its own random stream. They stop at
 * the experiment's deadline, or on `scancel` (SIGTERM: the child in flight
 * is dropped, never half-written). The password of a URL is never written
 * into the script: sbatch hands the submitting environment (PGPASSWORD
 * included) to the job, as Slurm does by default.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../evolution/config.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { childLocation, withHome } from '../store/home.js';
import type { ExperimentHome } from '../store/home.js';
import { readRun, writeRun } from '../store/run-state.js';
import { EVONAS } from '../util/command.js';
import { EvonasError } from '../util/errors.js';

export interface SlurmOptions {
  /** Array tasks: one worker each. */
  workers: number;
  /** The job's time limit in Slurm's form (4:00:00, 1-00:00:00, 90). */
  time?: string;
  partition?: string;
  /** CPUs per task (default: the experiment's threads per worker). */
  cpusPerWorker?: number;
  /** GPUs per task (--gres=gpu:G). */
  gpusPerWorker?: number;
  /** The dataset's path on the nodes, when not the one the experiment records. */
  data?: string;
  /** The first task's worker id (default 1000, clear of the ids evonas evolve gives its own workers). */
  firstId?: number;
  /** Where the tasks write their output (default <experiment>/slurm for a folder, else the current folder). */
  logDir?: string;
  /** Sets the experiment's deadline this far from now (as evolve --resume does), in milliseconds. */
  budgetMs?: number;
  /** The sbatch program (default sbatch on the PATH). */
  sbatch?: string;
}

const TIME = /^(\d+-)?\d+(:\d{1,2}){0,2}$/;
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** @throws {EvonasError} ERR_USAGE naming the option at fault. */
function validate(o: SlurmOptions): void {
  const whole = (v: number | undefined, name: string, min: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new EvonasError('ERR_USAGE', `${name}: expected a whole number >= ${min} but found ${v}`);
  };
  whole(o.workers, '--workers', 1);
  whole(o.cpusPerWorker, '--cpus-per-worker', 1);
  whole(o.gpusPerWorker, '--gpus-per-worker', 0);
  whole(o.firstId, '--first-id', 0);
  if (o.time !== undefined && !TIME.test(o.time)) throw new EvonasError('ERR_USAGE', `--time: expected Slurm's form (minutes, H:MM:SS or D-HH:MM:SS) but found ${JSON.stringify(o.time)}`);
  if (o.partition !== undefined && !/^[\w.,-]+$/.test(o.partition)) throw new EvonasError('ERR_USAGE', `--partition: ${JSON.stringify(o.partition)} is not a partition name`);
}

/** The sbatch script for `o` on the experiment at `home` (no password in it). */
export function slurmScript(home: ExperimentHome, config: ExperimentConfig, o: SlurmOptions): string {
  validate(o);
  const { location } = childLocation(home);
  const slug = (home.dir ? home.dir.split('/').pop()! : (new URL(home.url!).searchParams.get('schema') ?? 'evonas')).replace(/[^\w.-]/g, '_');
  const logDir = o.logDir ?? (home.dir ? join(home.dir, 'slurm') : process.cwd());
  const first = o.firstId ?? 1000;
  const lines = [
    '#!/bin/bash',
    `# evonas workers for ${home.name}: one per array task, until the experiment's deadline.`,
    '# Stop them with scancel <job>: each drops the child in flight, never half-written.',
    `#SBATCH --job-name=evonas-${slug}`,
    `#SBATCH --array=0-${o.workers - 1}`,
    '#SBATCH --ntasks=1',
    `#SBATCH --cpus-per-task=${o.cpusPerWorker ?? config.threadsPerWorker}`,
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.gpusPerWorker ? [`#SBATCH --gres=gpu:${o.gpusPerWorker}`] : []),
    `#SBATCH --output=${join(logDir, 'evonas-%A_%a.out')}`,
    `exec ${quote(process.execPath)} ${quote(EVONAS)} worker ${quote(location)} --id $((${first} + SLURM_ARRAY_TASK_ID))${o.data ? ` --data ${quote(o.data)}` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

export interface SlurmSubmission {
  job: string;
  script: string;
  deadline: string;
}

/**
 * Submits the workers of the experiment at `location` as a job array, or
 * only writes the script when `dryRun`. The job is recorded among the
 * experiment's documents (slurm/<job>.json).
 * @throws {EvonasError} naming what is wrong: no experiment, a table-driven one, a deadline passed, sbatch missing or refusing.
 */
export async function submitWorkers(location: string, o: SlurmOptions & { dryRun?: boolean }): Promise<SlurmSubmission> {
  validate(o);
  return withHome(location, async (home) => {
    const config = await loadConfig(home);
    if (config.evaluator === 'table') throw new EvonasError('ERR_INPUT', `${home.name}: a table-driven run's workers are simulated by evonas evolve in one process; there is nothing to submit`);
    const run = await readRun(home.docs, home.name);
    const deadline = o.budgetMs === undefined ? run.deadline : new Date(Date.now() + o.budgetMs).toISOString();
    if (Date.parse(deadline) <= Date.now()) throw new EvonasError('ERR_INPUT', `${home.name}: its deadline (${run.deadline}) has passed; give --time-budget to set a new one`);
    const script = slurmScript(home, config, o);
    if (o.dryRun) return { job: '', script, deadline };
    if (o.budgetMs !== undefined) await writeRun(home.docs, { ...run, budgetFrom: new Date().toISOString(), deadline });
    if (!o.logDir && home.dir) mkdirSync(join(home.dir, 'slurm'), { recursive: true });
    if (o.logDir) mkdirSync(o.logDir, { recursive: true });
    const { env } = childLocation(home);
    const r = spawnSync(o.sbatch ?? 'sbatch', ['--parsable'], { input: script, encoding: 'utf8', env });
    if (r.error)
      throw new EvonasError('ERR_INPUT', `sbatch: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found (is this a Slurm login node? is Slurm on the PATH?)' : r.error.message}`);
    if (r.status !== 0) throw new EvonasError('ERR_INPUT', `sbatch refused the job: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
    const job = r.stdout.trim().split(';')[0]!;
    await home.docs.write(`slurm/${job}.json`, { job, workers: o.workers, firstId: o.firstId ?? 1000, submittedAt: new Date().toISOString(), deadline, script });
    return { job, script, deadline };
  });
}
