/**
 * What every worker driver shares: the experiment, its data in native
 * memory, the store, leases, the worker's random stream, the schedule with
 * any stagnation remedies, and storing a trained child. A driver (one per
 * kind of space: steady-state or generational) decides what to train next.
 */
import { workerDevice } from '../engine/devices.js';
import { loadNative } from '../engine/native.js';
import { cpus, hostname } from 'node:os';
import { engineDataset, openDataset } from '../data/dataset.js';
import { createDataset } from '../engine/dataset.js';
import type { EngineDataset } from '../engine/dataset.js';
import { compile } from '../engine/net.js';
import type { Net } from '../engine/net.js';
import { settingsOf, spaceOf } from '../spaces/index.js';
import type { SearchSpace } from '../spaces/index.js';
import { encodeSafetensors } from '../engine/safetensors.js';
import { dataOf, loadConfig } from '../evolution/config.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { resetSinceBirth } from '../evolution/schedule.js';
import type { Schedule } from '../evolution/schedule.js';
import { detectStagnation, StagnationLog, withRemedies } from '../evolution/stagnation.js';
import { evalFlopsPerBatch, trainFlopsPerStep } from '../net/analyze.js';
import type { IOSpec } from '../net/presets.js';
import { newIndividualId, TimedStore, weightsSince } from '../store/index.js';
import type { Individual, IndividualRecord, Leases } from '../store/index.js';
import { createRng } from '../util/rng.js';
import type { Rng } from '../util/rng.js';
import type { ExperimentHome } from '../store/home.js';
import { readRun } from '../store/run-state.js';
import { isLive, workerReports } from '../store/worker-reports.js';
import type { WorkerReport } from '../store/worker-reports.js';

/**
 * Worker `id`'s random stream: the experiment's seed and its number, and for
 * its k-th start after the first (a restart after a crash, a resumed run) a
 * fork of that, so no start replays another's draws.
 */
export function workerStream(seed: number, id: number, incarnation = 0): Rng {
  const s = createRng(seed).fork(`worker-${id}`);
  return incarnation ? s.fork(`start-${incarnation}`) : s;
}

/** A claim not refreshed for this long belongs to a dead worker (EVONAS_LEASE_MS overrides, for tests). */
export const LEASE_MS = Number(process.env.EVONAS_LEASE_MS ?? 60_000);

/** What every child's training shares: the worker's training data, the experiment's batch and SGD settings, a seed from the worker's stream, and its stop signal. */
export interface SharedFit {
  data: EngineDataset;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  signal?: AbortSignal;
}

/**
 * Keeps a claim fresh while its work runs: `refresh` every LEASE_MS / 8 (a
 * missed beat is retried by the next). @returns the function that stops it.
 */
export function keepFresh(refresh: () => Promise<void>): () => void {
  const beat = setInterval(() => refresh().catch(() => {}), LEASE_MS / 8);
  return () => clearInterval(beat);
}

export interface WorkerKit {
  home: ExperimentHome;
  config: ExperimentConfig;
  /** The experiment's space, and its settings there. */
  space: SearchSpace;
  settings: unknown;
  io: IOSpec;
  train: EngineDataset;
  validation: EngineDataset;
  store: TimedStore;
  leases: Leases;
  /** `w<id>-<pid>` (`w<id>r<k>-<pid>` for its k-th restart): the worker's name in records, reports and claims. */
  name: string;
  /** Where this worker trains (cpu, or its GPU: see workerDevice). */
  device: string;
  rng: Rng;
  /** When the experiment started (ms since the epoch): schedules count from it. */
  started: number;
  signal?: AbortSignal;
  /** The schedule now: the configured one plus the remedies of any stagnation events (as last read: see refresh). */
  schedule(): Schedule;
  /** Reads the stagnation events afresh, so that a step sees every remedy recorded before it began. */
  refresh(): Promise<void>;
  /**
   * Whether an individual's weights and fitness predate a weight reset
   * (stagnation's or the schedule's): its weights' training began before the
   * latest reset, so it must be trained again from scratch before it competes.
   */
  stale(individual: Individual): boolean;
  /**
   * Marks a child's start and says so in the worker's report (a reproduction
   * is counted by the other workers' set-point, see inFlight). @returns the
   * seconds the worker was idle before it.
   */
  beginChild(kind: 'child' | 'retrain'): Promise<number>;
  /** Marks a child's end (stored, dropped or failed). */
  endChild(): void;
  /** Children the other live workers are training now (their reports), which will join the population. */
  inFlight(): Promise<number>;
  /**
   * Evaluates a child trained since `t.t0` (when training went well) and
   * stores it as a new individual with `fields` (parentage, mutations, generation).
   */
  storeChild(
    net: Net,
    dna: unknown,
    r: { ok: boolean; failure?: string; steps: number },
    t: { t0: number; idle: number; store: number; stepsBefore: number },
    fields: Pick<IndividualRecord, 'parent' | 'mutations'> & Partial<IndividualRecord>,
  ): Promise<void>;
  /**
   * The one way a driver trains a child: marks it begun (`kind`), compiles
   * `dna` for this worker (its threads, precision, device, a seed from its
   * stream), runs `body` with the net, the options every child's training
   * shares and the child's clock, and disposes the net and marks the child
   * ended however `body` ends.
   */
  trainChild<T>(dna: unknown, kind: 'child' | 'retrain', body: (net: Net, shared: SharedFit, t: { t0: number; idle: number }) => Promise<T>): Promise<T>;
  /** Records a stagnation event when the experiment's policy says so (whichever worker sees it first). */
  watchStagnation(all: Individual[]): Promise<void>;
  /** Writes this worker's time split and heartbeat (for status and the store benchmark); `stopped` on its last. */
  report(stopped?: boolean): Promise<void>;
  dispose(): void;
}

/**
 * One worker's kit. Longer than most functions on purpose: it is a closure
 * whose methods share the worker's open engine dataset, timers and rng, and
 * each method is short.
 */
export async function makeKit(home: ExperimentHome, id: number, o: { signal?: AbortSignal; data?: string; incarnation?: number } = {}): Promise<WorkerKit> {
  const { signal } = o;
  const config = await loadConfig(home);
  const space = spaceOf(config.space);
  const data = openDataset(o.data ?? dataOf(config));
  const m = data.manifest;
  const train = engineDataset(data.train());
  const validation = engineDataset(data.validation(), m.stats);
  // Latency is measured only where the search names it: one blank image at batch 1, on the worker's threads.
  const wantsLatency = config.objectives.includes('latency') || config.constraints.latency !== undefined;
  const one = wantsLatency ? createDataset({ images: new Uint8Array(m.shape.height * m.shape.width * m.shape.channels), labels: [0], ...m.shape, mean: m.stats.mean, std: m.stats.std }) : undefined;
  const latencyOn = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${config.threadsPerWorker} thread${config.threadsPerWorker === 1 ? '' : 's'}${config.device === 'cpu' ? '' : `, ${config.device}`}`;
  const store = new TimedStore(home.store);
  const incarnation = o.incarnation ?? 0;
  const name = `w${id}${incarnation ? `r${incarnation}` : ''}-${process.pid}`;
  const wallStart = Date.now();
  const totals = { train: 0, evaluate: 0, children: 0 };
  const started = Date.parse((await readRun(home.docs, home.name)).startedAt);
  let idleSince = Date.now();
  const stagnation = new StagnationLog(home.docs);
  let events = { list: await stagnation.list(), read: Date.now() };
  let refreshing = false;
  /** What this worker is training now, for its report: a reproduction counts toward the set-point, a retraining replaces its original. */
  let training: 'child' | 'retrain' | undefined;
  const reported = { chain: Promise.resolve(), last: false };
  const job = process.env.SLURM_ARRAY_JOB_ID ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}` : process.env.SLURM_JOB_ID;
  const kit: WorkerKit = {
    home,
    config,
    space,
    settings: settingsOf(config.space, config),
    io: { ...m.shape, classes: m.classes.length },
    train,
    validation,
    store,
    leases: home.leases,
    name,
    device: config.device === 'cpu' ? 'cpu' : workerDevice(config.device, id, config.workersPerGpu, loadNative().info().cudaDevices),
    // The experiment's seed and the worker's number (and restart) alone: a run repeats (the process id would not),
    // and a restarted worker or a resumed run does not replay the stream its number had before.
    rng: workerStream(config.seed, id, incarnation),
    started,
    ...(signal ? { signal } : {}),
    schedule() {
      // Events are re-read in the background every 2 s; a step uses what was read last.
      if (Date.now() - events.read > 2000 && !refreshing) {
        refreshing = true;
        stagnation
          .list()
          .then((list) => {
            events = { list, read: Date.now() };
          })
          .catch(() => {}) // the store retries on its own; the next call tries again
          .finally(() => {
            refreshing = false;
          });
      }
      return withRemedies(config.schedule, events.list);
    },
    async refresh() {
      if (!config.stagnation) return; // only a stagnation policy adds events
      events = { list: await stagnation.list(), read: Date.now() };
    },
    stale(individual) {
      return resetSinceBirth(kit.schedule(), (Date.parse(weightsSince(individual)) - started) / 1000, (Date.now() - started) / 1000);
    },
    async beginChild(kind) {
      const idle = (Date.now() - idleSince) / 1000;
      training = kind;
      await kit.report().catch(() => {}); // a missed write is repeated by the next report
      return idle;
    },
    endChild() {
      idleSince = Date.now();
      training = undefined;
    },
    async inFlight() {
      return (await workerReports(home.docs)).filter((w) => w.worker !== name && w.training === 'child' && isLive(w)).length;
    },
    async trainChild(dna, kind, body) {
      const t0 = Date.now();
      const idle = await kit.beginChild(kind);
      try {
        const net = compile(space.compile(dna, kit.io, kit.settings), { threads: config.threadsPerWorker, precision: config.precision, seed: kit.rng.int(2 ** 31), device: kit.device });
        try {
          // The seed is drawn after the compile's: the worker's stream is used in the same order by every driver.
          const shared: SharedFit = { data: train, batchSize: config.batchSize, momentum: config.momentum, weightDecay: config.weightDecay, seed: kit.rng.int(2 ** 31), ...(signal ? { signal } : {}) };
          return await body(net, shared, { t0, idle });
        } finally {
          net.dispose();
        }
      } finally {
        kit.endChild();
      }
    },
    async storeChild(net, dna, r, tm, fields) {
      const t1 = Date.now();
      const evaluation = r.ok ? await net.evaluate(validation) : undefined;
      const latency = r.ok && one ? await net.latency(one) : undefined;
      const t2 = Date.now();
      totals.train += (t1 - tm.t0) / 1000;
      totals.evaluate += (t2 - t1) / 1000;
      const record: IndividualRecord = {
        ...fields,
        id: newIndividualId(),
        worker: name,
        bornAt: new Date().toISOString(),
        space: config.space,
        dna,
        fitness: evaluation ? evaluation.accuracy : null,
        ...(r.ok ? {} : { failure: r.failure }),
        stepsTrained: tm.stepsBefore + r.steps,
        trainFlops: trainFlopsPerStep(net.analysis, config.batchSize) * r.steps,
        validationFlops: r.ok ? evalFlopsPerBatch(net.analysis, validation.count) : 0,
        costs: { parameters: net.analysis.params, flops: net.analysis.forwardFlops, ...(latency !== undefined ? { latency, latencyOn } : {}) },
        // store: reading the parent's weights (the child's own write cannot time itself)
        timing: { train: (t1 - tm.t0) / 1000, evaluate: (t2 - t1) / 1000, store: tm.store, idle: tm.idle },
        hasWeights: r.ok,
      };
      await store.put(record, r.ok ? encodeSafetensors(net.weights(), { dna: JSON.stringify(dna) }) : undefined);
      totals.children++;
    },
    async watchStagnation(all) {
      if (!config.stagnation) return;
      const list = await stagnation.list();
      const e = detectStagnation(config.stagnation, all, started, (Date.now() - started) / 1000, list);
      if (e) await stagnation.record(e); // false: another worker recorded it first
      events = { list: await stagnation.list(), read: Date.now() };
    },
    report(stopped = false) {
      // One write at a time, in call order: a heartbeat in flight must not land after the last report and hide
      // that the worker stopped (a database's writes on two connections finish in any order). None after the last.
      if (reported.last) return reported.chain;
      reported.last = stopped;
      const r: WorkerReport = {
        worker: name,
        host: hostname(),
        pid: process.pid,
        ...(job ? { job } : {}),
        startedAt: new Date(wallStart).toISOString(),
        at: new Date().toISOString(),
        wall: (Date.now() - wallStart) / 1000,
        ...totals,
        store: store.seconds,
        ...(training && !stopped ? { training } : {}),
        ...(stopped ? { stopped: true } : {}),
      };
      reported.chain = reported.chain.catch(() => {}).then(() => home.docs.write(`workers/${name}.json`, r));
      return reported.chain;
    },
    dispose() {
      train.dispose();
      validation.dispose();
      one?.dispose();
    },
  };
  return kit;
}
