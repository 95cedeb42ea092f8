// The NAS-Bench-201 space: the benchmark's cell strings round-trip, the
// canonical form equates what computes the same, the skeleton's parameters
// match a count by hand, and the registry runs the space like any other.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { importDataset } from '../src/data/import.js';
import { validateConfig } from '../src/evolution/config.js';
import { analyze } from '../src/net/analyze.js';
import { settingsOf, spaceOf } from '../src/spaces/index.js';
import { BenchmarkError, canonicalCell, compileNb201, EDGES, formatCell, mutateCell, NB201_OPS, parseCell, randomCell, readBenchmark, validateNb201 } from '../src/spaces/nb201/index.js';
import type { Nb201Op } from '../src/spaces/nb201/index.js';
import { createRng } from '../src/util/rng.js';
import { runCli } from './support/cli.js';
import { cifar10Folder } from './support/formats.js';

const table = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'datasets', 'nas-bench-201.csv');
const io = { channels: 3, height: 32, width: 32, classes: 10 };
const all = (op: Nb201Op) => EDGES.map(() => op);

describe('the NAS-Bench-201 cell', () => {
  it("parses and prints every one of the benchmark's 15,625 cell strings exactly", { skip: !existsSync(table) && 'no ../shared/datasets/nas-bench-201.csv' }, () => {
    const rows = readFileSync(table, 'utf8').trim().split('\n').slice(1);
    assert.equal(rows.length, 15_625);
    const seen = new Set<string>();
    const forms = new Set<string>();
    for (const row of rows) {
      const cell = row.split(',')[1]!;
      const ops = parseCell(cell);
      assert.equal(formatCell(ops), cell);
      seen.add(cell);
      forms.add(canonicalCell(ops));
    }
    assert.equal(seen.size, 15_625, 'every cell once: 5 ops on 6 edges');
    assert.equal(forms.size, 6_466, "the benchmark's count of unique cells");
  });

  it('refuses a malformed cell naming the fault', () => {
    assert.throws(() => parseCell('|nor_conv_3x3~0|+|none~0|none~1|'), /expected 3 nodes/);
    assert.throws(() => parseCell('|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|'), /unknown op "conv"/);
    assert.throws(() => parseCell('|none~0|+|none~1|none~0|+|none~0|none~1|none~2|'), /input 0 should read ~0/);
    assert.throws(() => validateNb201({ bits: [] }), /expected \{"cell"/);
  });

  it("canonical form as the benchmark's: a cut-off node makes its other edges irrelevant; skips and sum order do not matter", () => {
    const c = (s: string) => canonicalCell(parseCell(s));
    // Node 1 receives nothing, so what it feeds does not matter.
    assert.equal(c('|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|'), c('|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|'));
    // conv(x) through a skip, or straight.
    assert.equal(c('|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|'), c('|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|'));
    // conv(x) + x at node 2, whichever edge carries the conv (node 1 is x through a skip).
    assert.equal(c('|skip_connect~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|skip_connect~2|'), c('|skip_connect~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|'));
    // Different functions stay apart.
    assert.notEqual(c('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|'), c('|nor_conv_1x1~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|'));
    assert.equal(c(formatCell(all('none'))), '#+#+#');
  });

  it('mutation changes one edge to another op; random cells cover every op', () => {
    const rng = createRng(3);
    let ops = all('nor_conv_3x3');
    for (let k = 0; k < 200; k++) {
      const m = mutateCell(ops, rng);
      assert.equal(m.ops.filter((o, i) => o !== ops[i]).length, 1);
      assert.notEqual(m.to, m.from);
      assert.equal(m.ops[m.edge], m.to);
      ops = m.ops;
    }
    const counts = new Map<string, number>();
    for (let k = 0; k < 2000; k++) for (const o of randomCell(rng)) counts.set(o, (counts.get(o) ?? 0) + 1);
    for (const o of NB201_OPS) assert.ok(Math.abs(counts.get(o)! / 12_000 - 0.2) < 0.02, `${o}: ${counts.get(o)}`);
  });
});

describe("NAS-Bench-201's table", () => {
  it("reads a dataset's validation (the signal) and test (the report) columns", { skip: !existsSync(table) && 'no ../shared/datasets/nas-bench-201.csv' }, () => {
    const b = readBenchmark(table, 'cifar10');
    assert.equal(b.byCell.size, 15_625);
    const e = b.byCell.get('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|')!;
    assert.equal(e.index, 1);
    assert.ok(Math.abs(e.validation - 0.82834) < 1e-12 && Math.abs(e.test - 0.9366) < 1e-12, JSON.stringify(e));
    assert.ok(b.bestTest > 0.94 && b.bestTest < 0.95, String(b.bestTest));
  });

  it('refuses a file without the columns, or with a bad cell or value, naming the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'evonas-nb201-table-'));
    try {
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      };
      const header = 'index,cell,cifar10_valid_12ep,cifar10_test_200ep\n';
      const ok = file('ok.csv', `${header}0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10.0,10.0\n`);
      assert.equal(readBenchmark(ok, 'cifar10').byCell.size, 1);
      assert.throws(
        () => readBenchmark(ok, 'cifar100'),
        (e: unknown) => e instanceof BenchmarkError && /no column cifar100_valid_12ep/.test(e.message),
      );
      assert.throws(() => readBenchmark(file('cell.csv', `${header}0,|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|,10,10\n`), 'cifar10'), /cell\.csv:2: .*unknown op "conv"/);
      assert.throws(
        () => readBenchmark(file('value.csv', `${header}0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,abc,10\n`), 'cifar10'),
        /value\.csv:2: cifar10_valid_12ep: expected a percentage but found "abc"/,
      );
      assert.throws(() => readBenchmark(join(dir, 'missing.csv'), 'cifar10'), /missing\.csv: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the NAS-Bench-201 skeleton', () => {
  // By hand, C = 16, N = 5, 10 classes: a ReLU-conv-BN of k x k from a to b channels has k*k*a*b + 2b parameters.
  const rcb = (k: number, a: number, b: number) => k * k * a * b + 2 * b;
  const stem = 3 * 3 * 3 * 16 + 2 * 16;
  const reduction = (a: number) => rcb(3, a, 2 * a) + rcb(3, 2 * a, 2 * a) + a * 2 * a; // + the 1x1 shortcut, no BN
  const head = 2 * 64 + 64 * 10 + 10;
  const around = stem + reduction(16) + reduction(32) + head;

  it('has the parameters counted by hand for the all-3x3, all-skip and all-none cells', () => {
    const params = (op: Nb201Op) => analyze(compileNb201(all(op), io)).params;
    assert.equal(params('nor_conv_3x3'), around + 5 * 6 * (rcb(3, 16, 16) + rcb(3, 32, 32) + rcb(3, 64, 64)));
    assert.equal(params('nor_conv_3x3'), 1_531_546, "the benchmark's largest network: 1.53 M parameters");
    assert.equal(params('skip_connect'), around);
    assert.equal(params('none'), around);
    assert.equal(params('nor_conv_1x1'), around + 5 * 6 * (rcb(1, 16, 16) + rcb(1, 32, 32) + rcb(1, 64, 64)));
  });

  it('scales with cellsPerStage and channels, and a cut-off cell compiles to zeros', () => {
    const small = compileNb201(all('nor_conv_3x3'), io, { cellsPerStage: 1, channels: 4 });
    assert.equal(analyze(small).params, 3 * 3 * 3 * 4 + 8 + reductionAt(4) + reductionAt(8) + 2 * 16 + 16 * 10 + 10 + 6 * (rcb(3, 4, 4) + rcb(3, 8, 8) + rcb(3, 16, 16)));
    const cut = compileNb201(parseCell('|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|'), io, { cellsPerStage: 1, channels: 4 });
    assert.ok(
      cut.nodes.some((n) => n.op === 'zero'),
      'node 1 passes nothing',
    );
    analyze(cut);
    function reductionAt(a: number) {
      return rcb(3, a, 2 * a) + rcb(3, 2 * a, 2 * a) + a * 2 * a;
    }
  });

  it('is a registered space: configured, seeded, mutated, rendered', () => {
    const c = validateConfig({ data: '/d', space: 'nb201', nb201: { cellsPerStage: 1, channels: 8 } });
    assert.deepEqual(
      [c.algorithm, settingsOf('nb201', c), c.schedule],
      ['aging', { cellsPerStage: 1, channels: 8, learningRate: 0.01 }, {}],
      "the space's defaults: aging, one edge per child throughout",
    );
    assert.deepEqual(validateConfig({ data: '/d' }).schedule, { mutationRate: [{ from: 0, to: 180, k: 3 }] }, "the graph space keeps evonas's warm-up");
    assert.throws(() => validateConfig({ data: '/d', space: 'nb201', nb201: { cells: 1 } }), /nb201\.cells: unknown field/);
    const space = spaceOf('nb201');
    const settings = settingsOf('nb201', c);
    const population = space.initialPopulation(20, createRng(1), settings);
    assert.equal(new Set(population.map((d) => (d as { cell: string }).cell)).size > 15, true, 'drawn, not all alike');
    const child = space.mutate!(population[0], createRng(2), 1, settings);
    assert.equal((child.records[0] as { type: string }).type, 'alter-edge');
    const draws = new Set(Array.from({ length: 50 }, (_, k) => (space.randomIndividual!(createRng(k), settings) as { cell: string }).cell));
    assert.ok(draws.size > 45, 'random search draws fresh cells');
    assert.match(space.render(population[0], io, 'cell'), /^<svg[\s\S]*nor_conv|^<svg[\s\S]*skip_connect|^<svg[\s\S]*avg_pool|^<svg[\s\S]*none/);
    assert.equal(analyze(space.compile(population[0], io, settings)).shapes.at(-1)!.kind, 'flat');
  });
});

describe('nb201 through the normal paths', () => {
  const root = mkdtempSync(join(tmpdir(), 'evonas-nb201-'));
  const cache = join(root, 'cache');
  before(async () => {
    await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('trains one cell with evonas train, scaled down', async () => {
    const cell = '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|';
    const r = await runCli(['train', '--data', cache, '--cell', cell, '--cells-per-stage', '1', '--channels', '4', '--steps', '20', '--batch', '10', '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /training nb201 \|nor_conv_3x3~0\|.* \(0\.01M parameters/);
    assert.match(r.stdout, /done after 20 steps .*validation accuracy 0\.\d{4}/);
  });

  it('evolves with --space nb201, then reports and exports like any space', async () => {
    const exp = join(root, 'exp');
    const e = await runCli([
      'evolve',
      '--data',
      cache,
      '--out',
      exp,
      '--space',
      'nb201',
      '--cells-per-stage',
      '1',
      '--channels',
      '4',
      '--population',
      '4',
      '--workers',
      '1',
      '--steps',
      '5',
      '--batch',
      '10',
      '--max-children',
      '6',
      '--time-budget',
      '120s',
    ]);
    assert.equal(e.code, 0, e.stderr);
    const config = JSON.parse(readFileSync(join(exp, 'experiment.json'), 'utf8'));
    assert.deepEqual([config.space, config.algorithm, settingsOf('nb201', config)], ['nb201', 'aging', { cellsPerStage: 1, channels: 4, learningRate: 0.01 }]);
    const r = await runCli(['report', exp]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(readFileSync(join(exp, 'report', 'summary.json'), 'utf8'));
    assert.match(summary.best.cell, /^\|[a-z_0-9]+~0\|\+/, 'the report shows the best cell');
    assert.ok(summary.individuals >= 10, `${summary.individuals} individuals`);
    const x = await runCli(['export', exp, '--format', 'onnx', '--out', join(root, 'best.onnx')]);
    assert.equal(x.code, 0, x.stderr);
  });
});
