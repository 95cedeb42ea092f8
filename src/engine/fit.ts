/**
 * A training loop over the engine: SGD in chunks of steps with a learning-rate
 * schedule, periodic validation, progress and cancellation. Each chunk is one
 * native run, so the event loop stays free and a schedule can change the
 * rate between chunks.
 */
import type { EngineDataset } from './dataset.js';
import type { EvalResult, Net, TrainResult } from './net.js';

/**
 * constant; cosine (with optional warm-up); stepped: Genetic CNN's schedule,
 * 120, 60, 40 and 20 of 240 epochs at 1, 1/10, 1/100 and 1/1000 of the rate,
 * scaled to the run's length.
 */
export type LrSchedule = 'constant' | 'cosine' | 'stepped';

/** Where the stepped schedule's phases end, as fractions of the run, and their rate factors. */
export const STEPPED = { ends: [120 / 240, 180 / 240, 220 / 240, 1], factors: [1, 0.1, 0.01, 0.001] };

/** The step at which the phase containing `step` ends (the whole run for other schedules). */
function phaseEnd(o: Pick<FitOptions, 'schedule' | 'steps'>, step: number): number {
  if (o.schedule !== 'stepped') return o.steps;
  for (const f of STEPPED.ends) {
    const end = Math.round(f * o.steps);
    if (step < end) return end;
  }
  return o.steps;
}

export interface FitOptions {
  data: EngineDataset;
  validation?: EngineDataset;
  steps: number;
  batchSize?: number;
  learningRate: number;
  schedule?: LrSchedule;
  /** Linear warm-up steps at the start (cosine only). */
  warmupSteps?: number;
  momentum?: number;
  weightDecay?: number;
  augment?: boolean;
  seed?: number;
  /** Steps per native run (default CHUNK_STEPS): the granularity of the schedule and of progress. */
  chunk?: number;
  /** Evaluate on `validation` every this many steps (default: only at the end). */
  evalEvery?: number;
  signal?: AbortSignal;
  onProgress?: (p: FitProgress) => void;
}

export interface FitProgress {
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  learningRate: number;
  imagesPerSecond: number;
  validation?: EvalResult;
}

export interface FitResult {
  ok: boolean;
  failure?: string;
  steps: number;
  seconds: number;
  loss: number;
  accuracy: number;
  cancelled: boolean;
  validation?: EvalResult;
}

/** The learning rate at `step` of `steps`. */
export function learningRateAt(o: Pick<FitOptions, 'learningRate' | 'schedule' | 'warmupSteps' | 'steps'>, step: number): number {
  if ((o.schedule ?? 'constant') === 'constant') return o.learningRate;
  if (o.schedule === 'stepped') {
    const phase = STEPPED.ends.findIndex((f) => step < Math.round(f * o.steps));
    return o.learningRate * STEPPED.factors[phase < 0 ? STEPPED.factors.length - 1 : phase]!;
  }
  const warm = o.warmupSteps ?? 0;
  if (step < warm) return (o.learningRate * (step + 1)) / warm;
  const t = (step - warm) / Math.max(1, o.steps - warm);
  return o.learningRate * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t)));
}

/** Steps per native run unless told otherwise: the granularity of a schedule, of progress and of cancellation. */
const CHUNK_STEPS = 200;

type ChunkOptions = Pick<FitOptions, 'data' | 'batchSize' | 'momentum' | 'weightDecay' | 'augment' | 'seed' | 'signal'>;

/** One native run of `n` steps at rate `lr`, going on from `step` in one batch order (every image once per epoch). */
function trainChunk(net: Net, o: ChunkOptions, step: number, n: number, lr: number) {
  return net.train({
    data: o.data,
    steps: n,
    batchSize: o.batchSize ?? 50,
    learningRate: lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    augment: o.augment,
    seed: o.seed ?? 0,
    startStep: step,
    signal: o.signal,
  });
}

/** The result of a run that a chunk ended early: diverged or cancelled. */
function cutShort(r: TrainResult, step: number, start: number, validation?: EvalResult): FitResult {
  return { ok: r.ok, failure: r.failure, steps: step, seconds: (Date.now() - start) / 1000, loss: r.loss, accuracy: r.accuracy, cancelled: r.cancelled, validation };
}

export async function fit(net: Net, o: FitOptions): Promise<FitResult> {
  const chunk = o.chunk ?? CHUNK_STEPS;
  const batch = o.batchSize ?? 50;
  const start = Date.now();
  let step = 0;
  let last = { loss: 0, accuracy: 0 };
  let validation: EvalResult | undefined;
  let nextEval = o.evalEvery ?? Infinity;
  while (step < o.steps) {
    // A chunk never straddles a step of the schedule.
    const n = Math.min(chunk, o.steps - step, phaseEnd(o, step) - step);
    const lr = o.schedule === 'stepped' ? learningRateAt(o, step) : learningRateAt(o, step + Math.floor(n / 2));
    const t0 = Date.now();
    const r = await trainChunk(net, o, step, n, lr);
    step += r.steps;
    if (!r.ok || r.cancelled) return cutShort(r, step, start, validation);
    last = r;
    if (o.validation && (step >= nextEval || step >= o.steps)) {
      validation = await net.evaluate(o.validation);
      nextEval = step + (o.evalEvery ?? Infinity);
    }
    o.onProgress?.({
      step,
      steps: o.steps,
      loss: r.loss,
      accuracy: r.accuracy,
      learningRate: lr,
      imagesPerSecond: (r.steps * batch) / Math.max(1e-3, (Date.now() - t0) / 1000),
      validation,
    });
  }
  return { ok: true, steps: step, seconds: (Date.now() - start) / 1000, loss: last.loss, accuracy: last.accuracy, cancelled: false, validation };
}

/** What fitUntil takes: fit's options with a time in place of a step count and a schedule. */
export type FitUntilOptions = Omit<FitOptions, 'steps' | 'schedule' | 'warmupSteps' | 'chunk' | 'evalEvery' | 'validation'> & {
  /** When to stop (milliseconds since the epoch): the rate reaches zero then. */
  until: number;
};

/** A chunk of fitUntil aims at this long, or a fiftieth of the time, whichever is shorter. */
const UNTIL_CHUNK_MS = 1000;

/**
 * Trains until the clock reads `until`, the learning rate falling from
 * `learningRate` to zero along a cosine over time rather than over steps, so
 * that the run fills the time it is given whatever a step costs: no step
 * count is guessed ahead from a probe (the first steps of a network pay for
 * its kernels' creation, and a neighbour's load changes the pace midway).
 * Chunks are sized from the pace of the one before to end on time; the run
 * stops when not one more step fits. @returns fit's result; `steps` is how
 * many were taken (0 when none fit).
 */
export async function fitUntil(net: Net, o: FitUntilOptions): Promise<FitResult> {
  const batch = o.batchSize ?? 50;
  const start = Date.now();
  const span = Math.max(1, o.until - start);
  const target = Math.min(UNTIL_CHUNK_MS, span / 50);
  let msPerStep: number | undefined; // unknown until the first chunk is timed
  let step = 0;
  let last = { loss: 0, accuracy: 0 };
  for (;;) {
    const now = Date.now();
    const left = o.until - now;
    if (left <= 0 || (msPerStep !== undefined && left < msPerStep)) break;
    const n = msPerStep === undefined ? 1 : Math.max(1, Math.min(CHUNK_STEPS, Math.floor(Math.min(target, left) / msPerStep)));
    // The rate at the chunk's expected middle, on the cosine over [start, until].
    const t = Math.min(1, (now + (n * (msPerStep ?? 0)) / 2 - start) / span);
    const lr = o.learningRate * 0.5 * (1 + Math.cos(Math.PI * t));
    const r = await trainChunk(net, o, step, n, lr);
    step += r.steps;
    const took = Date.now() - now;
    if (!r.ok || r.cancelled) return cutShort(r, step, start);
    last = r;
    // The first chunk (one step) pays for the network's kernels: it sizes only the second.
    msPerStep = Math.max(0.01, took / Math.max(1, r.steps));
    o.onProgress?.({ step, steps: step, loss: r.loss, accuracy: r.accuracy, learningRate: lr, imagesPerSecond: (r.steps * batch) / Math.max(1e-3, took / 1000) });
  }
  return { ok: true, steps: step, seconds: (Date.now() - start) / 1000, loss: last.loss, accuracy: last.accuracy, cancelled: false };
}
