/**
 * A training loop over the engine: SGD in chunks of steps with a learning-rate
 * schedule, periodic validation, progress and cancellation. Each chunk is one
 * native run, so the event loop stays free and a schedule can change the
 * rate between chunks.
 */
import type { EngineDataset } from './dataset.js';
import type { EvalResult, Net } from './net.js';

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
  /** Steps per native run (default 200): the granularity of the schedule and of progress. */
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

export async function fit(net: Net, o: FitOptions): Promise<FitResult> {
  const chunk = o.chunk ?? 200;
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
    const r = await net.train({
      data: o.data,
      steps: n,
      batchSize: batch,
      learningRate: lr,
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      augment: o.augment,
      seed: o.seed ?? 0,
      startStep: step, // one batch order across chunks: every image once per epoch
      signal: o.signal,
    });
    step += r.steps;
    if (!r.ok || r.cancelled) {
      return { ok: r.ok, failure: r.failure, steps: step, seconds: (Date.now() - start) / 1000, loss: r.loss, accuracy: r.accuracy, cancelled: r.cancelled, validation };
    }
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
