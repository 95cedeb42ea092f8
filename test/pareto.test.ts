// Several objectives: NSGA-II's sort and crowding checked against brute
// force, the hypervolume against a hand computation, the configuration's
// refusals, and searches on a table made here (every NAS-Bench-201 cell,
// accuracy rising with the convolutions it holds, so accuracy and FLOPs
// trade off) with the front they leave, the constraint they respect and the
// command that prints the front.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../src/evolution/config.js';
import { crowdedComparison, crowding, fronts, hypervolume, paretoFront, survivorSelection, violation } from '../src/evolution/pareto.js';
import type { Goals } from '../src/evolution/pareto.js';
import { rankByValidation } from '../src/experiment/open.js';
import { paretoOf } from '../src/experiment/pareto.js';
import { tableOf } from '../src/spaces/index.js';
import { EDGES, formatCell, NB201_OPS, parseCell } from '../src/spaces/nb201/index.js';
import type { Nb201Op } from '../src/spaces/nb201/index.js';
import { FileStore, MemoryStore } from '../src/store/index.js';
import type { Individual } from '../src/store/index.js';
import { simulate } from '../src/worker/simulate.js';
import { seedStore } from '../src/worker/supervisor.js';
import { createRng } from '../src/util/rng.js';
import { cpus } from 'node:os';
import { importDataset } from '../src/data/import.js';
import { runCli } from './support/cli.js';
import { cifar10Folder } from './support/formats.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-pareto-'));
after(() => rmSync(root, { recursive: true, force: true }));

const dominates = (a: number[], b: number[]) => a.every((x, k) => x >= b[k]!) && a.some((x, k) => x > b[k]!);

describe('NSGA-II pieces', () => {
  it('sorts into fronts as brute force does, and gives the ends of each front infinite crowding', () => {
    const rng = createRng(3);
    for (let trial = 0; trial < 20; trial++) {
      const points = Array.from({ length: 40 }, () => [rng.int(8), rng.int(8), rng.int(8)]);
      const f = fronts(points);
      for (let i = 0; i < points.length; i++) {
        // Front k: not dominated by any point of front k or later, and (k > 0) dominated by some point of front k - 1.
        for (let j = 0; j < points.length; j++) if (f[j]! >= f[i]!) assert.ok(!dominates(points[j]!, points[i]!), `trial ${trial}: ${j} dominates ${i} in its front`);
        if (f[i]! > 0)
          assert.ok(
            points.some((p, j) => f[j] === f[i]! - 1 && dominates(p, points[i]!)),
            `trial ${trial}: ${i} has no dominator in the front before`,
          );
      }
    }
    const line = [
      [0, 4],
      [1, 3],
      [2, 2],
      [3, 1],
      [4, 0],
    ];
    assert.deepEqual(fronts(line), [0, 0, 0, 0, 0]);
    const d = crowding(line, fronts(line));
    assert.equal(d[0], Number.POSITIVE_INFINITY);
    assert.equal(d[4], Number.POSITIVE_INFINITY);
    // An inner point: (2 - 0)/4 + (4 - 2)/4 along the two objectives.
    assert.equal(d[1], 1);
  });

  it('measures the hypervolume of accuracy against a cost: the staircase a hand would draw', () => {
    // Cost scaled by 100: (acc 0.5 from 10 to 40) + (0.8 from 40 to 100) = 0.5*0.3 + 0.8*0.6.
    const hv = hypervolume(
      [
        { accuracy: 0.5, cost: 10 },
        { accuracy: 0.8, cost: 40 },
        { accuracy: 0.6, cost: 50 },
      ],
      100,
    );
    assert.ok(Math.abs(hv - (0.5 * 0.3 + 0.8 * 0.6)) < 1e-12, String(hv));
    assert.equal(hypervolume([{ accuracy: 1, cost: 200 }], 100), 0, 'beyond the reference point: nothing');
  });

  it('prefers within the constraints, then the earlier front, then the less crowded', () => {
    const g: Goals = { objectives: ['accuracy', 'parameters'], constraints: { parameters: 1000 } };
    const ind = (id: string, fitness: number | null, parameters: number) => ({ id, fitness, costs: { parameters, flops: 0 } });
    const pop = [ind('a', 0.9, 900), ind('b', 0.5, 100), ind('c', 0.7, 500), ind('d', 0.6, 600), ind('over', 0.99, 2000), ind('far', 0.99, 5000), ind('new', null, 10)];
    const better = crowdedComparison(pop, g);
    assert.ok(better(pop[3]!, pop[4]!), 'a dominated individual within the limit beats one over it');
    assert.ok(better(pop[4]!, pop[5]!), 'of two over, the one over by less');
    assert.ok(better(pop[2]!, pop[3]!), 'the front beats the dominated');
    assert.ok(better(pop[0]!, pop[2]!), "the front's end beats its crowded middle");
    assert.ok(better(pop[5]!, pop[6]!), 'an untrained individual loses to everyone');
    assert.equal(violation({ parameters: 1500, flops: 0 }, g), 0.5);
    assert.deepEqual(
      paretoFront(pop, g).map((i) => i.id),
      ['b', 'c', 'a'],
      'the front within the limit, cheapest first',
    );
  });
});

describe("NSGA-II's generations (survivor selection, crowded tournaments)", () => {
  const g: Goals = { objectives: ['accuracy', 'parameters'], constraints: {} };
  const point = (i: { fitness: number | null; costs?: { parameters: number } }) => [i.fitness!, -i.costs!.parameters];

  it('keeps whole fronts while they fit, then the most isolated of the next, as brute force says', () => {
    const rng = createRng(17);
    for (let trial = 0; trial < 30; trial++) {
      const pool = Array.from({ length: 30 }, (_, k) => ({ id: `p${String(k).padStart(2, '0')}`, fitness: rng.int(10) / 10, costs: { parameters: 1 + rng.int(10), flops: 0 } }));
      const n = 5 + rng.int(20);
      const kept = survivorSelection(pool, n, g);
      assert.equal(kept.length, n);
      const f = fronts(pool.map(point));
      const d = crowding(pool.map(point), f);
      const k = new Set(kept.map((i) => i.id));
      for (let i = 0; i < pool.length; i++)
        for (let j = 0; j < pool.length; j++) {
          if (!k.has(pool[i]!.id) || k.has(pool[j]!.id)) continue;
          // A survivor is in an earlier front than one left out, or in the same front and no more crowded.
          assert.ok(f[i]! < f[j]! || (f[i] === f[j] && d[i]! >= d[j]!), `trial ${trial}: kept ${i} (front ${f[i]}, ${d[i]}) over ${j} (front ${f[j]}, ${d[j]})`);
        }
    }
  });

  it('breeds Genetic CNN generations from the survivors of parents and children together, drawn by crowded tournaments', async () => {
    const { spaceOf } = await import('../src/spaces/index.js');
    const { nextPlan, survivors } = await import('../src/evolution/generational.js');
    const { newRecord } = await import('../src/store/index.js');
    const stages = spaceOf('stages');
    const s = {
      algorithm: 'generational' as const,
      population: 6,
      seed: 4,
      space: stages,
      settings: stages.settings.parse({ generations: 3 }),
      goals: g,
    };
    const rng = createRng(5);
    const records: Individual[] = [];
    // Two generations: accuracy rises with a network's ones, parameters too, so they trade off.
    const add = (generation: number, slot: number, dna: unknown, fitness: number, parameters: number) =>
      records.push({ ...newRecord({ worker: 'w', space: 'stages', dna }), generation, slot, fitness, costs: { parameters, flops: 0 }, hasWeights: false, state: 'alive' });
    for (let slot = 0; slot < 6; slot++) add(0, slot, stages.breeding!.initial(s.settings, 1, rng)[0]!.dna, 0.1 * (slot + 1), 1000 * (slot + 1));
    // Generation 1 is dominated everywhere but one: the elite of generation 0 must survive it.
    for (let slot = 0; slot < 6; slot++) add(1, slot, stages.breeding!.initial(s.settings, 1, rng)[0]!.dna, slot === 0 ? 0.95 : 0.05, slot === 0 ? 500 : 9000);
    const kept = survivors(s, records, 1)!;
    assert.equal(kept.length, 6);
    const ids = new Set(kept.map((e) => e.id));
    const gen0 = records.filter((r) => r.generation === 0);
    const champion = records.find((r) => r.generation === 1 && r.slot === 0)!;
    assert.ok(ids.has(champion.id), 'the child that dominates everyone survives');
    // The champion dominates all of generation 0, which lies on the next front (accuracy and parameters rise together): its ends survive.
    assert.ok(ids.has(gen0[5]!.id) && ids.has(gen0[0]!.id), "the ends of generation 0's front survive");
    assert.equal(kept.filter((e) => e.fitness === 0.05).length, 0, "none of generation 1's dominated children survive while better parents are there");
    const plan = nextPlan(s, 2, [], records);
    assert.equal(plan.slots.length, 6);
    for (const slot of plan.slots)
      assert.ok(
        slot.parents.every((p) => ids.has(p)),
        `parent ${slot.parents} is not a survivor`,
      );
    assert.deepEqual(nextPlan(s, 2, [], records), plan, 'every worker plans the same');
    assert.throws(() => nextPlan(s, 2, []), /needs the earlier generations/);
  });
});

describe('the configuration', () => {
  it('takes objectives and constraints, and refuses what does not go together by field', () => {
    const c = validateConfig({ data: '/d', objectives: ['accuracy', 'flops'], constraints: { parameters: 20000 } });
    assert.deepEqual([c.objectives, c.constraints], [['accuracy', 'flops'], { parameters: 20000 }]);
    assert.deepEqual(validateConfig({ data: '/d' }).objectives, ['accuracy'], 'accuracy alone by default: the papers');
    assert.throws(() => validateConfig({ data: '/d', objectives: ['flops', 'accuracy'] }), /objectives: the first objective is accuracy/);
    assert.throws(() => validateConfig({ data: '/d', objectives: ['accuracy', 'flops', 'flops'] }), /objectives: an objective is listed twice/);
    assert.throws(() => validateConfig({ data: '/d', objectives: ['accuracy', 'joules'] }), /objectives\[1\]: expected one of accuracy, parameters, flops/);
    assert.throws(() => validateConfig({ data: '/d', constraints: { parameters: 0 } }), /constraints\.parameters: expected a whole number >= 1/);
    assert.throws(() => validateConfig({ data: '/d', constraints: { energy: 3 } }), /constraints\.energy: unknown field/);
    assert.throws(() => validateConfig({ data: '/d', constraints: { latency: 0 } }), /constraints\.latency: expected a number > 0/);
    assert.throws(
      () => validateConfig({ space: 'nb201', evaluator: 'table', benchmark: { path: '/t.csv', dataset: 'cifar10' }, objectives: ['accuracy', 'latency'] }),
      /objectives: latency: not with evaluator table/,
    );
    assert.deepEqual(validateConfig({ data: '/d', space: 'stages', objectives: ['accuracy', 'parameters'] }).objectives, ['accuracy', 'parameters'], 'generational spaces breed by NSGA-II');
  });
});

/** A table of every cell: validation 20 + 10 per 3x3 convolution + 6 per 1x1 + 2 per pooling, of 100; test 3 above. */
const SCORE: Record<Nb201Op, number> = { none: 0, skip_connect: 0, nor_conv_1x1: 6, nor_conv_3x3: 10, avg_pool_3x3: 2 };
function writeTable(path: string): string {
  const lines = ['index,cell,cifar10_valid_12ep,cifar10_test_200ep'];
  for (let n = 0; n < NB201_OPS.length ** EDGES.length; n++) {
    const cell = formatCell(EDGES.map((_, e) => NB201_OPS[Math.floor(n / NB201_OPS.length ** e) % NB201_OPS.length]!));
    const v = 20 + parseCell(cell).reduce((s, op) => s + SCORE[op], 0);
    lines.push(`${n},${cell},${v.toFixed(3)},${(v + 3).toFixed(3)}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

describe('searches on a table', () => {
  const benchmark = { path: writeTable(join(root, 'table.csv')), dataset: 'cifar10' };
  const table = tableOf({ space: 'nb201', evaluator: 'table', benchmark });
  const run = async (o: Record<string, unknown>, seed: number): Promise<Individual[]> => {
    const config = validateConfig({ space: 'nb201', evaluator: 'table', benchmark, population: 20, sampleSize: 5, workers: 4, seed, ...o });
    const store = new MemoryStore();
    await seedStore(store, config);
    await simulate({ config, table, store, startedAt: 0, budget: { seconds: Number.POSITIVE_INFINITY, evaluations: 200 } });
    return store.list();
  };
  const maxFlops = 5e8;
  const hv = (all: Individual[]) =>
    hypervolume(
      all.filter((i) => i.fitness !== null).map((i) => ({ accuracy: i.fitness!, cost: i.costs!.flops })),
      maxFlops,
    );

  it('Pareto-aware aging covers more of accuracy against FLOPs than aging by accuracy alone, seed for seed on average', async () => {
    const seeds = [1, 2, 3, 4, 5];
    let pareto = 0;
    let single = 0;
    for (const seed of seeds) {
      const p = await run({ algorithm: 'aging', objectives: ['accuracy', 'flops'] }, seed);
      const s = await run({ algorithm: 'aging' }, seed);
      assert.ok(
        p.filter((i) => i.fitness !== null).every((i) => i.costs && i.costs.flops > 0 && i.costs.parameters > 0),
        'every evaluated record carries its costs',
      );
      pareto += hv(p) / seeds.length;
      single += hv(s) / seeds.length;
    }
    assert.ok(pareto > single, `hypervolume: pareto ${pareto.toFixed(4)} vs aging ${single.toFixed(4)}`);
  });

  it('with a constraint, the best is within it and the search keeps to it once it can', async () => {
    const limit = 60e6;
    const all = await run({ algorithm: 'aging', constraints: { flops: limit } }, 7);
    const best = rankByValidation(all, { weights: false, constraints: { flops: limit } })[0]!;
    assert.ok(best.costs!.flops <= limit, `the best needs ${best.costs!.flops} FLOPs`);
    const unconstrained = rankByValidation(all, { weights: false })[0]!;
    assert.ok(unconstrained.fitness! >= best.fitness!);
    const byId = new Map(all.map((i) => [i.id, i]));
    // The parents of the later children: once the population holds feasible individuals, none over the limit reproduces.
    const children = all.filter((i) => i.parent !== null && (i.mutations[0] as { type?: string } | undefined)?.type === 'alter-edge');
    const late = children.slice(-100);
    const overParents = late.filter((c) => (byId.get(c.parent!)?.costs?.flops ?? 0) > limit).length;
    assert.ok(overParents <= 2, `${overParents} of the last 100 children have a parent over the limit`);
  });

  it('evonas pareto prints the front of a run, cheapest first, none dominated by anything evaluated', async () => {
    const out = join(root, 'cli');
    const r = await runCli([
      'evolve',
      '--out',
      out,
      '--space',
      'nb201',
      '--evaluator',
      'table',
      '--benchmark',
      benchmark.path,
      '--dataset',
      'cifar10',
      '--population',
      '12',
      '--workers',
      '2',
      '--max-children',
      '120',
      '--objectives',
      'accuracy,parameters',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const printed = await runCli(['pareto', out]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /on the front of accuracy, parameters/);
    const f = await paretoOf(out);
    const everyone = await new FileStore(out).list();
    assert.ok(f.members.length >= 2, `${f.members.length} on the front`);
    for (let k = 1; k < f.members.length; k++) {
      assert.ok(f.members[k]!.parameters >= f.members[k - 1]!.parameters, 'cheapest first');
      assert.ok(f.members[k]!.validationAccuracy > f.members[k - 1]!.validationAccuracy, 'each dearer member is more accurate');
    }
    for (const m of f.members)
      for (const i of everyone)
        if (i.fitness !== null && i.costs) assert.ok(!dominates([i.fitness, -i.costs.parameters], [m.validationAccuracy, -m.parameters]), `${i.id} dominates the front's ${m.id}`);
    for (const m of f.members) assert.ok(printed.stdout.includes(m.id), `${m.id} printed`);
    const bad = await runCli(['pareto', out, '--objectives', 'flops']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /objectives: the first objective is accuracy/);
  });
});

describe('latency, measured by the worker', () => {
  it('is recorded for every trained child, with the CPU it was measured on, and judged like any cost', async () => {
    const cache = join(root, 'cache');
    await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
    const out = join(root, 'latency');
    const tiny = ['--population', '3', '--workers', '1', '--threads', '1', '--steps', '2', '--batch', '10', '--finish', '0', '--max-children', '5', '--time-budget', '60s'];
    const r = await runCli(['evolve', '--data', cache, '--out', out, ...tiny, '--objectives', 'accuracy,latency', '--max-latency', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const trained = (await new FileStore(out).list()).filter((i) => i.fitness !== null);
    assert.ok(trained.length >= 5);
    for (const i of trained) {
      assert.ok(i.costs!.latency! > 0 && Number.isFinite(i.costs!.latency!), `${i.id}: latency ${i.costs!.latency}`);
      assert.match(i.costs!.latencyOn!, new RegExp(`^${cpus()[0]!.model.trim().replace(/[()]/g, '.')}, 1 thread$`));
    }
    const printed = await runCli(['pareto', out]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /ms\/image/);
    assert.match(printed.stdout, /latency measured on /);
  });

  it('times a batch of one: warm-up, then the median of repeats', async () => {
    const { compile, createDataset } = await import('../src/engine/index.js');
    const { smallConvNet } = await import('./support/helpers.js');
    const net = compile(smallConvNet(16), { seed: 1, threads: 1 });
    const one = createDataset({ images: new Uint8Array(16 * 16 * 3), labels: [0], height: 16, width: 16, channels: 3 });
    const two = createDataset({ images: new Uint8Array(2 * 16 * 16 * 3), labels: [0, 1], height: 16, width: 16, channels: 3 });
    try {
      const ms = await net.latency(one, { warmup: 1, repeats: 5 });
      assert.ok(ms > 0 && ms < 10_000, String(ms));
      await assert.rejects(net.latency(two), /Expected a dataset of one image for latency but received 2/);
    } finally {
      net.dispose();
      one.dispose();
      two.dispose();
    }
  });
});
