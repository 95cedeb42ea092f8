import { availableParallelism } from 'node:os';
import { engineDataset, openDataset } from '../data/dataset.js';
import { loadTestSplit } from '../data/test-split.js';
import type { FitProgress } from '../engine/fit.js';
import { compile } from '../engine/net.js';
import type { Precision } from '../engine/net.js';
import type { NetIR } from '../net/ir.js';
import type { IOSpec } from '../net/presets.js';
import { fitFinal, saveFinal, testOnce } from './final.js';

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
    const { r, validationAccuracy } = await fitFinal(net, {
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
    const result: BaselineResult = {
      net: o.netName,
      dataset: m.name,
      steps: r.steps,
      cancelled: r.cancelled,
      seconds: r.seconds,
      validationAccuracy,
      params: net.analysis.params,
      trainFlops: net.analysis.trainFlopsPerImage * batchSize * r.steps,
    };
    if (o.test) {
      const t = await testOnce(net, engineDataset(loadTestSplit(o.data), m.stats));
      result.testAccuracy = t.accuracy;
      result.testImages = t.count;
    }
    if (o.out) saveFinal(o.out, net, { netir: ir, classes: m.classes, mean: m.stats.mean, std: m.stats.std }, result);
    return result;
  } finally {
    net.dispose();
    train.dispose();
    validation.dispose();
  }
}
