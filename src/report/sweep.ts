/**
 * A sweep: one experiment per seed, the same settings otherwise. Its result
 * is a mean and a spread, never one run: per seed the best individual by
 * validation accuracy, tested once; over seeds the mean, standard deviation,
 * minimum and maximum of those test accuracies, and the best-so-far curves as
 * a band (the paper's "repeatability of results, the variability in the
 * outcomes").
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { buildReport } from './build.js';
import type { ReportSummary } from './build.js';
import { compareExperiments } from './compare.js';
import { esc, STYLE } from './html.js';

export const SWEEP_FILE = 'sweep.json';

export interface SweepRun {
  seed: number;
  /** The experiment's folder, relative to the sweep's. */
  experiment: string;
  state: 'pending' | 'running' | 'done';
}

export interface SweepManifest {
  format: 'evonas.sweep';
  version: 1;
  /** The evolve options every run shares (without --seed, --out and --time-budget). */
  evolveArgs: string[];
  /** Each run's time budget (ms). */
  budgetMs: number;
  runs: SweepRun[];
}

export interface Spread {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1); 0 for one run. */
  std: number;
  min: number;
  max: number;
}

export interface SweepSummary {
  sweep: string;
  budgetSeconds: number;
  evolveArgs: string[];
  seeds: {
    seed: number;
    experiment: string;
    best: string;
    validationAccuracy: number;
    testAccuracy: number;
    ensembleTestAccuracy: number | null;
    params: number;
    individuals: number;
    wallSeconds: number;
  }[];
  testAccuracy: Spread;
  /** null for table-driven runs, which have no ensemble. */
  ensembleTestAccuracy: Spread | null;
  validationAccuracy: Spread;
}

export function isSweep(dir: string): boolean {
  return existsSync(join(dir, SWEEP_FILE));
}

/** @throws {Error} naming the file and field when sweep.json is not a sweep. */
export function readSweep(dir: string): SweepManifest {
  const file = join(dir, SWEEP_FILE);
  const m = JSON.parse(readFileSync(file, 'utf8')) as SweepManifest;
  if (m.format !== 'evonas.sweep' || m.version !== 1) throw new Error(`${file}: expected format "evonas.sweep" version 1 but received ${JSON.stringify(m.format)} version ${m.version}`);
  if (!Array.isArray(m.runs) || m.runs.length === 0) throw new Error(`${file}: runs: expected a non-empty array`);
  return m;
}

export function writeSweep(dir: string, m: SweepManifest): void {
  writeFileAtomic(join(dir, SWEEP_FILE), `${JSON.stringify(m, null, 2)}\n`);
}

export function spread(values: number[]): Spread {
  const n = values.length;
  if (n === 0) throw new RangeError('a spread needs at least one value');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, std, min: Math.min(...values), max: Math.max(...values) };
}

export function formatSpread(s: Spread): string {
  return `mean ${s.mean.toFixed(4)} ± ${s.std.toFixed(4)} (min ${s.min.toFixed(4)}, max ${s.max.toFixed(4)}, ${s.n} seeds)`;
}

/** Per-seed reports (made where missing), their spread, and the seeds' curves as one band, under <sweep>/report/. */
export async function reportSweep(dir: string, log: (line: string) => void = () => {}): Promise<SweepSummary> {
  const m = readSweep(dir);
  const done = m.runs.filter((r) => r.state === 'done');
  if (done.length === 0) throw new Error(`${join(dir, SWEEP_FILE)}: no run has finished yet; resume the sweep with evonas sweep --resume ${dir}`);
  const seeds: SweepSummary['seeds'] = [];
  for (const r of done) {
    const exp = join(dir, r.experiment);
    const file = join(exp, 'report', 'summary.json');
    const s: ReportSummary = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ReportSummary) : await buildReport(exp, { log });
    seeds.push({
      seed: r.seed,
      experiment: r.experiment,
      best: s.best.id,
      validationAccuracy: s.best.validationAccuracy,
      testAccuracy: s.best.testAccuracy,
      ensembleTestAccuracy: s.ensemble?.testAccuracy ?? null,
      params: s.best.params,
      individuals: s.individuals,
      wallSeconds: s.wallSeconds,
    });
  }
  const summary: SweepSummary = {
    sweep: basename(dir),
    budgetSeconds: m.budgetMs / 1000,
    evolveArgs: m.evolveArgs,
    seeds,
    testAccuracy: spread(seeds.map((s) => s.testAccuracy)),
    ensembleTestAccuracy: seeds.every((s) => s.ensembleTestAccuracy !== null) ? spread(seeds.map((s) => s.ensembleTestAccuracy!)) : null,
    validationAccuracy: spread(seeds.map((s) => s.validationAccuracy)),
  };
  const out = join(dir, 'report');
  await compareExperiments(
    done.map((r) => join(dir, r.experiment)),
    out,
    log,
    () => summary.sweep,
  );
  writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const rows = seeds
    .map(
      (s) =>
        `<tr><td>${s.seed}</td><td class="l">${esc(s.experiment)}</td><td>${pct(s.validationAccuracy)}</td><td>${pct(s.testAccuracy)}</td><td>${s.ensembleTestAccuracy === null ? '-' : pct(s.ensembleTestAccuracy)}</td><td>${s.params.toLocaleString('en')}</td><td>${s.individuals}</td></tr>`,
    )
    .join('\n');
  const agg = (label: string, x: Spread) => `<tr><td class="l" colspan="2">${label}</td><td colspan="5" class="l">${esc(formatSpread(x))}</td></tr>`;
  writeFileAtomic(
    join(out, 'sweep.html'),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>evonas sweep ${esc(summary.sweep)}</title><style>${STYLE}</style></head><body>
<h1>evonas sweep ${esc(summary.sweep)}</h1>
<p>${seeds.length} seeds, ${(summary.budgetSeconds / 60).toFixed(1)} minutes each; evolve ${esc(m.evolveArgs.join(' ') || '(defaults)')}. Per seed: the best individual by validation accuracy, tested once.</p>
<table><tr><th>seed</th><th class="l">experiment</th><th>validation</th><th>test</th><th>top-2 ensemble test</th><th>parameters</th><th>individuals</th></tr>
${rows}
${agg('test accuracy', summary.testAccuracy)}
${summary.ensembleTestAccuracy ? agg('ensemble test accuracy', summary.ensembleTestAccuracy) : ''}</table>
<p><a href="index.html">Best-so-far curves: mean and range over the seeds</a></p></body></html>\n`,
  );
  return summary;
}
