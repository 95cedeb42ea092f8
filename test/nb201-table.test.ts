// The looked-up evaluator: a search over NAS-Bench-201's table on a
// simulated clock. The table here is made by the test (every one of the
// 15,625 cells, with accuracies the test can predict), so each check knows
// the answer: which cell is best, what each evaluation costs, when each
// child may be born.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../src/evolution/config.js';
import type { ExperimentConfig } from '../src/evolution/config.js';
import { tableOf } from '../src/spaces/index.js';
import { EDGES, formatCell, NB201_OPS, parseCell } from '../src/spaces/nb201/index.js';
import type { Nb201Op } from '../src/spaces/nb201/index.js';
import { FileStore, MemoryStore } from '../src/store/index.js';
import type { Individual, PopulationStore } from '../src/store/index.js';
import { evaluationCost, simulate } from '../src/worker/simulate.js';
import { seedStore } from '../src/worker/supervisor.js';
import { runCli } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-nb201-table-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Validation: 10 points per nor_conv_3x3 edge plus 1 per nor_conv_1x1, out of 100; test: validation + 5. The all-3x3 cell is the one best. */
const SCORE: Record<Nb201Op, number> = { none: 0, skip_connect: 0, nor_conv_1x1: 1, nor_conv_3x3: 10, avg_pool_3x3: 0 };
const validationOf = (cell: string) => (20 + parseCell(cell).reduce((s, op) => s + SCORE[op], 0)) / 100;

function writeTable(path: string): string {
  const lines = ['index,cell,cifar10_valid_12ep,cifar10_test_200ep,cifar100_valid_12ep,cifar100_test_200ep'];
  for (let n = 0; n < NB201_OPS.length ** EDGES.length; n++) {
    const ops = EDGES.map((_, e) => NB201_OPS[Math.floor(n / NB201_OPS.length ** e) % NB201_OPS.length]!);
    const cell = formatCell(ops);
    const v = 100 * validationOf(cell);
    lines.push(`${n},${cell},${v.toFixed(3)},${(v + 5).toFixed(3)},${(v / 2).toFixed(3)},${(v / 2 + 1).toFixed(3)}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const csv = writeTable(join(root, 'table.csv'));
const BEST = formatCell(EDGES.map(() => 'nor_conv_3x3' as const));

function config(o: Record<string, unknown> = {}): ExperimentConfig {
  return validateConfig({ space: 'nb201', evaluator: 'table', benchmark: { path: csv, dataset: 'cifar10' }, population: 20, workers: 4, seed: 7, ...o });
}

async function run(c: ExperimentConfig, store: PopulationStore, budget: { seconds: number; evaluations?: number }, startedAt = Date.parse('2026-01-01T00:00:00Z')) {
  const table = tableOf(c);
  await seedStore(store, c);
  const r = await simulate({ config: c, table, store, startedAt, budget });
  return { r, table, all: await store.list() };
}

const born = (all: Individual[]) => all.filter((i) => i.parent !== null).sort((a, b) => (a.id < b.id ? -1 : 1));

describe('the table evaluator: configuration', () => {
  it('needs no dataset, but a benchmark of a space that has one, for one of its datasets', () => {
    assert.equal(config().data, undefined);
    assert.throws(() => validateConfig({ space: 'nb201', evaluator: 'table' }), /^ConfigError: benchmark: required with evaluator table/);
    assert.throws(
      () => validateConfig({ space: 'graph', evaluator: 'table', benchmark: { path: csv, dataset: 'cifar10' } }),
      /evaluator: the graph space has no tabular benchmark \(spaces with one: nb201\)/,
    );
    assert.throws(() => config({ benchmark: { path: csv, dataset: 'svhn' } }), /benchmark\.dataset: expected one of cifar10, cifar100, imagenet16 but found "svhn"/);
    assert.throws(() => validateConfig({ space: 'nb201' }), /data: expected the path of a dataset cache \(required to train\)/);
    assert.throws(() => config({ stagnation: { window: 60, remedy: 'both' } }), /stagnation: not with evaluator table/);
    assert.throws(() => config({ schedule: { weightResets: [60] } }), /schedule\.weightResets: not with evaluator table/);
  });

  it('reads the columns of the chosen dataset, and refuses a table without them by name', () => {
    const t = tableOf(config({ benchmark: { path: csv, dataset: 'cifar100' } }));
    assert.equal(t.validation({ cell: BEST }), validationOf(BEST) / 2);
    assert.equal(t.io.classes, 100);
    assert.throws(() => tableOf(config({ benchmark: { path: csv, dataset: 'imagenet16' } })), /table\.csv: no column imagenet16_valid_12ep in the header/);
  });

  it('charges each evaluation for the training the table recorded: a bigger cell costs more, the empty cell the skeleton', () => {
    const c = config();
    const t = tableOf(c);
    const conv = evaluationCost(c, t, { cell: BEST });
    const none = evaluationCost(c, t, { cell: formatCell(EDGES.map(() => 'none' as const)) });
    assert.ok(none.seconds > 0 && conv.seconds > 5 * none.seconds, `${conv.seconds} vs ${none.seconds}`);
    // 12 epochs of 25,000 images at 256 a batch; the cost is FLOPs at the simulated rate.
    assert.equal(conv.steps, 12 * Math.ceil(25_000 / 256));
    assert.ok(Math.abs(conv.seconds - (conv.trainFlops + conv.validationFlops) / 1e12) < 1e-9);
  });
});

describe('the table evaluator: simulated workers', () => {
  it('spends exactly the evaluation budget and finds the best cell of a simple table', async () => {
    const { r, all } = await run(config({ algorithm: 'aging', sampleSize: 5 }), new MemoryStore(), { seconds: Number.POSITIVE_INFINITY, evaluations: 400 });
    assert.equal(r.evaluations, 400);
    assert.equal(born(all).length, 400);
    const best = born(all).reduce((b, i) => (i.fitness! > b.fitness! ? i : b));
    assert.equal((best.dna as { cell: string }).cell, BEST);
    for (const i of born(all)) assert.equal(i.fitness, validationOf((i.dna as { cell: string }).cell), 'fitness is the table validation');
  });

  it("runs on the simulated clock: a worker is busy for each evaluation's cost, and a step sees only children born before it began", async () => {
    const c = config({ algorithm: 'tournament', workers: 5 });
    const start = Date.parse('2026-01-01T00:00:00Z');
    const { r, all, table } = await run(c, new MemoryStore(), { seconds: 6 * 3600 });
    const byId = new Map(all.map((i) => [i.id, i]));
    const children = born(all);
    assert.ok(children.length > 50, `${children.length} children`);
    const t = (i: Individual) => (Date.parse(i.bornAt) - start) / 1000;
    for (const w of new Set(children.map((i) => i.worker))) {
      let free = 0;
      for (const i of children.filter((x) => x.worker === w).sort((a, b) => t(a) - t(b))) {
        const cost = evaluationCost(c, table, i.dna).seconds;
        assert.ok(t(i) - cost >= free - 0.002, `${w}: ${i.id} began at ${t(i) - cost} before its worker was free at ${free}`);
        free = t(i);
        const parent = byId.get(i.parent!)!;
        if (parent.fitness !== null) assert.ok(t(parent) <= t(i) - cost + 0.002, `${i.id}'s parent was born after the step that chose it`);
      }
    }
    assert.ok(
      children.every((i) => t(i) <= 6 * 3600),
      'nothing is born after the deadline',
    );
    assert.ok(r.seconds <= 6 * 3600 && r.seconds > 5 * 3600, `the clock reached ${r.seconds} s`);
  });

  it('repeats with its seed, and the filesystem store makes the same individuals as the memory store', async () => {
    const c = config({ algorithm: 'aging', sampleSize: 4, workers: 3 });
    const key = (all: Individual[]) => born(all).map((i) => `${i.bornAt} ${i.worker} ${(i.dna as { cell: string }).cell} ${i.fitness}`);
    const budget = { seconds: Number.POSITIVE_INFINITY, evaluations: 120 };
    const a = key((await run(c, new MemoryStore(), budget)).all);
    const b = key((await run(c, new MemoryStore(), budget)).all);
    const f = key((await run(c, new FileStore(join(root, 'fs-same')), budget)).all);
    assert.equal(a.length, 120);
    assert.deepEqual(b, a);
    assert.deepEqual(f, a);
    const other = key((await run(config({ algorithm: 'aging', sampleSize: 4, workers: 3, seed: 8 }), new MemoryStore(), budget)).all);
    assert.notDeepEqual(other, a);
  });

  it('aging never removes an untrained individual: every initial cell is evaluated before it leaves', async () => {
    // Population 20 with 6 workers: during the warm-up most alive cells are untrained or under evaluation, and
    // (the run starting after the seeding, as evonas evolve's does) the initial cells are the oldest.
    for (const seed of [7, 8, 9]) {
      const { all } = await run(config({ algorithm: 'aging', sampleSize: 5, workers: 6, seed }), new MemoryStore(), { seconds: Number.POSITIVE_INFINITY, evaluations: 200 }, Date.now() + 1000);
      // An initial cell leaves when its evaluated copy is stored, retired by the worker that evaluated it; any other death lost it unseen.
      const copies = new Map(all.filter((i) => (i.mutations[0] as { detail?: { initialTraining?: number } } | undefined)?.detail?.initialTraining).map((i) => [i.parent, i]));
      const initial = all.filter((i) => i.parent === null);
      const lost = initial.filter((i) => i.state === 'dead' && copies.get(i.id)?.worker !== i.killedBy);
      assert.deepEqual(
        lost.map((i) => i.id),
        [],
        `seed ${seed}: initial cells that died unevaluated`,
      );
      const alive = all.filter((i) => i.state === 'alive').length;
      assert.ok(alive <= 20, `seed ${seed}: ${alive} alive over the set-point 20`);
    }
  });

  it('random search draws every cell afresh; evolution mutates one edge', async () => {
    const rand = born((await run(config({ algorithm: 'random' }), new MemoryStore(), { seconds: Number.POSITIVE_INFINITY, evaluations: 80 })).all);
    const drawn = rand.filter((i) => (i.mutations[0] as { type: string }).type === 'random-draw');
    assert.ok(drawn.length >= 50, `${drawn.length} fresh draws`);
    const evo = born((await run(config({ algorithm: 'aging', sampleSize: 5 }), new MemoryStore(), { seconds: Number.POSITIVE_INFINITY, evaluations: 80 })).all);
    const byId = new Map(evo.map((i) => [i.id, i]));
    const mutated = evo.filter((i) => (i.mutations[0] as { type: string }).type === 'alter-edge');
    assert.ok(mutated.length >= 40);
    for (const i of mutated.filter((x) => byId.has(x.parent!))) {
      const a = parseCell((i.dna as { cell: string }).cell);
      const p = parseCell((byId.get(i.parent!)!.dna as { cell: string }).cell);
      assert.equal(a.filter((op, e) => op !== p[e]).length, 1, 'one edge changed');
    }
  });
});

describe('the table evaluator: evonas evolve and report', () => {
  it('evolves 250 simulated workers at population 1,000 over the folder store; the report reads the test column', async () => {
    const exp = join(root, 'cli');
    const r = await runCli([
      'evolve',
      '--space',
      'nb201',
      '--evaluator',
      'table',
      '--benchmark',
      csv,
      '--dataset',
      'cifar10',
      '--out',
      exp,
      '--max-children',
      '1500',
      '--population',
      '1000',
      '--workers',
      '250',
      '--algorithm',
      'tournament',
      '--seed',
      '3',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /250 simulated workers, accuracies looked up in .*table\.csv \(cifar10\) on a simulated clock, until 1500 evaluations/);
    assert.match(r.stdout, /stopped: 1500 children evaluated, 1000 alive/);
    const store = new FileStore(exp);
    assert.deepEqual((await store.check()).problems, []);
    const rep = await runCli(['report', exp]);
    assert.equal(rep.code, 0, rep.stderr);
    const s = JSON.parse(readFileSync(join(exp, 'report', 'summary.json'), 'utf8'));
    const all = await store.list();
    const bestValidation = Math.max(...all.filter((i) => i.fitness !== null).map((i) => i.fitness!));
    assert.equal(s.best.validationAccuracy, bestValidation);
    assert.ok(Math.abs(s.best.testAccuracy - (bestValidation + 0.05)) < 1e-9, 'test = the table test column of the chosen cell');
    assert.equal(s.clock, 'simulated');
    assert.equal(s.ensemble, undefined);
    assert.ok(Math.abs(s.table.bestTest - (validationOf(BEST) + 0.05)) < 1e-9);
    assert.ok(s.bestSoFar.length >= 2 && s.bestSoFar.every((p: { testAccuracy: number | null }) => p.testAccuracy !== null));
    assert.ok(existsSync(join(exp, 'report', 'figure1.png')));
    assert.match(readFileSync(join(exp, 'report', 'index.html'), 'utf8'), /simulated time \(hours\)/);
    assert.match(rep.stdout, /the best test accuracy in the whole table is/);

    const ex = await runCli(['export', exp, '--format', 'onnx', '--out', join(root, 'x.onnx')]);
    assert.equal(ex.code, 1);
    assert.match(ex.stderr, /looked up in .*table\.csv, not trained, so there are no weights to export/);
    assert.equal(existsSync(join(root, 'x.onnx')), false);
    const w = await runCli(['worker', exp]);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /workers are simulated by evonas evolve/);
    const again = await runCli(['evolve', '--resume', exp, '--max-children', '10']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /simulated in one go and is not resumed/);
  });

  it('sweeps seeds on the simulated clock, and compare will not mix it with wall time', async () => {
    const out = join(root, 'sweep');
    const r = await runCli([
      'sweep',
      '--seeds',
      '1,2',
      '--space',
      'nb201',
      '--evaluator',
      'table',
      '--benchmark',
      csv,
      '--dataset',
      'cifar10',
      '--population',
      '10',
      '--workers',
      '2',
      '--max-children',
      '60',
      '--out',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /seeds 1, 2, 60 evaluations each/);
    const s = JSON.parse(readFileSync(join(out, 'report', 'summary.json'), 'utf8'));
    assert.equal(s.seeds.length, 2);
    assert.equal(s.ensembleTestAccuracy, null);
    assert.match(readFileSync(join(out, 'report', 'index.html'), 'utf8'), /simulated time \(hours\)/);
    const wall = join(root, 'wall-report');
    mkdirSync(join(wall, 'report'), { recursive: true });
    const one = JSON.parse(readFileSync(join(out, 'seed-1', 'report', 'summary.json'), 'utf8'));
    writeFileSync(join(wall, 'report', 'summary.json'), JSON.stringify({ ...one, clock: 'wall' }));
    const mixed = await runCli(['compare', join(out, 'seed-1'), wall, '--out', join(root, 'mixed')]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /mix wall time and a simulated clock/);
  });

  it('refuses a missing budget, a missing table and a bad row, writing nothing', async () => {
    const flags = (out: string) => ['evolve', '--space', 'nb201', '--evaluator', 'table', '--dataset', 'cifar10', '--out', join(root, out)];
    const none = await runCli([...flags('nobudget'), '--benchmark', csv]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs a budget: --max-children N/);
    const missing = await runCli([...flags('missing'), '--benchmark', join(root, 'nope.csv'), '--max-children', '10']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.csv: ENOENT/);
    const bad = join(root, 'bad.csv');
    writeFileSync(bad, readFileSync(csv, 'utf8').replace(/\n(\d+,[^,]+),[\d.]+,/, '\n$1,high,'));
    const badRow = await runCli([...flags('badrow'), '--benchmark', bad, '--max-children', '10']);
    assert.equal(badRow.code, 1);
    assert.match(badRow.stderr, /bad\.csv:2: cifar10_valid_12ep: expected a percentage but found "high"/);
    for (const out of ['missing', 'badrow']) assert.equal(existsSync(join(root, out)), false, `${out}: nothing written`);
  });
});
