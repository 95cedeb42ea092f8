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
 * `nb201 cifar10 1000 evaluations: aging M±S, tournament M±S, random M±S (table best B)`;
 * 3. several objectives: the hypervolume of accuracy against FLOPs (see
 *    paretoPart), written to docs/findings/nb201/pareto.md. Last line:
 * `nb201 pareto hypervolume: pareto M±S, aging M±S, random M±S (table front H)`.
 * NB201_PARTS=algorithms or =pareto runs one of them.
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
import { evaluationCost, simulate } from '../src/worker/simulate.js';
import type { EvaluationCost } from '../src/worker/simulate.js';
import { seedStore } from '../src/worker/supervisor.js';
import { hypervolume } from '../src/evolution/pareto.js';
import { formatCell, NB201_OPS } from '../src/spaces/nb201/index.js';

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

async function algorithmsPart(): Promise<void> {
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
}

/**
 * 3. Several objectives: hypervolume of validation accuracy against forward
 * FLOPs per image reached by every evaluation of a run (the history, as the
 * front a user is handed), for Pareto-aware aging (NSGA-II's crowded
 * comparison), single-objective aging and random search, NB201_SEEDS seeds of
 * NB201_EVALUATIONS evaluations at 10 workers; the whole table's exact front
 * (all 15,625 cells, FLOPs from compiling each) as the reference. The cost
 * axis runs from 0 to the largest cell's FLOPs.
 */
async function paretoPart(): Promise<string> {
  const t0 = Date.now();
  const cells: { accuracy: number; cost: number }[] = [];
  const config0 = validateConfig({ space: 'nb201', evaluator: 'table', benchmark, seed: 0 });
  const ops = NB201_OPS;
  for (let code = 0; code < ops.length ** 6; code++) {
    const cell = formatCell(Array.from({ length: 6 }, (_, k) => ops[Math.floor(code / ops.length ** k) % ops.length]!));
    const dna = { cell };
    const c = evaluationCost(config0, table, dna);
    costs.set(JSON.stringify(dna), c);
    cells.push({ accuracy: table.validation(dna), cost: c.costs.flops });
  }
  const maxCost = Math.max(...cells.map((c) => c.cost));
  const tableHv = hypervolume(cells, maxCost);
  console.log(`the table's exact front: ${cells.length} cells, hypervolume ${tableHv.toFixed(4)} (FLOPs up to ${(maxCost / 1e6).toFixed(1)} M); ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const arms = [
    { name: 'pareto', algorithm: 'aging', objectives: ['accuracy', 'flops'] },
    { name: 'aging', algorithm: 'aging', objectives: ['accuracy'] },
    { name: 'random', algorithm: 'random', objectives: ['accuracy'] },
  ] as const;
  const out: Record<string, Spread> = {};
  for (const arm of arms) {
    const t1 = Date.now();
    const hv: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const config = validateConfig({ space: 'nb201', evaluator: 'table', benchmark, algorithm: arm.algorithm, objectives: [...arm.objectives], population, sampleSize, workers: 10, seed });
      const store = new MemoryStore();
      await seedStore(store, config);
      await simulate({ config, table, store, startedAt: 0, budget: { seconds: Number.POSITIVE_INFINITY, evaluations }, costs });
      hv.push(
        hypervolume(
          (await store.list()).filter((i) => i.fitness !== null && i.costs).map((i) => ({ accuracy: i.fitness!, cost: i.costs!.flops })),
          maxCost,
        ),
      );
    }
    out[arm.name] = spread(hv);
    console.log(
      `${arm.name.padEnd(8)} hypervolume ${out[arm.name]!.mean.toFixed(4)}±${out[arm.name]!.std.toFixed(4)} (min ${out[arm.name]!.min.toFixed(4)}); ${((Date.now() - t1) / 1000).toFixed(1)} s wall for ${seeds} seeds`,
    );
  }
  const f = (s: Spread) => `${s.mean.toFixed(4)}±${s.std.toFixed(4)}`;
  const line = `nb201 pareto hypervolume: pareto ${f(out.pareto!)}, aging ${f(out.aging!)}, random ${f(out.random!)} (table front ${tableHv.toFixed(4)})`;
  mkdirSync(docs, { recursive: true });
  writeFileSync(
    join(docs, 'pareto.md'),
    `# NAS-Bench-201 (CIFAR-10): accuracy against FLOPs, a Pareto front

Generated by \`npm run bench:nb201\` (rewritten whole on every run).

The hypervolume of validation accuracy (\`cifar10_valid_12ep\`, what the search sees) against forward FLOPs per image (from compiling each cell in the benchmark's skeleton), dominated by every cell a run evaluated, from the reference point (accuracy 0, the largest cell's ${(maxCost / 1e6).toFixed(1)} MFLOPs), the FLOPs axis scaled to 1: 1.0 would be one cell as accurate as 100% at no cost. ${seeds} seeds per arm, ${evaluations} evaluations each (the initial population's included), population ${population}, 10 simulated workers; aging with sample ${sampleSize}. Mean ± sample std.

| arm | what selects | hypervolume |
|---|---|---|
| pareto | aging; the best of the sample by NSGA-II's crowded comparison (non-dominated front, then crowding distance) over the population alive | ${f(out.pareto!)} |
| aging | aging by validation accuracy alone | ${f(out.aging!)} |
| random | fresh uniform cells | ${f(out.random!)} |
| the table's exact front | all ${cells.length} cells | ${tableHv.toFixed(4)} |

Host: ${cpu} (the figures do not depend on it: the clock is simulated).

Made with \`NB201_PARTS=pareto npm run bench:nb201\` (NB201_SEEDS=${seeds} NB201_EVALUATIONS=${evaluations} NB201_POPULATION=${population} NB201_SAMPLE=${sampleSize}).

${line}
`,
  );
  console.log(`wrote ${join(docs, 'pareto.md')}`);
  return line;
}

const parts = new Set((process.env.NB201_PARTS ?? 'algorithms,pareto').split(','));
if (parts.has('algorithms')) await algorithmsPart();
if (parts.has('pareto')) console.log(await paretoPart());
