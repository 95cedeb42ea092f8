/**
 * One worker: its own engine, its own random stream (derived from the
 * experiment seed and the worker id), stepping the experiment's algorithm
 * against the shared store until the deadline or a stop signal. A child in
 * flight when it stops is dropped, never half-written: births are atomic.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset } from '../data/dataset.js';
import { createDataset } from '../engine/dataset.js';
import type { EngineDataset } from '../engine/dataset.js';
import { compile } from '../engine/net.js';
import type { Net } from '../engine/net.js';
import { decodeSafetensors, encodeSafetensors } from '../engine/safetensors.js';
import { algorithm } from '../evolution/algorithms.js';
import type { AlgorithmName } from '../evolution/algorithms.js';
import { generationalStep } from '../evolution/generational.js';
import type { GenerationalContext } from '../evolution/generational.js';
import { fit } from '../engine/fit.js';
import { compileStages, validateStagesDNA } from '../spaces/stages/index.js';
import { readConfig } from '../evolution/config.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { mutationsPerChild, resetSinceBirth } from '../evolution/schedule.js';
import type { Schedule } from '../evolution/schedule.js';
import { detectStagnation, StagnationLog, withRemedies } from '../evolution/stagnation.js';
import { selectionFitness } from '../evolution/selection.js';
import type { StepContext, StepOutcome } from '../evolution/types.js';
import { evalFlopsPerBatch, trainFlopsPerStep } from '../net/analyze.js';
import type { IOSpec } from '../net/presets.js';
import { compileDNA, inheritance, mutate, validateDNA } from '../spaces/graph/index.js';
import type { GraphDNA, MutationRecord, MutationWeights } from '../spaces/graph/index.js';
import { ConflictError, FileStore, GenerationFiles, historyKeepers, LeaseClaims, newIndividualId, TimedStore } from '../store/index.js';
import type { Individual, IndividualRecord } from '../store/index.js';
import { createRng } from '../util/rng.js';
import { writeFileAtomic } from '../util/fs.js';

export const RUN_FILE = 'run.json';

/** A generational slot's claim not refreshed for this long belongs to a dead worker (EVONAS_LEASE_MS overrides, for tests). */
const LEASE_MS = Number(process.env.EVONAS_LEASE_MS ?? 60_000);

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
  writeFileAtomic(join(dir, RUN_FILE), JSON.stringify(r, null, 2) + '\n');
}

export interface WorkerOptions {
  dir: string;
  id: number;
  signal?: AbortSignal;
  onStep?: (outcome: StepOutcome) => void;
}

interface Loaded {
  config: ExperimentConfig;
  io: IOSpec;
  train: EngineDataset;
  validation: EngineDataset;
}

function load(dir: string): Loaded {
  const config = readConfig(dir);
  const data = openDataset(config.data);
  const m = data.manifest;
  const t = data.train();
  const v = data.validation();
  return {
    config,
    io: { ...m.shape, classes: m.classes.length },
    train: createDataset({ images: t.images, labels: t.labels, height: t.height, width: t.width, channels: t.channels }),
    validation: createDataset({ images: v.images, labels: v.labels, height: v.height, width: v.width, channels: v.channels, ...m.stats }),
  };
}

/** Runs one worker until the deadline or the signal. @returns how many steps of each kind it took. */
export async function runWorker(o: WorkerOptions): Promise<Record<string, number>> {
  const { config, io, train, validation } = load(o.dir);
  const store = new TimedStore(new FileStore(o.dir));
  const leases = new LeaseClaims(join(o.dir, 'leases'));
  const name = `w${o.id}-${process.pid}`;
  const wallStart = Date.now();
  const totals = { train: 0, evaluate: 0, children: 0 };
  mkdirSync(join(o.dir, 'workers'), { recursive: true });
  /** This worker's time split, for status and the store benchmark. */
  const report = () =>
    writeFileAtomic(
      join(o.dir, 'workers', `${name}.json`),
      JSON.stringify({ worker: name, startedAt: new Date(wallStart).toISOString(), wall: (Date.now() - wallStart) / 1000, ...totals, store: store.seconds }) + '\n',
    );
  // The experiment's seed and the worker's number alone: a run repeats (the process id would not).
  const rng = createRng(config.seed).fork(`worker-${o.id}`);
  const run = readRun(o.dir);
  const started = Date.parse(run.startedAt);
  let idleSince = Date.now();
  // The configured schedule plus the remedies of any stagnation events (re-read every few seconds).
  const stagnation = new StagnationLog(o.dir);
  let events = { list: stagnation.list(), read: Date.now() };
  const schedule = (): Schedule => {
    if (Date.now() - events.read > 2000) events = { list: stagnation.list(), read: Date.now() };
    return withRemedies(config.schedule, events.list);
  };
  /** Records a stagnation event when the policy says so (whichever worker sees it first). */
  const watchStagnation = (all: Individual[]) => {
    if (!config.stagnation) return;
    const now = (Date.now() - started) / 1000;
    const list = stagnation.list();
    const e = detectStagnation(config.stagnation, all, started, now, list);
    if (e) stagnation.record(e); // false: another worker recorded it first
    events = { list: stagnation.list(), read: Date.now() };
  };

  /**
   * Evaluates a child trained since `t0` (when training went well) and stores
   * it as a new individual with `fields` (parentage, mutations, generation).
   */
  const storeChild = async (
    net: Net,
    dna: unknown,
    r: { ok: boolean; failure?: string; steps: number },
    t: { t0: number; idle: number; store: number; stepsBefore: number },
    fields: Pick<IndividualRecord, 'parent' | 'mutations'> & Partial<IndividualRecord>,
  ): Promise<void> => {
    const t1 = Date.now();
    const evaluation = r.ok ? await net.evaluate(validation) : undefined;
    const t2 = Date.now();
    totals.train += (t1 - t.t0) / 1000;
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
      stepsTrained: t.stepsBefore + r.steps,
      trainFlops: trainFlopsPerStep(net.analysis, config.batchSize) * r.steps,
      validationFlops: r.ok ? evalFlopsPerBatch(net.analysis, validation.count) : 0,
      // store: reading the parent's weights (the child's own write cannot time itself)
      timing: { train: (t1 - t.t0) / 1000, evaluate: (t2 - t1) / 1000, store: t.store, idle: t.idle },
      hasWeights: r.ok,
    };
    await store.put(record, r.ok ? encodeSafetensors(net.weights(), { dna: JSON.stringify(dna) }) : undefined);
    totals.children++;
  };

  /** Trains `dna` (from `weights` when given) and stores the result as a new individual. @returns false when stopped first (nothing stored). */
  const breed = async (dna: GraphDNA, parent: Individual, records: unknown[], weights: Uint8Array | undefined, steps0: number, storeSeconds: number): Promise<boolean> => {
    const t0 = Date.now();
    const idle = (t0 - idleSince) / 1000;
    const ir = compileDNA(dna, io);
    const net = compile(ir, { threads: config.threadsPerWorker, precision: config.precision, seed: rng.int(2 ** 31) });
    try {
      if (weights) net.setWeights(decodeSafetensors(weights, `weights of ${parent.id}`).tensors);
      const r = await net.train({
        data: train,
        steps: config.stepsPerChild,
        batchSize: config.batchSize,
        learningRate: dna.learningRate,
        momentum: config.momentum,
        weightDecay: config.weightDecay,
        seed: rng.int(2 ** 31),
        signal: o.signal,
      });
      if (r.cancelled) return false; // stopping: the child is dropped
      await storeChild(net, dna, r, { t0, idle, store: storeSeconds, stepsBefore: steps0 }, { parent: parent.id, mutations: records });
      return true;
    } finally {
      net.dispose();
      idleSince = Date.now();
    }
  };

  /** Large-Scale Evolution's space: one algorithm step over the graph DNA. */
  const graphStep = (): (() => Promise<StepOutcome>) => {
    const alg = algorithm(config.algorithm as AlgorithmName, { sampleSize: config.sampleSize });
    const ctx: StepContext = {
      store,
      rng,
      populationSize: config.population,
      worker: name,
      async reproduce(parent) {
        const elapsed = (Date.now() - started) / 1000;
        const { dna, records } = mutate(validateDNA(parent.dna), rng, {
          k: mutationsPerChild(schedule(), elapsed),
          weights: Object.keys(config.mutationWeights).length ? (config.mutationWeights as MutationWeights) : undefined,
        });
        let inherit = config.inheritance ? inheritance(records) : 'none';
        // A step in flight across a reset: the child starts from scratch too.
        if (resetSinceBirth(schedule(), (Date.parse(parent.bornAt) - started) / 1000, elapsed)) inherit = 'none';
        // Take what the child needs before anything else: the parent may die and be collected meanwhile.
        const t = Date.now();
        const weights = inherit !== 'none' && parent.hasWeights ? await store.readWeights(parent.id) : undefined;
        await breed(dna, parent, records, weights, weights ? parent.stepsTrained : 0, (Date.now() - t) / 1000);
      },
      // An initial individual, or one alive at a weight reset, is trained from
      // scratch by exactly one worker (a lease on its id); it retires only once
      // its trained copy is stored, so a stopped worker loses nothing.
      async trainInitial(individual) {
        const key = `train-${individual.id}`;
        if (!leases.claim(key, name, LEASE_MS)) throw new ConflictError(`${individual.id} is being trained by another worker`);
        const beat = setInterval(() => leases.heartbeat(key), LEASE_MS / 8);
        try {
          const reason: Record<string, number> = individual.fitness === null ? { initialTraining: 1 } : { weightReset: 1 };
          const initial: MutationRecord[] = [{ type: 'identity', targets: [], detail: reason, inherit: 'none' }];
          if (!(await breed(validateDNA(individual.dna), individual, initial, undefined, 0, 0))) return leases.release(key, name);
          leases.done(key);
          await store.kill(individual.id, name);
        } catch (e) {
          leases.release(key, name);
          throw e;
        } finally {
          clearInterval(beat);
        }
      },
      // Alive at the latest weight reset: its fitness belongs to weights that are gone.
      stale(individual) {
        const elapsed = (Date.now() - started) / 1000;
        const resets = (schedule().weightResets ?? []).filter((r) => r <= elapsed);
        return resets.length > 0 && Date.parse(individual.bornAt) < started + 1000 * Math.max(...resets);
      },
    };
    return () => alg.step(ctx);
  };

  /** Genetic CNN's space: claim a slot of the current generation and train it from scratch. */
  const stagesStep = (): (() => Promise<StepOutcome>) => {
    const files = new GenerationFiles(o.dir);
    const steps = config.epochs ? Math.ceil((config.epochs * train.count) / config.batchSize) : config.stepsPerChild;
    const ctx: GenerationalContext = {
      store,
      files,
      worker: name,
      rng,
      leaseMs: LEASE_MS,
      settings: { algorithm: config.algorithm as 'generational' | 'random', population: config.population, generations: config.generations, nodes: config.stages.nodes, seed: config.seed, genetic: config.genetic },
      async evaluate(generation, slot, p) {
        const t0 = Date.now();
        const idle = (t0 - idleSince) / 1000;
        const dna = validateStagesDNA(p.dna);
        const net = compile(compileStages(dna, io, config.stages), { threads: config.threadsPerWorker, precision: config.precision, seed: rng.int(2 ** 31) });
        const beat = setInterval(() => files.heartbeat(generation, slot), LEASE_MS / 8);
        try {
          const r = await fit(net, {
            data: train,
            steps,
            batchSize: config.batchSize,
            learningRate: config.learningRate,
            schedule: 'stepped',
            momentum: config.momentum,
            weightDecay: config.weightDecay,
            seed: rng.int(2 ** 31),
            signal: o.signal,
          });
          if (r.cancelled) throw new DOMException('stopping', 'AbortError'); // the slot is given back
          await storeChild(net, dna, r, { t0, idle, store: 0, stepsBefore: 0 }, { parent: p.parents[0] ?? null, parents: p.parents, generation, slot, mutations: p.operations });
        } finally {
          clearInterval(beat);
          net.dispose();
          idleSince = Date.now();
        }
      },
    };
    return () => generationalStep(ctx);
  };
  const step = config.space === 'stages' ? stagesStep() : graphStep();

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
        else if (e instanceof DOMException && e.name === 'AbortError') break; // the platform's abort, by its standard name
        else throw e;
      }
      if (outcome === 'done') break;
      counts[outcome] = (counts[outcome] ?? 0) + 1;
      o.onStep?.(outcome);
      if (outcome === 'idle') await new Promise((r) => setTimeout(r, 200));
      if (config.stagnation && Date.now() - lastWatch > Math.min(10_000, (config.stagnation.window * 1000) / 4)) {
        lastWatch = Date.now();
        watchStagnation(await store.list());
      }
      if (counts[outcome]! % 20 === 0) {
        // The report needs the weights of every best-so-far and of the top individuals.
        const all = await store.list();
        await store.collectGarbage(10 * 60_000, historyKeepers(all, 10, selectionFitness(all)));
        report();
      }
    }
  } finally {
    report();
    train.dispose();
    validation.dispose();
  }
  return counts;
}
