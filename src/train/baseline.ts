/**
 * One fixed network trained on a dataset cache: a baseline beside evolution,
 * and a check that the engine and the data work. Cosine schedule with a
 * short warm-up; validation during training; the test split read once at
 * the end when asked.
 */
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { engineDataset, openDataset } from '../data/dataset.js';
import { loadTestSplit } from '../data/test-split.js';
import { fit } from '../engine/fit.js';
import type { FitProgress } from '../engine/fit.js';
import { compile } from '../engine/net.js';
import type { Precision } from '../engine/net.js';
import { saveSafetensors } from '../engine/safetensors.js';
import type { NetIR } from '../net/ir.js';
import type { IOSpec } from '../net/presets.js';
import { EvonasError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

export interface BaselineOptions {
  /** A dataset cache folder. */
  data: string;
  /** The network, built for the cache's image shape and classes. */
  net: (io: IOSpec) => NetIR;
  /** A name for the network in the result (a preset's name, a file). */
  netName: string;
  /** SGD steps (default 4000). */
  steps?: number;
  batchSize?: number;
  /** Peak learning rate of the cosine schedule (default 0.1). */
  learningRate?: number;
  weightDecay?: number;
  precision?: Precision;
  threads?: number;
  seed?: number;
  /** cpu (default), cuda or cuda:N. */
  device?: string;
  /** Also evaluate the test split, once, at the end. */
  test?: boolean;
  /** Write weights.safetensors (with the NetIR, classes and statistics) and result.json here. */
  out?: string;
  signal?: AbortSignal;
  onStart?: (o: { params: number; trainFlopsPerImage: number; dataset: string; images: number; steps: number; batchSize: number; precision: Precision; threads: number }) => void;
  onProgress?: (p: FitProgress) => void;
}

export interface BaselineResult {
  net: string;
  dataset: string;
  steps: number;
  cancelled: boolean;
  seconds: number;
  validationAccuracy: number;
  testAccuracy?: number;
  testImages?: number;
  params: number;
  trainFlops: number;
}

/** @throws {EvonasError} ERR_TRAINING when training diverges (a non-finite loss). */
export async function trainBaseline(o: BaselineOptions): Promise<BaselineResult> {
  const data = openDataset(o.data);
  const m = data.manifest;
  const ir = o.net({ ...m.shape, classes: m.classes.length });
  const steps = o.steps ?? 4000;
  const batchSize = o.batchSize ?? 50;
  const precision = o.precision ?? 'fp32';
  const threads = o.threads ?? availableParallelism();
  const net = compile(ir, { threads, precision, seed: o.seed ?? 0, device: o.device ?? 'cpu' });
  const train = engineDataset(data.train());
  const validation = engineDataset(data.validation(), m.stats);
  try {
    o.onStart?.({ params: net.analysis.params, trainFlopsPerImage: net.analysis.trainFlopsPerImage, dataset: m.name, images: train.count, steps, batchSize, precision, threads });
    const r = await fit(net, {
      data: train,
      validation,
      steps,
      batchSize,
      learningRate: o.learningRate ?? 0.1,
      schedule: 'cosine',
      warmupSteps: Math.min(200, Math.floor(steps / 10)),
      weightDecay: o.weightDecay ?? 5e-4,
      seed: o.seed ?? 0,
      evalEvery: Math.max(500, Math.floor(steps / 8)),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    if (!r.ok) throw new EvonasError('ERR_TRAINING', `training failed: ${r.failure}`);
    const result: BaselineResult = {
      net: o.netName,
      dataset: m.name,
      steps: r.steps,
      cancelled: r.cancelled,
      seconds: r.seconds,
      validationAccuracy: r.validation?.accuracy ?? (await net.evaluate(validation)).accuracy,
      params: net.analysis.params,
      trainFlops: net.analysis.trainFlopsPerImage * batchSize * r.steps,
    };
    if (o.test) {
      const test = engineDataset(loadTestSplit(o.data), m.stats);
      const t = await net.evaluate(test);
      result.testAccuracy = t.accuracy;
      result.testImages = t.count;
      test.dispose();
    }
    if (o.out) {
      mkdirSync(o.out, { recursive: true });
      saveSafetensors(join(o.out, 'weights.safetensors'), net.weights(), {
        netir: JSON.stringify(ir),
        classes: JSON.stringify(m.classes),
        mean: JSON.stringify(m.stats.mean),
        std: JSON.stringify(m.stats.std),
      });
      writeFileAtomic(join(o.out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    }
    return result;
  } finally {
    net.dispose();
    train.dispose();
    validation.dispose();
  }
}
