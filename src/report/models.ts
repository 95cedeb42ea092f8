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
import { dataOf, readConfig } from '../evolution/config.js';
import { EvonasError } from '../util/errors.js';
import { selectionFitness } from '../evolution/selection.js';
import type { ExperimentConfig } from '../evolution/config.js';
import type { IOSpec } from '../net/presets.js';
import { compileIndividual, tableOf } from '../spaces/index.js';
import type { LookupTable } from '../spaces/index.js';
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
  /** A table-driven experiment's benchmark (its individuals were looked up: they have accuracies, not weights). */
  table?: LookupTable;
}

/**
 * The experiment in `dir` with what its models need: the dataset's shape,
 * classes and statistics, or a table-driven run's benchmark.
 * @param weights what the caller does with trained weights ("export"): a table-driven experiment, which has none, is refused by name.
 */
export function openExperiment(dir: string, o: { weights?: string } = {}): Experiment {
  const config = readConfig(dir);
  const store = new FileStore(dir);
  if (config.evaluator === 'table') {
    if (o.weights)
      throw new EvonasError(
        'ERR_INPUT',
        `${dir}: its individuals were looked up in ${config.benchmark!.path}, not trained, so there are no weights to ${o.weights}; train the chosen structure with evonas train (its DNA is in the report)`,
      );
    const table = tableOf(config);
    return { dir, config, store, io: table.io, classes: [], stats: { mean: [], std: [] }, table };
  }
  const m = openDataset(dataOf(config)).manifest;
  return { dir, config, store, io: { ...m.shape, classes: m.classes.length }, classes: m.classes, stats: m.stats };
}

/**
 * Evaluated individuals by validation accuracy, best first, that still have
 * their weights (unless `o.weights` is false: a table-driven run's have
 * none); ties go to the earlier id, so the order is deterministic. Test
 * accuracy plays no part.
 */
export function rankByValidation(individuals: Individual[], o: { weights?: boolean } = {}): Individual[] {
  const f = selectionFitness(individuals);
  const weights = o.weights ?? true;
  return individuals.filter((i) => f.has(i.id) && (i.hasWeights || !weights)).sort((a, b) => f.get(b.id)! - f.get(a.id)! || (a.id < b.id ? -1 : 1));
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
  const t = loadTestSplit(dataOf(x.config));
  return { data: engineDataset(t, x.stats), labels: Int32Array.from(t.labels) };
}
