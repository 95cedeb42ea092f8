/**
 * npm run bench:nb201
 * The algorithms at the paper's scale, on NAS-Bench-201's table (evaluator
 * table, CIFAR-10: selecting by cifar10_valid_12ep, reporting
 * cifar10_test_200ep of the best-by-validation cell):
 * 1. NB201_SEEDS seeds (default 100) each of aging evolution, the 2017
 *    paper's tournament and random search (fresh uniform cells), for
 *    NB201_EVALUATIONS evaluations (default 1,000), with 1, 10 and 250
 *    simulated workers, over the memory store (the same draws as the
 *    filesystem store; a test checks that they agree);
 * 2. population 1,000 with 250 workers over the filesystem store: evaluations
 *    per second of wall time and the store's share of it.
 * Writes docs/findings/nb201/results.md (the tables, regenerated whole) and
 * compare.png in the tree it runs from; the written analysis beside them,
 * README.md, is a person's and is never touched. Last line:
 * `nb201 cifar10 1000 evaluations: aging M±S, tournament M±S, random M±S (table best B)`.
 * The table: NB201_BENCHMARK (default ../shared/datasets/nas-bench-201.csv).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../src/evolution/config.js';
import { compareSpec, render } from '../src/report/charts.js';
import type { BandPoint } from '../src/report/charts.js';
import { rankByValidation } from '../src/experiment/open.js';
import { spread } from '../src/report/sweep.js';
import type { Spread } from '../src/report/sweep.js';
import { tableOf } from '../src/spaces/index.js';
import { FileStore, MemoryStore, TimedStore } from '../src/store/index.js';
import type { Individual } from '../src/store/index.js';
import { simulate } from '../src/worker/simulate.js';
import type { EvaluationCost } from '../src/worker/simulate.js';
import { seedStore } from '../src/worker/supervisor.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const path = resolve(process.env.NB201_BENCHMARK ?? join(root, '..', 'shared', 'datasets', 'nas-bench-201.csv'));
const seeds = Number(process.env.NB201_SEEDS ?? 100);
const evaluations = Number(process.env.NB201_EVALUATIONS ?? 1000);
const population = Number(process.env.NB201_POPULATION ?? 50);
const sampleSize = Number(process.env.NB201_SAMPLE ?? 10);
const workerCounts = (process.env.NB201_WORKERS ?? '1,10,250').split(',').map(Number);
const docs = resolve(process.env.NB201_DOCS ?? join(root, 'docs', 'findings', 'nb201'));
const cpu = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;
const benchmark = { path, dataset: 'cifar10' };
const table = tableOf({ space: 'nb201', evaluator: 'table', benchmark });
const costs = new Map<string, EvaluationCost>();
const pct = (x: number) => (100 * x).toFixed(2);
const fmt = (s: Spread) => `${pct(s.mean)}±${pct(s.std)}`;

const ARMS = [
  { name: 'aging', algorithm: 'aging' },
  { name: 'tournament', algorithm: 'tournament' },
  { name: 'random', algorithm: 'random' },
] as const;

/** The test accuracy of the best by validation among the first n evaluations, for each n (the best-so-far curve by evaluations). */
function curve(all: Individual[]): number[] {
  const evaluated = all.filter((i) => i.parent !== null && i.fitness !== null).sort((a, b) => (a.bornAt < b.bornAt ? -1 : a.bornAt > b.bornAt ? 1 : a.id < b.id ? -1 : 1));
  const out: number[] = [];
  let best: Individual | undefined;
  for (const i of evaluated) {
    if (!best || i.fitness! > best.fitness!) best = i;
    out.push(table.test(best.dna));
  }
  return out;
}

console.log(`CPU: ${cpu}; table ${path}; ${seeds} seeds x ${evaluations} evaluations; population ${population}, aging sample ${sampleSize}; workers ${workerCounts.join(', ')}`);
const results: { arm: string; workers: number; test: Spread; simulatedHours: Spread; curves: number[][] }[] = [];
for (const workers of workerCounts) {
  for (const arm of ARMS) {
    const t0 = Date.now();
    const tests: number[] = [];
    const hours: number[] = [];
    const curves: number[][] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const config = validateConfig({ space: 'nb201', evaluator: 'table', benchmark, algorithm: arm.algorithm, population, sampleSize, workers, seed });
      const store = new MemoryStore();
      await seedStore(store, config);
      const r = await simulate({ config, table, store, startedAt: 0, budget: { seconds: Number.POSITIVE_INFINITY, evaluations }, costs });
      const all = await store.list();
      tests.push(table.test(rankByValidation(all, { weights: false })[0]!.dna));
      hours.push(r.seconds / 3600);
      curves.push(curve(all));
    }
    const row = { arm: arm.name, workers, test: spread(tests), simulatedHours: spread(hours), curves };
    results.push(row);
    console.log(
      `${arm.name.padEnd(10)} ${String(workers).padStart(3)} workers: test ${fmt(row.test)} (min ${pct(row.test.min)}, max ${pct(row.test.max)}), simulated ${row.simulatedHours.mean.toFixed(1)} h; ${((Date.now() - t0) / 1000).toFixed(1)} s wall for ${seeds} seeds`,
    );
  }
}

// 2. The paper's scale over the filesystem store.
const work = mkdtempSync(join(tmpdir(), 'evonas-bench-nb201-'));
let scaleLine: string;
try {
  const config = validateConfig({ space: 'nb201', evaluator: 'table', benchmark, algorithm: 'tournament', population: 1000, workers: 250, seed: 1 });
  const store = new TimedStore(new FileStore(work));
  await seedStore(store, config);
  const before = store.seconds;
  const scaleEvaluations = Number(process.env.NB201_SCALE_EVALUATIONS ?? 3000);
  const r = await simulate({ config, table, store, startedAt: 0, budget: { seconds: Number.POSITIVE_INFINITY, evaluations: scaleEvaluations }, costs });
  const check = await store.check();
  scaleLine = `population 1000, 250 workers, tournament, filesystem store: ${r.evaluations} evaluations in ${r.wallSeconds.toFixed(1)} s wall (${(r.evaluations / r.wallSeconds).toFixed(0)} evaluations/s; ${r.steps.reproduced ?? 0} reproductions, ${r.steps['trained-initial'] ?? 0} initial), store ${((100 * (store.seconds - before)) / r.wallSeconds).toFixed(0)}% of wall time; simulated ${(r.seconds / 3600).toFixed(1)} h; store check: ${check.alive} alive, ${check.dead} dead, ${check.problems.length} problems`;
  console.log(scaleLine);
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The figure: mean ± std of the best-so-far test accuracy against evaluations, per arm, at 10 workers (or the first count).
const shown = workerCounts.includes(10) ? 10 : workerCounts[0]!;
const points: BandPoint[] = [];
for (const r of results.filter((x) => x.workers === shown)) {
  for (let n = 0; n < evaluations; n += n < 100 ? 5 : 20) {
    const s = spread(r.curves.filter((c) => c.length > n).map((c) => c[n]!));
    points.push({ group: r.arm, hours: n + 1, mean: s.mean, lo: s.mean - s.std, hi: s.mean + s.std });
  }
}
mkdirSync(docs, { recursive: true });
writeFileSync(join(docs, 'compare.png'), (await render(compareSpec(points, `NAS-Bench-201 CIFAR-10, ${shown} workers: best so far (mean ± std over ${seeds} seeds)`, 'evaluations'))).png);
const byArm = (arm: string) => results.filter((r) => r.arm === arm);
const rows = workerCounts.map((w) => `| ${w} | ${ARMS.map((a) => `${fmt(byArm(a.name).find((r) => r.workers === w)!.test)}`).join(' | ')} |`);
const final = (arm: string) => byArm(arm).find((r) => r.workers === shown)!.test;
// Where the arms differ: the best-so-far test accuracy after fewer evaluations (the table's best-by-validation cell is also its best test cell, so 1,000 evaluations can reach the ceiling).
const checkpoints = [50, 100, 200, 500, evaluations].filter((n, i, a) => n <= evaluations && a.indexOf(n) === i);
const at = (arm: string, n: number) =>
  spread(
    byArm(arm)
      .find((r) => r.workers === shown)!
      .curves.map((c) => c[Math.min(n, c.length) - 1]!),
  );
const early = checkpoints.map((n) => `| ${n} | ${ARMS.map((a) => fmt(at(a.name, n))).join(' | ')} |`);
for (const n of checkpoints) console.log(`after ${String(n).padStart(4)} evaluations (${shown} workers): ${ARMS.map((a) => `${a.name} ${fmt(at(a.name, n))}`).join(', ')}`);
const last = `nb201 cifar10 ${evaluations} evaluations: ${ARMS.map((a) => `${a.name} ${fmt(final(a.name))}`).join(', ')} (table best ${pct(table.bestTest)})`;
writeFileSync(
  join(docs, 'results.md'),
  `# NAS-Bench-201 (CIFAR-10): aging evolution, tournament and random search at equal evaluations

Generated by \`npm run bench:nb201\` (rewritten whole on every run; the analysis is in [README.md](README.md)).

Each run: ${evaluations} evaluations (the initial population's included), population ${population} (aging: sample ${sampleSize}), looked up in NAS-Bench-201's table: selection by \`cifar10_valid_12ep\`, reported \`cifar10_test_200ep\` of the best cell by validation. ${seeds} seeds per cell of the table below; test accuracy in percent, mean ± sample std. The best \`cifar10_test_200ep\` in the whole table is ${pct(table.bestTest)}. Random search draws every cell uniformly and independently. Host: ${cpu} (the figures do not depend on it: the clock is simulated).

| workers | ${ARMS.map((a) => a.name).join(' | ')} |
|---|---|---|---|
${rows.join('\n')}

The best-by-validation cell of the whole table is also its best test cell (${pct(table.bestTest)}), so a search that finds the validation optimum reports the ceiling. Where the arms differ is how soon; the best-so-far test accuracy after n evaluations, ${shown} workers:

| evaluations | ${ARMS.map((a) => a.name).join(' | ')} |
|---|---|---|---|
${early.join('\n')}

![best so far against evaluations](compare.png)

The band is mean ± one std over the seeds at ${shown} workers.

${scaleLine}

Made with \`npm run bench:nb201\` (NB201_SEEDS=${seeds} NB201_EVALUATIONS=${evaluations} NB201_POPULATION=${population} NB201_SAMPLE=${sampleSize} NB201_WORKERS=${workerCounts.join(',')}).

${last}
`,
);
console.log(`wrote ${join(docs, 'results.md')} and compare.png`);
console.log(last);
