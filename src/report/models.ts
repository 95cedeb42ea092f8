/**
 * The models an experiment hands back: its individuals rebuilt with their
 * trained weights, chosen by validation accuracy only, and evaluated on the
 * test split (the only place besides the report that reads it).
 */
import { engineDataset, openDataset } from '../data/dataset.js';
import { loadTestSplit } from '../data/test-split.js';
import type { EngineDataset } from '../engine/dataset.js';
import { compile } from '../engine/net.js';
import type { Net } from '../engine/net.js';
import { decodeSafetensors } from '../engine/safetensors.js';
import { readConfig } from '../evolution/config.js';
import { selectionFitness } from '../evolution/selection.js';
import type { ExperimentConfig } from '../evolution/config.js';
import type { IOSpec } from '../net/presets.js';
import { compileIndividual } from '../spaces/index.js';
import { FileStore } from '../store/index.js';
import type { Individual } from '../store/index.js';

export interface Experiment {
  dir: string;
  config: ExperimentConfig;
  store: FileStore;
  io: IOSpec;
  classes: string[];
  /** Per-channel mean and standard deviation of the training split (the engine standardizes with them). */
  stats: { mean: number[]; std: number[] };
}

export function openExperiment(dir: string): Experiment {
  const config = readConfig(dir);
  const m = openDataset(config.data).manifest;
  return { dir, config, store: new FileStore(dir), io: { ...m.shape, classes: m.classes.length }, classes: m.classes, stats: m.stats };
}

/**
 * Trained individuals by validation accuracy, best first, that still have
 * their weights; ties go to the earlier id, so the order is deterministic.
 * Test accuracy plays no part.
 */
export function rankByValidation(individuals: Individual[]): Individual[] {
  const f = selectionFitness(individuals);
  return individuals.filter((i) => f.has(i.id) && i.hasWeights).sort((a, b) => f.get(b.id)! - f.get(a.id)! || (a.id < b.id ? -1 : 1));
}

/** Rebuilds an individual's network with its trained weights. */
export async function loadNet(x: Experiment, i: Individual, o: { threads?: number } = {}): Promise<Net> {
  const ir = compileIndividual(i.space, i.dna, x.io, x.config);
  const net = compile(ir, { threads: o.threads ?? 2, precision: 'fp32' });
  try {
    const r = net.setWeights(decodeSafetensors(await x.store.readWeights(i.id), `weights of ${i.id}`).tensors);
    if (r.skipped.length || r.loaded.length !== net.analysis.tensors.length)
      throw new Error(`weights of ${i.id} do not fit its network (skipped ${r.skipped.map((s) => `${s.name} (${s.reason})`).join(', ') || 'none'})`);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return net;
}

/** The test split as an engine dataset (standardized with the training statistics) and its labels, read once. */
export function testSplit(x: Experiment): { data: EngineDataset; labels: Int32Array } {
  const t = loadTestSplit(x.config.data);
  return { data: engineDataset(t, x.stats), labels: Int32Array.from(t.labels) };
}
