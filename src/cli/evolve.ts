import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS, EXPERIMENT_FILE, readConfig, writeConfig } from '../evolution/config.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { describeEvent, StagnationLog } from '../evolution/stagnation.js';
import { spaceOf } from '../spaces/index.js';
import { FileStore, GenerationFiles, newRecord } from '../store/index.js';
import { formatStatsRow, STATS_HEADER } from '../evolution/generational.js';
import type { GenerationStats } from '../evolution/generational.js';
import { readRun, writeRun } from '../worker/worker.js';
import { CliError, intOption, parse, str } from './args.js';
import { parseDuration } from '../util/duration.js';
import { configFromFlags, EVOLVE_OPTIONS } from './evolve-options.js';
import type { Parsed } from './args.js';
import { Progress } from './progress.js';
import { summarizePopulation } from '../store/summary.js';
import type { PopulationSummary } from '../store/summary.js';
import { utilization } from '../worker/reports.js';

const HELP = `usage: evonas evolve --data <cache> --out <experiment> [options]
       evonas evolve --resume <experiment> [--time-budget T]

Starts (or resumes) an evolution: creates the experiment, starts the workers
under a supervisor that restarts any that die, shows progress, and stops at
the time budget or on Ctrl-C (children in flight are dropped, never
half-written). Add workers from another shell with "evonas worker <experiment>".

  --config FILE        experiment settings (JSON); flags override it
  --space S            graph (Large-Scale Evolution, default) or stages (Genetic CNN)
  --algorithm A        graph: tournament (the paper, default), aging, random;
                       stages: generational (the paper, default), random
  --population N       set-point (paper 1000; default ${DEFAULTS.population}, scaled for 2 cores)
  --workers W          worker processes (paper population/4; default ${DEFAULTS.workers}, one per core)
  --steps S            training steps per child (paper 25600; default ${DEFAULTS.stepsPerChild}: weights are inherited)
  --batch N            (paper and default ${DEFAULTS.batchSize})
  --threads N          intra-op threads per worker (default ${DEFAULTS.threadsPerWorker})
  --precision P        fp32 or bf16 (default fp32)
  --no-inheritance     the paper's control: every child trains from scratch
  --generations T      stages: generations after the initial one (paper and default ${DEFAULTS.generations})
  --epochs E           stages: train each individual E epochs (paper 240) instead of --steps
  --time-budget T      e.g. 90s, 30m, 2h (default 30m)
  --max-children N     also stop once the store holds N children (a budget
                       that repeats: with 1 worker, 1 thread and a seed, two
                       runs make the same individuals)
  --stagnation W       graph space: when no new best by validation has been
                       born for W (e.g. 4m), apply the paper's section-5
                       remedies by itself, recorded in <experiment>/events/
                       and marked on Figure 1; each remedy gets W to work
  --stagnation-remedy R  both (default), mutation-rate (5 mutations per
                       child for W/2) or weight-reset (every individual's)

Scaled for minutes on 2 cores rather than days on 250 machines, and saved in
the experiment: mutation weights that favour growth (insert-convolution and
alter-channels 3, identity 2, reset-weights 0.2, others 0.5-1) and 3 mutations
per child for the first 3 minutes. For the paper's uniform choice put
"mutationWeights": {} and "schedule": {} in --config.
  --seed K             (default 0)`;


const EVONAS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'evonas');

function create(p: Parsed): { dir: string; config: ExperimentConfig } {
  const out = str(p, 'out');
  if (!out) throw new CliError(`--out <experiment> is required (or --resume <experiment>)\n\n${HELP}`);
  const dir = resolve(out);
  if (existsSync(join(dir, EXPERIMENT_FILE))) throw new CliError(`${out} already holds an experiment; resume it with --resume ${out}`, 1);
  const config = configFromFlags(p);
  mkdirSync(dir, { recursive: true });
  writeConfig(dir, config);
  return { dir, config };
}

/** A steady-state space's initial population; a generational space's workers plan generation 0 themselves. */
async function seedPopulation(store: FileStore, config: ExperimentConfig): Promise<void> {
  for (const dna of spaceOf(config.space).initialPopulation(config.population)) await store.put(newRecord({ worker: 'evolve', space: config.space, dna }));
}


export async function run(argv: string[]): Promise<number> {
  const p = parse(
    argv,
    EVOLVE_OPTIONS,
    HELP,
  );
  if (!p) return 0;
  const budget = parseDuration(str(p, 'time-budget'), 30 * 60_000);
  const maxChildren = str(p, 'max-children') === undefined ? undefined : intOption(str(p, 'max-children'), '--max-children', 0, 1);
  const limits = (startedAt: string) => ({ startedAt, deadline: new Date(Date.now() + budget).toISOString(), ...(maxChildren ? { maxChildren } : {}) });
  let dir: string;
  let config: ExperimentConfig;
  const resume = str(p, 'resume');
  if (resume) {
    dir = resolve(resume);
    config = readConfig(dir);
    writeRun(dir, limits(readRun(dir).startedAt));
  } else {
    ({ dir, config } = create(p));
    await seedPopulation(new FileStore(dir), config);
    writeRun(dir, limits(new Date().toISOString()));
  }
  const deadline = Date.parse(readRun(dir).deadline);
  const store = new FileStore(dir);
  const generational = spaceOf(config.space).generational;
  const training = generational && config.epochs ? `${config.epochs} epochs` : `${config.stepsPerChild} steps`;
  const shape = generational ? `${config.generations} generations of ${config.population}` : `population ${config.population}`;
  console.log(`${resume ? 'resuming' : 'evolving'} ${dir}: ${config.space} space, ${config.algorithm}, ${shape}, ${config.workers} workers, ${training} per child, until ${new Date(deadline).toISOString()}`);

  let stopping = false;
  /** Workers that ended on their own (a generational run's last generation is complete). */
  let finished = 0;
  const workers = new Map<number, ChildProcess>();
  const exited: Promise<void>[] = [];
  const start = (id: number) => {
    const child = spawn(process.execPath, [EVONAS, 'worker', dir, '--id', String(id)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err = (err + d).slice(-2000)));
    workers.set(id, child);
    exited.push(
      new Promise((res) =>
        child.on('exit', (code, signal) => {
          workers.delete(id);
          if (code === 0) finished++;
          else if (!stopping && Date.now() < deadline) {
            progress.log(`worker ${id} exited (${signal ?? `code ${code}`}); restarting it${err ? `\n${err.trim().split('\n').slice(-3).join('\n')}` : ''}`);
            setTimeout(() => !stopping && start(id), 1000);
          }
          res();
        }),
      ),
    );
  };
  const progress = new Progress();
  for (let i = 0; i < config.workers; i++) start(i);
  const stop = () => {
    if (stopping) return;
    stopping = true;
    if (finished < config.workers) progress.log('stopping: workers drop their children in flight');
    for (const w of workers.values()) w.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const runStart = Date.now();
  const generations = generational ? new GenerationFiles(dir) : undefined;
  /** Children so far: a generational run's are in the store; otherwise the workers' reports count them. */
  const counted = (s: PopulationSummary) => (generations ? s.trained + s.failed : utilization(dir).children);
  const before = counted(await summarizePopulation(store));
  let printed = generations ? generations.stats().length : 0;
  const stagnation = new StagnationLog(dir);
  let eventsShown = stagnation.list().length;
  if (generations) progress.log(STATS_HEADER);
  while (!stopping && Date.now() < deadline && finished < config.workers) {
    await new Promise((r) => setTimeout(r, 2000));
    if (generations) {
      const rows = generations.stats<GenerationStats>();
      for (; printed < rows.length; printed++) progress.log(formatStatsRow(rows[printed]!));
    }
    for (const e of stagnation.list().slice(eventsShown)) {
      progress.log(describeEvent(e));
      eventsShown++;
    }
    const s = await summarizePopulation(store);
    const children = counted(s);
    const perHour = ((children - before) / Math.max(1, Date.now() - runStart)) * 3_600_000;
    const where = generations ? `generation ${generations.latest()}/${config.generations}  ` : '';
    progress.update(
      `${where}alive ${s.alive}  children ${children}  best validation ${s.best ? s.best.fitness!.toFixed(4) : '-'}  ${perHour.toFixed(0)} children/h  ${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left`,
    );
  }
  stop();
  // Workers get 30 s to stop before SIGKILL; the timer must not hold the process open.
  await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 30_000).unref())]);
  for (const w of workers.values()) w.kill('SIGKILL');
  if (generations) {
    const rows = generations.stats<GenerationStats>();
    for (; printed < rows.length; printed++) progress.log(formatStatsRow(rows[printed]!));
  }
  progress.done();
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  const s = await summarizePopulation(store);
  console.log(`stopped: ${utilization(dir).children} children trained, ${s.alive} alive; best validation accuracy ${s.best ? `${s.best.fitness!.toFixed(4)} (${s.best.id})` : '-'}`);
  return 0;
}
