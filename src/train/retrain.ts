/**
 * Genetic CNN's transfer experiment: a structure found by a stages run,
 * trained again from scratch and wider, on the training split with the
 * paper's stepped schedule, then evaluated on validation and, once, on test.
 * Writes <experiment>/retrain/<id>-w<widths>-e<E>/{weights.safetensors,result.json}.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { engineDataset, openDataset } from '../data/dataset.js';
import { dataOf } from '../evolution/config.js';
import type { FitProgress } from '../engine/fit.js';
import { compile } from '../engine/net.js';
import { SPACE_REGISTRY, settingsOf, spaceOf } from '../spaces/index.js';
import { EvonasError } from '../util/errors.js';
import { fitFinal, saveFinal, testOnce } from './final.js';
import { openExperiment, rankByValidation, testSplit } from '../experiment/open.js';

export interface RetrainOptions {
  /** The individual (default: the best by validation accuracy). */
  id?: string;
  /** Channels per stage (paper: 64, 128, 256). */
  widths: number[];
  /** Units of the first fully connected layer (paper: 1024). */
  fc?: number;
  /** Epochs (paper: 240); fractions allowed. */
  epochs: number;
  /** Base learning rate of the stepped schedule (paper: 0.01). */
  learningRate?: number;
  /** Default: the experiment's. */
  batchSize?: number;
  /** Default: all cores. */
  threads?: number;
  seed?: number;
  signal?: AbortSignal;
  /** Once the network is built, before training: what will be trained. */
  onStart?: (o: { id: string; bits: string; params: number; steps: number; batchSize: number }) => void;
  onProgress?: (p: FitProgress) => void;
}

export interface RetrainResult {
  id: string;
  bits: string;
  widths: number[];
  fc: number;
  epochs: number;
  steps: number;
  seconds: number;
  params: number;
  validationAccuracy: number;
  testAccuracy: number;
  searchValidationAccuracy: number | null;
  /** The folder written. */
  out: string;
}

/**
 * Retrains a Genetic CNN structure wider and from scratch with the paper's
 * stepped schedule, then tests it once: check, build, train, evaluate,
 * write, in order.
 * @returns the result, or undefined when `signal` stopped it (nothing written).
 * @throws {EvonasError} ERR_INPUT naming the experiment, individual or setting at fault.
 */
export async function retrain(dir: string, o: RetrainOptions): Promise<RetrainResult | undefined> {
  const x = await openExperiment(dir, { weights: 'retrain' }); // a folder: the stages space's ledger lives in one
  const widen = spaceOf(x.config.space).retrain;
  if (!widen) {
    const which = [...SPACE_REGISTRY.values()].filter((s) => s.retrain).map((s) => s.name);
    throw new EvonasError('ERR_INPUT', `${x.name} searched the ${x.config.space} space; retrain takes an experiment of the ${which.join(' or ')} space`, ['space']);
  }
  const all = await x.store.list();
  const chosen = o.id === undefined || o.id === 'best' ? (rankByValidation(all, { constraints: x.config.constraints })[0] ?? all.find((i) => i.fitness !== null)) : all.find((i) => i.id === o.id);
  if (!chosen) throw new EvonasError('ERR_INPUT', o.id === undefined || o.id === 'best' ? `${x.name}: no trained individual yet` : `${x.name}: no individual "${o.id}"`, ['id']);
  // The space's own validation, compilation and description, through the registry: a retrainable space compiles with stage widths.
  const space = spaceOf(x.config.space);
  const dna = space.validate(chosen.dna);
  const settings = settingsOf(x.config.space, x.config);
  const stages = widen.stages(settings);
  if (o.widths.length !== stages || !o.widths.every((w) => Number.isInteger(w) && w >= 1)) {
    throw new EvonasError('ERR_INPUT', `widths: expected ${stages} whole numbers >= 1 (one per stage) but received ${o.widths.join(',')}`, ['widths']);
  }
  const bits = space.describe(dna).bits ?? '';
  if (!(o.epochs > 0)) throw new EvonasError('ERR_INPUT', `epochs: expected a number > 0 but received ${o.epochs}`, ['epochs']);
  const fc = o.fc ?? 1024;
  const batchSize = o.batchSize ?? x.config.batchSize;
  const seed = o.seed ?? 0;
  const wide = widen.widen(settings, o.widths, fc);
  const net = compile(space.compile(dna, x.io, wide), { threads: o.threads ?? availableParallelism(), seed });
  const data = openDataset(dataOf(x.config));
  const train = engineDataset(data.train());
  const validation = engineDataset(data.validation(), x.stats);
  try {
    const steps = Math.ceil((o.epochs * train.count) / batchSize);
    o.onStart?.({ id: chosen.id, bits, params: net.analysis.params, steps, batchSize });
    const { r, validationAccuracy } = await fitFinal(net, {
      data: train,
      validation,
      steps,
      batchSize,
      learningRate: o.learningRate ?? 0.01,
      schedule: 'stepped',
      momentum: x.config.momentum,
      weightDecay: x.config.weightDecay,
      seed,
      evalEvery: Math.max(200, Math.ceil(steps / 8)),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    if (r.cancelled) return undefined;
    const te = await testOnce(net, testSplit(x).data);
    const out = join(x.dir!, 'retrain', `${chosen.id}-w${o.widths.join('-')}-e${o.epochs}`);
    const result: RetrainResult = {
      id: chosen.id,
      bits,
      widths: o.widths,
      fc,
      epochs: o.epochs,
      steps: r.steps,
      seconds: r.seconds,
      params: net.analysis.params,
      validationAccuracy,
      testAccuracy: te.accuracy,
      searchValidationAccuracy: chosen.fitness,
      out,
    };
    const { out: _out, ...file } = result;
    saveFinal(out, net, { space: x.config.space, dna, settings: wide }, file);
    return result;
  } finally {
    net.dispose();
    train.dispose();
    validation.dispose();
  }
}
