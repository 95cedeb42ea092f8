/**
 * evonas as a library: everything the `evonas` command does is a call here
 * (the command parses flags, calls one of these and prints). The commands
 * import each from its own module, so that each loads only what it uses;
 * test/boundaries.test.ts checks that every one of them is exported here.
 */
export * from './net/index.js';
export * from './engine/index.js';

/** Errors: every one evonas raises on purpose has a stable `code` and a `path` to what was at fault. */
export { EvonasError } from './util/errors.js';

/** Datasets: import a source (CIFAR-10 binary, folders, archives) into a cache, and open a cache's splits. */
export { importDataset } from './data/import.js';
export type { ImportOptions } from './data/import.js';
export { openDataset } from './data/dataset.js';
export { readManifest, SPLITS } from './data/manifest.js';
export { downloadDataset, RELEASES } from './data/download.js';
export type { Manifest } from './data/manifest.js';

/** Experiments: the configuration, the search spaces, the algorithms' pieces. */
export {
  DEFAULTS,
  ConfigError,
  dataOf,
  EXPERIMENT_FILE,
  EXPERIMENT_VERSION,
  experimentSchema,
  loadConfig,
  readConfig,
  saveConfig,
  upgradeConfig,
  validateConfig,
} from './evolution/config.js';
export { FILE_SCHEMAS } from './util/json-schemas.js';
export type { ExperimentConfig } from './evolution/config.js';
export { compileIndividual, DEFAULT_SPACE, settingsOf, spaceOf, SPACE_REGISTRY, tableOf } from './spaces/index.js';
export type { Breeding, ChildTraining, LookupTable, SearchSpace } from './spaces/index.js';
export { formatStatsRow, STATS_HEADER } from './evolution/generational.js';
export { detectStagnation, StagnationLog } from './evolution/stagnation.js';
export type { StagnationEvent, StagnationPolicy } from './evolution/stagnation.js';

/** Running: the supervisor (evonas evolve), one worker (evonas worker), the population now (evonas status). */
export { evolve, seedPopulation, seedStore, startRun, supervise } from './worker/supervisor.js';
export { submitWorkers } from './worker/slurm.js';
export type { EvolveOptions, SuperviseOptions, SuperviseResult } from './worker/supervisor.js';
/** One worker joining an experiment (evonas worker): trains children until the run's deadline or `signal`. */
export { runWorker as startWorker, runWorker } from './worker/worker.js';
export type { WorkerOptions } from './worker/worker.js';
export { status } from './worker/status.js';
export type { ExperimentStatus } from './worker/status.js';
export { closeStore, FileStore, isStoreUrl, openStore, redactUrl } from './store/index.js';
export { withHome } from './store/home.js';
export { migrateExperiment } from './store/migrate.js';
export type { Individual, PopulationStore } from './store/index.js';
export { summarizePopulation } from './store/summary.js';
export type { PopulationSummary } from './store/summary.js';

/** Results: the report (evonas report), sweeps over seeds, comparisons, export (evonas export) and prediction (evonas predict). */
export { buildReport as report, buildReport, DEFAULT_ENSEMBLE } from './report/build.js';
export type { ReportOptions, ReportSummary } from './report/build.js';
export { formatSpread, isSweep, readSweep, reportSweep, spread, writeSweep } from './report/sweep.js';
export { runSweep } from './sweep/run.js';
export type { SweepOptions } from './sweep/run.js';
export type { SweepSummary } from './report/sweep.js';
export { compareExperiments, groupOf } from './report/compare.js';
export { paretoOf } from './experiment/pareto.js';
export type { FrontMember } from './experiment/pareto.js';
export { COSTS, crowdedComparison, fronts, hypervolume, OBJECTIVES, paretoFront } from './evolution/pareto.js';
export type { Costs, Goals, Objective } from './evolution/pareto.js';
export { startDashboard } from './server/dashboard.js';
export { trainBaseline } from './train/baseline.js';
export type { BaselineOptions, BaselineResult } from './train/baseline.js';
export { retrain } from './train/retrain.js';
export type { RetrainOptions, RetrainResult } from './train/retrain.js';
export { exportModel } from './export/model.js';
export type { ExportOptions, ExportResult } from './export/model.js';
export { collectImages, predict } from './predict/predict.js';
export type { Prediction } from './predict/predict.js';
export { exportOnnx, OPSET } from './export/onnx.js';
export type { OnnxMember, OnnxOptions } from './export/onnx.js';
