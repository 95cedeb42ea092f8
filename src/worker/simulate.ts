/**
 * A search evaluated by a tabular benchmark (evaluator "table"): simulated
 * workers step the experiment's algorithm over a real store, and "training"
 * a child is looking up its recorded validation accuracy. Nothing measures
 * time here, so time is simulated: each evaluation occupies its worker for
 * a cost in seconds (evaluationSeconds), the child is born when that time
 * has passed, and budgets, birth times and the report run on that clock.
 *
 * The workers are simulated as discrete events: the worker that is free
 * earliest acts next (ties in the order they became free), so a step sees
 * exactly the children born before it, whatever the host's speed. That is
 * asynchronous evolution as 250 real workers would run it (a parent chosen
 * while other children are still in training, a victim killed at once, a
 * child that appears later), and a seeded run repeats exactly, which real
 * concurrency would not give.
 */
import type { ExperimentConfig } from '../evolution/config.js';
import { algorithm } from '../evolution/algorithms.js';
import { mutationsPerChild } from '../evolution/schedule.js';
import type { AlgorithmName } from '../evolution/algorithms.js';
import type { StepContext, StepOutcome } from '../evolution/types.js';
import { analyze } from '../net/analyze.js';
import { compileIndividual, settingsOf, spaceOf } from '../spaces/index.js';
import type { LookupTable } from '../spaces/index.js';
import { ConflictError, TimedStore } from '../store/index.js';
import type { IndividualRecord, PopulationStore } from '../store/index.js';
import { EvonasError } from '../util/errors.js';
import { createRng } from '../util/rng.js';
import type { Rng } from '../util/rng.js';

/**
 * The simulated accelerator: a sustained 1e12 FLOP/s (one 2020 GPU running
 * NAS-Bench-201's small networks, whose training took minutes per cell).
 */
export const SIMULATED_FLOPS_PER_SECOND = 1e12;

/** What one looked-up evaluation costs on the simulated clock. */
export interface EvaluationCost {
  seconds: number;
  trainFlops: number;
  validationFlops: number;
  steps: number;
  /** The network's parameters and forward FLOPs per image. */
  costs: { parameters: number; flops: number };
}

/**
 * The cost of the training a table recorded for one structure: its
 * training FLOPs (forward and backward, from its NetIR) over the table's
 * epochs of training images, plus one forward pass over the validation
 * images, at SIMULATED_FLOPS_PER_SECOND. A larger cell takes longer, as it
 * would; the all-`none` cell still pays for the skeleton around it.
 */
export function evaluationCost(config: ExperimentConfig, table: LookupTable, dna: unknown): EvaluationCost {
  const a = analyze(compileIndividual(config.space, dna, table.io, config));
  const t = table.training;
  const trainFlops = a.trainFlopsPerImage * t.epochs * t.trainImages;
  const validationFlops = a.forwardFlops * t.validationImages;
  return {
    seconds: (trainFlops + validationFlops) / SIMULATED_FLOPS_PER_SECOND,
    trainFlops,
    validationFlops,
    steps: t.epochs * Math.ceil(t.trainImages / t.batchSize),
    costs: { parameters: a.params, flops: a.forwardFlops },
  };
}

export interface SimulationOptions {
  config: ExperimentConfig;
  table: LookupTable;
  /** The population, seeded already (seedStore); a TimedStore around it counts the store's time. */
  store: PopulationStore;
  /** The run's start (ms since the epoch): a child born at simulated second s is born at startedAt + 1000 s. */
  startedAt: number;
  /** Stop at this simulated time (children that would be born later are dropped, as a real run drops those in flight) and, optionally, after this many evaluations. */
  budget: { seconds: number; evaluations?: number };
  signal?: AbortSignal;
  /** Every `progressEvery` evaluations (default 100) and at the end. */
  onProgress?: (p: SimulationProgress) => void;
  progressEvery?: number;
  /** Costs already worked out, by structure: several runs on one table share them. */
  costs?: Map<string, EvaluationCost>;
}

export interface SimulationProgress {
  evaluations: number;
  /** The simulated clock: the latest birth, in seconds. */
  seconds: number;
  bestValidation: number | null;
}

export interface SimulationResult extends SimulationProgress {
  /** Algorithm steps by outcome (reproduced, trained-initial, killed, conflict, idle). */
  steps: Record<string, number>;
  /** Wall time of the simulation and the part of it spent in store calls. */
  wallSeconds: number;
  storeSeconds: number;
}

interface SimWorker {
  id: number;
  name: string;
  rng: Rng;
  /** When it is free next (simulated seconds): the birth time of its pending child, if any. */
  t: number;
  /** Order of becoming free, for ties. */
  order: number;
  pending?: { record: IndividualRecord; retire?: string };
}

/** The workers by (t, order): the one free earliest first. */
class Queue {
  private readonly heap: SimWorker[] = [];
  private order = 0;
  get size(): number {
    return this.heap.length;
  }
  private less(a: SimWorker, b: SimWorker): boolean {
    return a.t < b.t || (a.t === b.t && a.order < b.order);
  }
  push(w: SimWorker): void {
    w.order = this.order++;
    const h = this.heap;
    h.push(w);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): SimWorker | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
  /** The earliest birth still pending after `t`, if any. */
  nextBirthAfter(t: number): number | undefined {
    let next: number | undefined;
    for (const w of this.heap) if (w.pending && w.t > t && (next === undefined || w.t < next)) next = w.t;
    return next;
  }
}

/**
 * Runs the experiment's algorithm with `config.workers` simulated workers
 * until the simulated budget or the evaluation budget is spent (or the
 * signal), storing every evaluated child in `o.store`.
 * @throws {EvonasError} ERR_RUN when the workers can make no progress (a population too small to sample).
 */
export async function simulate(o: SimulationOptions): Promise<SimulationResult> {
  const { config, table } = o;
  const space = spaceOf(config.space);
  const settings = settingsOf(config.space, config);
  if (!space.mutate) throw new EvonasError('ERR_CONFIG', `the ${space.name} space has no mutation: it cannot run a steady-state algorithm`);
  const store = o.store instanceof TimedStore ? o.store : new TimedStore(o.store);
  const storeBefore = store.seconds;
  const wall = Date.now();
  const alg = algorithm(config.algorithm as AlgorithmName, { sampleSize: config.sampleSize, goals: config });
  const costs = o.costs ?? new Map<string, EvaluationCost>();
  const idRng = createRng(config.seed).fork('simulated-ids');
  const queue = new Queue();
  const training = new Set<string>();
  const steps: Record<string, number> = {};
  const p: SimulationProgress = { evaluations: 0, seconds: 0, bestValidation: null };
  let begun = 0;
  /** Reproductions under way (initial individuals under evaluation replace themselves and are not counted). */
  let inFlight = 0;
  let seq = 0;
  let stuck = 0;
  for (let id = 0; id < config.workers; id++) queue.push({ id, name: `w${id}`, rng: createRng(config.seed).fork(`worker-${id}`), t: 0, order: 0 });

  /** Starts `w` evaluating `dna` now; its child is born when the evaluation's cost has passed. */
  const begin = (w: SimWorker, dna: unknown, fields: Pick<IndividualRecord, 'parent' | 'mutations'>, retire?: string) => {
    const key = JSON.stringify(dna);
    const c = costs.get(key) ?? evaluationCost(config, table, dna);
    costs.set(key, c);
    const at = w.t + c.seconds;
    const ms = o.startedAt + Math.round(at * 1000);
    const record: IndividualRecord = {
      ...fields,
      // In birth order, then in the order evaluations began: the store lists (and samples) the same way every run.
      id: `${ms.toString(36).padStart(9, '0')}-${(seq++ % 36 ** 4).toString(36).padStart(4, '0')}${idRng
        .int(2 ** 24)
        .toString(16)
        .padStart(6, '0')}`,
      worker: w.name,
      bornAt: new Date(ms).toISOString(),
      space: config.space,
      dna,
      fitness: table.validation(dna),
      stepsTrained: c.steps,
      trainFlops: c.trainFlops,
      validationFlops: c.validationFlops,
      costs: c.costs,
      timing: { train: c.seconds, evaluate: 0, store: 0, idle: 0 },
      hasWeights: false,
    };
    w.pending = { record, ...(retire ? { retire } : {}) };
    w.t = at;
    begun++;
  };

  let nextReport = o.progressEvery ?? 100;
  for (let w = queue.pop(); w && !o.signal?.aborted; w = queue.pop()) {
    if (w.pending) {
      if (w.t > o.budget.seconds) {
        if (!w.pending.retire) inFlight--;
        continue; // born after the deadline: dropped, and this worker stops
      }
      await store.put(w.pending.record);
      if (w.pending.retire) {
        training.delete(w.pending.retire);
        await store.kill(w.pending.retire, w.name);
      } else inFlight--;
      p.evaluations++;
      p.seconds = w.t;
      const f = w.pending.record.fitness!;
      if (p.bestValidation === null || f > p.bestValidation) p.bestValidation = f;
      w.pending = undefined;
      stuck = 0;
      if (p.evaluations >= nextReport) {
        nextReport += o.progressEvery ?? 100;
        o.onProgress?.({ ...p });
      }
    }
    if (w.t >= o.budget.seconds || (o.budget.evaluations !== undefined && begun >= o.budget.evaluations)) continue; // this worker is done
    const worker = w;
    const ctx: StepContext = {
      store,
      rng: worker.rng,
      populationSize: config.population,
      worker: worker.name,
      inFlight: () => inFlight,
      async reproduce(parent) {
        const child =
          config.algorithm === 'random' && space.randomIndividual
            ? { dna: space.randomIndividual(worker.rng, settings), records: [{ type: 'random-draw' }] }
            : space.mutate!(space.validate(parent.dna), worker.rng, mutationsPerChild(config.schedule, worker.t), settings);
        begin(worker, child.dna, { parent: parent.id, mutations: child.records });
        inFlight++;
      },
      // An initial individual is evaluated by the first worker that samples it; one sampled while that is under way is a conflict, as with real workers.
      async trainInitial(individual) {
        if (training.has(individual.id)) throw new ConflictError(`${individual.id} is being evaluated by another worker`);
        training.add(individual.id);
        begin(worker, space.validate(individual.dna), { parent: individual.id, mutations: [{ type: 'identity', targets: [], detail: { initialTraining: 1 }, inherit: 'none' }] }, individual.id);
      },
    };
    let outcome: StepOutcome;
    try {
      outcome = await alg.step(ctx);
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      outcome = 'conflict';
    }
    steps[outcome] = (steps[outcome] ?? 0) + 1;
    if (!worker.pending && outcome !== 'killed') {
      // Nothing to do until some child is born: wait for the next birth.
      const next = queue.nextBirthAfter(worker.t);
      if (next === undefined || ++stuck > 100 * config.workers + 1000)
        throw new EvonasError('ERR_RUN', `the simulated workers cannot go on: ${outcome} with no child in training (population ${await store.aliveCount()} alive)`);
      worker.t = next;
    }
    queue.push(worker);
  }
  o.onProgress?.({ ...p });
  return { ...p, steps, wallSeconds: (Date.now() - wall) / 1000, storeSeconds: store.seconds - storeBefore };
}
