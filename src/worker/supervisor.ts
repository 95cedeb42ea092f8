/**
 * The supervisor: runs an experiment's workers as child processes, restarts
 * any that die, reports progress, and stops them at the deadline, at a child
 * budget, when a generational run's last generation is complete, or when
 * asked (children in flight are dropped, never half-written). `evonas
 * evolve` is this plus flags and printing.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { loadConfig, saveConfig, validateConfig } from '../evolution/config.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { formatStatsRow, STATS_HEADER } from '../evolution/generational.js';
import type { GenerationStats } from '../evolution/generational.js';
import { describeEvent, StagnationLog } from '../evolution/stagnation.js';
import { settingsOf, spaceOf, tableOf } from '../spaces/index.js';
import { createRng } from '../util/rng.js';
import { GenerationLedger, newRecord } from '../store/index.js';
import { childLocation, withHome } from '../store/home.js';
import type { ExperimentHome } from '../store/home.js';
import type { PopulationStore } from '../store/index.js';
import { EvonasError } from '../util/errors.js';
import { simulate } from './simulate.js';
import { summarize, summarizePopulation } from '../store/summary.js';
import type { PopulationSummary } from '../store/summary.js';
import { readRun, RUN_FILE, writeRun } from '../store/run-state.js';
import type { RunState } from '../store/run-state.js';
import { utilization, workerReports } from '../store/worker-reports.js';
import { hostname } from 'node:os';
import type { Individual } from '../store/index.js';

import { EVONAS } from '../util/command.js';

/** Seeds a population in `store` (steady-state spaces; a generational space's workers make generation 0). */
export async function seedStore(store: PopulationStore, config: ExperimentConfig): Promise<void> {
  for (const dna of spaceOf(config.space).initialPopulation(config.population, createRng(config.seed).fork('initial-population'), settingsOf(config.space, config)))
    await store.put(newRecord({ worker: 'evolve', space: config.space, dna }));
}

/** Seeds a new experiment's population at `location` (a folder or a postgresql:// URL). */
export async function seedPopulation(location: string, config: ExperimentConfig): Promise<void> {
  await withHome(location, (home) => seedStore(home.store, config));
}

const hoursOf = (seconds: number) => `${(seconds / 3600).toFixed(2)} h`;

/**
 * A table-driven run (evaluator table): its simulated workers in this
 * process over the experiment's store, on the simulated clock (see
 * simulate.ts). It takes seconds and is made in one go: one stopped part
 * way is started again, not resumed.
 */
async function superviseTable(home: ExperimentHome, config: ExperimentConfig, o: SuperviseOptions): Promise<SuperviseResult> {
  const run = await readRun(home.docs, home.name);
  const startedAt = Date.parse(run.startedAt);
  const { store } = home;
  if ((await store.list()).some((i) => i.parent !== null))
    throw new EvonasError('ERR_RUN', `${home.name}: a table-driven run is simulated in one go and is not resumed; start a new one (it takes seconds, and repeats with its seed)`);
  const budget = { seconds: (Date.parse(run.deadline) - startedAt) / 1000, ...(run.maxChildren ? { evaluations: run.maxChildren } : {}) };
  const r = await simulate({
    config,
    table: tableOf(config),
    store,
    startedAt,
    budget,
    ...(o.signal ? { signal: o.signal } : {}),
    onProgress: (p) =>
      o.onProgress?.(
        `simulated ${hoursOf(p.seconds)}  evaluations ${p.evaluations}${budget.evaluations ? `/${budget.evaluations}` : ''}  best validation ${p.bestValidation === null ? '-' : p.bestValidation.toFixed(4)}`,
      ),
  });
  // One report for all simulated workers: their wall time is this process's, and none of it trained.
  await home.docs.write('workers/simulated.json', {
    worker: `${config.workers} simulated`,
    wall: r.wallSeconds,
    train: 0,
    evaluate: 0,
    children: r.evaluations,
    store: r.storeSeconds,
    simulatedSeconds: r.seconds,
    steps: r.steps,
  });
  const all = await store.list();
  if (o.onIndividual) for (const i of all) if (i.fitness !== null) o.onIndividual(i);
  o.onLog?.(
    `simulated ${hoursOf(r.seconds)} with ${config.workers} workers: ${r.evaluations} evaluations in ${r.wallSeconds.toFixed(1)} s of wall time (${((100 * r.storeSeconds) / Math.max(r.wallSeconds, 1e-9)).toFixed(0)}% in the store)`,
  );
  const s = summarize(all);
  return { children: r.evaluations, alive: s.alive, ...(s.best ? { best: s.best } : {}) };
}

/**
 * Sets the run's limits from now: a deadline `budgetMs` away and, optionally,
 * a child budget. A resumed run keeps its start (schedules count from it).
 */
export async function startRun(location: string, budgetMs: number, maxChildren?: number): Promise<RunState> {
  return withHome(location, (home) => startRunAt(home, budgetMs, maxChildren));
}

async function startRunAt(home: ExperimentHome, budgetMs: number, maxChildren?: number): Promise<RunState> {
  const startedAt = (await home.docs.read<RunState>(RUN_FILE))?.startedAt ?? new Date().toISOString();
  const now = new Date().toISOString();
  const r: RunState = { startedAt, budgetFrom: now, deadline: new Date(Date.now() + budgetMs).toISOString(), ...(maxChildren ? { maxChildren } : {}) };
  await writeRun(home.docs, r);
  return r;
}

export interface SuperviseOptions {
  /** Stops the workers early (Ctrl-C). */
  signal?: AbortSignal;
  /** A one-line state, every 2 seconds: alive, children, best, rate, time left. */
  onProgress?: (line: string) => void;
  /** Lines worth keeping: a restarted worker, a stagnation event, a generation's statistics, the stop. */
  onLog?: (line: string) => void;
  /** Each individual once, soon after it is evaluated (checked every 2 seconds, and once more at the end). */
  onIndividual?: (individual: Individual) => void;
}

export interface SuperviseResult {
  /** Children the workers trained (their reports; a generational run's from the store). */
  children: number;
  alive: number;
  best?: Individual;
}

/** The worker processes of one experiment: started, restarted when one dies before the deadline, stopped on request. */
class WorkerPool {
  stopping = false;
  /** Workers that ended on their own (a generational run's last generation is complete, or the child budget is met). */
  finished = 0;
  private readonly workers = new Map<number, ChildProcess>();
  private readonly exited: Promise<void>[] = [];

  constructor(
    private readonly home: ExperimentHome,
    private readonly size: number,
    private readonly deadline: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts worker `id`; a restart (`takeover`) takes its number over from the one seen dying. */
  start(id: number, takeover = false): void {
    const { location, env } = childLocation(this.home);
    const child = spawn(process.execPath, [EVONAS, 'worker', location, '--id', String(id), ...(takeover ? ['--takeover'] : [])], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr!.on('data', (d) => {
      err = (err + d).slice(-2000);
    });
    this.workers.set(id, child);
    this.exited.push(
      new Promise((res) =>
        child.on('exit', (code, signal) => {
          this.workers.delete(id);
          if (code === 0) this.finished++;
          else if (!this.stopping && Date.now() < this.deadline) {
            this.log(`worker ${id} exited (${signal ?? `code ${code}`}); restarting it${err ? `\n${err.trim().split('\n').slice(-3).join('\n')}` : ''}`);
            setTimeout(() => !this.stopping && this.start(id, true), 1000);
          }
          // A worker that died could not say so: its report would look alive until its heartbeat went stale.
          const buried = code === 0 ? Promise.resolve() : this.bury(child.pid, signal ?? `code ${code}`).catch(() => {});
          buried.then(() => res());
        }),
      ),
    );
  }

  /** Marks the report of the worker process `pid` (of this host) stopped, with how it died. */
  private async bury(pid: number | undefined, died: string): Promise<void> {
    const host = hostname();
    for (const w of await workerReports(this.home.docs)) {
      if (w.pid !== pid || (w.host ?? host) !== host || w.stopped) continue;
      const { training: _, ...rest } = w;
      await this.home.docs.write(`workers/${w.worker}.json`, { ...rest, stopped: true, died });
    }
  }

  /** Whether the workers should go on: not stopping, before the deadline, and some not finished. */
  get running(): boolean {
    return !this.stopping && Date.now() < this.deadline && this.finished < this.size;
  }

  /** Asks every worker to stop (SIGTERM: they drop their children in flight). */
  readonly stop = (): void => {
    if (this.stopping) return;
    this.stopping = true;
    if (this.finished < this.size) this.log('stopping: workers drop their children in flight');
    for (const w of this.workers.values()) w.kill('SIGTERM');
  };

  /** Waits up to 30 s for the workers to stop, then kills what is left; the timer does not hold the process open. */
  async drain(): Promise<void> {
    await Promise.race([Promise.all(this.exited), new Promise((r) => setTimeout(r, 30_000).unref())]);
    for (const w of this.workers.values()) w.kill('SIGKILL');
  }
}

/** What the supervisor shows as a run goes: generation statistics, stagnation events, new individuals, the progress line. */
async function observer(home: ExperimentHome, config: ExperimentConfig, deadline: number, o: SuperviseOptions) {
  const log = o.onLog ?? (() => {});
  const runStart = Date.now();
  const generations = spaceOf(config.space).breeding !== undefined ? new GenerationLedger(home.docs, home.leases) : undefined;
  /** Children so far: a generational run's are in the store; otherwise the workers' reports count them. */
  const counted = async (s: PopulationSummary) => (generations ? s.trained + s.failed : (await utilization(home.docs)).children);
  const before = await counted(await summarizePopulation(home.store));
  let printed = generations ? (await generations.stats()).length : 0;
  const stagnation = new StagnationLog(home.docs);
  let eventsShown = (await stagnation.list()).length;
  const seen = new Set<string>();
  if (generations) log(STATS_HEADER);
  return {
    /** New lines of the generation table, and each individual not announced yet. */
    async flush(all: Individual[]): Promise<void> {
      if (generations) {
        const rows = await generations.stats<GenerationStats>();
        for (; printed < rows.length; printed++) log(formatStatsRow(rows[printed]!));
      }
      for (const i of all) {
        if (i.fitness === null || seen.has(i.id) || !o.onIndividual) continue;
        seen.add(i.id);
        o.onIndividual(i);
      }
    },
    /** Every 2 seconds: the above, new stagnation events and the progress line. */
    async tick(all: Individual[]): Promise<void> {
      await this.flush(all);
      for (const e of (await stagnation.list()).slice(eventsShown)) {
        log(describeEvent(e));
        eventsShown++;
      }
      const s = summarize(all);
      const children = await counted(s);
      const perHour = ((children - before) / Math.max(1, Date.now() - runStart)) * 3_600_000;
      const where = generations ? `generation ${await generations.latest()}/${spaceOf(config.space).breeding!.generations(settingsOf(config.space, config))}  ` : '';
      o.onProgress?.(
        `${where}alive ${s.alive}  children ${children}  best validation ${s.best ? s.best.fitness!.toFixed(4) : '-'}  ${perHour.toFixed(0)} children/h  ${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left`,
      );
    },
  };
}

/** Runs `config.workers` workers on the experiment at `location` (a folder or a postgresql:// URL) until its run's deadline (startRun sets it), then stops them. */
export async function supervise(location: string, o: SuperviseOptions = {}): Promise<SuperviseResult> {
  return withHome(location, (home) => superviseAt(home, o));
}

async function superviseAt(home: ExperimentHome, o: SuperviseOptions): Promise<SuperviseResult> {
  const config = await loadConfig(home);
  if (config.evaluator === 'table') return superviseTable(home, config, o);
  const deadline = Date.parse((await readRun(home.docs, home.name)).deadline);
  const { store } = home;
  const pool = new WorkerPool(home, config.workers, deadline, o.onLog ?? (() => {}));
  for (let i = 0; i < config.workers; i++) pool.start(i);
  o.signal?.addEventListener('abort', pool.stop, { once: true });
  if (o.signal?.aborted) pool.stop();
  let final: Individual[] = [];
  try {
    const watch = await observer(home, config, deadline, o);
    while (pool.running) {
      await new Promise((r) => setTimeout(r, 2000));
      await watch.tick(await store.list()); // one listing per tick serves the callback and the progress line
    }
    pool.stop();
    await pool.drain();
    final = await store.list();
    await watch.flush(final);
  } catch (e) {
    pool.stop(); // never leave workers running behind a failed supervisor
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', pool.stop);
  }
  const s = summarize(final);
  return { children: (await utilization(home.docs)).children, alive: s.alive, ...(s.best ? { best: s.best } : {}) };
}

export interface EvolveOptions extends SuperviseOptions {
  /** A new experiment's settings (validated; `data` required); omit to resume the one in `dir`. */
  config?: unknown;
  /** Wall-clock budget from now, in milliseconds. */
  budgetMs: number;
  /** Also stop once the store holds this many children. */
  maxChildren?: number;
}

/**
 * Starts an evolution at `location` (a folder or a postgresql:// URL) with
 * `config`, or resumes the one there,
 * runs its workers for `budgetMs` and returns what they made: the library
 * form of `evonas evolve`.
 * @throws {ConfigError} naming the field when `config` is invalid; nothing is written then.
 */
export async function evolve(location: string, o: EvolveOptions): Promise<SuperviseResult> {
  const config = o.config === undefined ? undefined : validateConfig(o.config);
  return withHome(location, async (home) => {
    if (config) {
      await saveConfig(home, config);
      await seedStore(home.store, config);
    } else {
      await loadConfig(home); // a clear error when there is no experiment
    }
    await startRunAt(home, o.budgetMs, o.maxChildren);
    return superviseAt(home, o);
  });
}
