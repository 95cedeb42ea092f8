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
import { dataOf, loadConfig } from '../evolution/config.js';
import { EvonasError } from '../util/errors.js';
import { violation } from '../evolution/pareto.js';
import type { Goals } from '../evolution/pareto.js';
import { selectionFitness } from '../evolution/selection.js';
import type { ExperimentConfig } from '../evolution/config.js';
import type { IOSpec } from '../net/presets.js';
import { compileIndividual, tableOf } from '../spaces/index.js';
import type { LookupTable } from '../spaces/index.js';
import { openHome } from '../store/home.js';
import type { ExperimentHome } from '../store/home.js';
import type { Individual, PopulationStore } from '../store/index.js';

export interface Experiment {
  /** What messages name: the folder, or the URL with its password redacted. */
  name: string;
  /** The folder, when the experiment lives in one. */
  dir?: string;
  home: ExperimentHome;
  config: ExperimentConfig;
  store: PopulationStore;
  io: IOSpec;
  classes: string[];
  /** Per-channel mean and standard deviation of the training split (the engine standardizes with them). */
  stats: { mean: number[]; std: number[] };
  /** A table-driven experiment's benchmark (its individuals were looked up: they have accuracies, not weights). */
  table?: LookupTable;
  /** The dataset's path here (the recorded one unless told otherwise). */
  data?: string;
  /** Lets go of the store's connections. */
  close(): Promise<void>;
}

/**
 * The experiment at `location` (a folder or a postgresql:// URL) with what
 * its models need: the dataset's shape, classes and statistics, or a
 * table-driven run's benchmark. Close it when done.
 * @param o.weights what the caller does with trained weights ("export"): a table-driven experiment, which has none, is refused by name.
 * @param o.data the dataset's path on this host, when not the recorded one.
 */
export async function openExperiment(location: string, o: { weights?: string; data?: string } = {}): Promise<Experiment> {
  const home = await openHome(location);
  try {
    const config = await loadConfig(home);
    const base = { name: home.name, ...(home.dir ? { dir: home.dir } : {}), home, config, store: home.store, close: () => home.close() };
    if (config.evaluator === 'table') {
      if (o.weights)
        throw new EvonasError(
          'ERR_INPUT',
          `${home.name}: its individuals were looked up in ${config.benchmark!.path}, not trained, so there are no weights to ${o.weights}; train the chosen structure with evonas train (its DNA is in the report)`,
        );
      const table = tableOf(config);
      return { ...base, io: table.io, classes: [], stats: { mean: [], std: [] }, table };
    }
    const data = o.data ?? dataOf(config);
    const m = openDataset(data).manifest;
    return { ...base, io: { ...m.shape, classes: m.classes.length }, classes: m.classes, stats: m.stats, data };
  } catch (e) {
    await home.close();
    throw e;
  }
}

/**
 * Evaluated individuals by validation accuracy, best first, that still have
 * their weights (unless `o.weights` is false: a table-driven run's have
 * none) and are within `o.constraints` (an experiment's, where it has any:
 * one over a limit is never the best); ties go to the earlier id, so the
 * order is deterministic. Test accuracy plays no part.
 */
export function rankByValidation(individuals: Individual[], o: { weights?: boolean; constraints?: Goals['constraints'] } = {}): Individual[] {
  const f = selectionFitness(individuals);
  const weights = o.weights ?? true;
  const within = (i: Individual) => !o.constraints || violation(i.costs, { objectives: ['accuracy'], constraints: o.constraints }) === 0;
  return individuals.filter((i) => f.has(i.id) && (i.hasWeights || !weights) && within(i)).sort((a, b) => f.get(b.id)! - f.get(a.id)! || (a.id < b.id ? -1 : 1));
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
  const t = loadTestSplit(x.data ?? dataOf(x.config));
  return { data: engineDataset(t, x.stats), labels: Int32Array.from(t.labels) };
}
