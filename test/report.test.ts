// The report's rules: the best is chosen by validation even when another
// model tests better; majority votes break ties deterministically; the
// best-so-far curve matches hand-computed data; and a real report is written.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importDataset } from '../src/data/import.js';
import { openDataset } from '../src/data/dataset.js';
import { createDataset } from '../src/engine/dataset.js';
import { compile } from '../src/engine/net.js';
import { encodeSafetensors } from '../src/engine/safetensors.js';
import { validateConfig, writeConfig } from '../src/evolution/config.js';
import { buildReport } from '../src/report/build.js';
import { bands } from '../src/report/compare.js';
import { bestSoFar, lineage, majorityVote } from '../src/report/curves.js';
import { compileDNA, initialDNA } from '../src/spaces/graph/index.js';
import { FileStore, newRecord } from '../src/store/index.js';
import { writeRun } from '../src/store/run-state.js';
import { FolderDocs } from '../src/store/docs.js';
import { learnableCifar10Folder } from './support/formats.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-report-'));
after(() => rmSync(root, { recursive: true, force: true }));
const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

describe('reporting rules', () => {
  it('the best-so-far curve: each individual that beats every earlier one, in birth order', () => {
    const rows = [
      { id: 'a', bornAt: at(10), fitness: 0.3 },
      { id: 'b', bornAt: at(5), fitness: 0.1 },
      { id: 'c', bornAt: at(20), fitness: 0.25 },
      { id: 'd', bornAt: at(30), fitness: 0.3 },
      { id: 'e', bornAt: at(40), fitness: null },
      { id: 'f', bornAt: at(50), fitness: 0.7 },
      { id: 'g', bornAt: at(60), fitness: 0.65 },
    ];
    // By hand: b (0.1) at 5 s, a (0.3) at 10 s, d ties a so a stays, f (0.7) at 50 s.
    assert.deepEqual(
      bestSoFar(rows).map((r) => r.id),
      ['b', 'a', 'f'],
    );
  });

  it('majority votes; equal votes go to the larger summed probability', () => {
    // one-hot-ish probabilities that agree with each member's class, with a per-member confidence
    const vote = (classes: number[], confidence: number[]) => {
      const probabilities = new Float64Array(classes.length * 4).fill(0);
      classes.forEach((c, r) => {
        for (let k = 0; k < 4; k++) probabilities[r * 4 + k] = k === c ? confidence[r]! : (1 - confidence[r]!) / 3;
      });
      return { classes: Int32Array.from(classes), probabilities };
    };
    const m = [vote([2, 1, 0, 3], [0.9, 0.5, 0.5, 0.4]), vote([2, 3, 1, 3], [0.9, 0.5, 0.5, 0.4]), vote([1, 3, 2, 0], [0.3, 0.5, 0.5, 0.9]), vote([1, 0, 2, 0], [0.3, 0.5, 0.5, 0.9])];
    // image 0: 2,2,1,1 -> tie, class 2 holds 1.8 + 0.47 against 1 + ... -> 2; image 1: 3; image 2: 2;
    // image 3: 3,3,0,0 -> tie, class 0 is held with 0.9 by two members -> 0
    assert.deepEqual(Array.from(majorityVote(m, 4)), [2, 3, 2, 0]);
    // the paper's two members who disagree: the more confident one decides
    assert.deepEqual(Array.from(majorityVote([vote([1, 1], [0.6, 0.95]), vote([2, 2], [0.9, 0.5])], 4)), [2, 1]);
    assert.deepEqual(Array.from(majorityVote([m[0]!], 4)), [2, 1, 0, 3], 'one member is itself');
  });

  it('lineage follows parents back to the first individual', () => {
    const byId = new Map(
      [
        { id: 'x', parent: null },
        { id: 'y', parent: 'x' },
        { id: 'z', parent: 'y' },
        { id: 'w', parent: 'x' },
      ].map((r) => [r.id, r]),
    );
    assert.deepEqual(
      lineage(byId, 'z').map((r) => r.id),
      ['x', 'y', 'z'],
    );
  });

  it("compare: mean and range across repeats at every change of any curve, each curve to its run's end", () => {
    const b = bands([
      {
        experiment: 'e1',
        group: 'g',
        points: [
          { hours: 0.1, test: 0.2 },
          { hours: 0.3, test: 0.4 },
        ],
        end: 0.5,
      },
      { experiment: 'e2', group: 'g', points: [{ hours: 0.2, test: 0.3 }], end: 0.4 },
    ]);
    // e2 ends at 0.4 h: after that only e1 counts.
    assert.deepEqual(
      b.map((p) => [p.hours, +p.mean.toFixed(6), p.lo, p.hi]),
      [
        [0.1, 0.2, 0.2, 0.2],
        [0.2, 0.25, 0.2, 0.3],
        [0.3, 0.35, 0.3, 0.4],
        [0.4, 0.35, 0.3, 0.4],
        [0.5, 0.4, 0.4, 0.4],
      ],
    );
  });
});

describe('evonas report', () => {
  const cache = join(root, 'cache');
  const exp = join(root, 'exp');
  let trainedId = '';
  let luckyId = '';

  before(async () => {
    await importDataset(learnableCifar10Folder(join(root, 'src'), 100, 100), { out: cache, validation: 40 });
    mkdirSync(exp, { recursive: true });
    writeConfig(exp, validateConfig({ format: 'evonas.experiment', version: 1, data: cache }));
    await writeRun(new FolderDocs(exp), { startedAt: at(0), deadline: at(3600) });
    const d = openDataset(cache);
    const t = d.train();
    const io = { ...d.manifest.shape, classes: 10 };
    const train = createDataset({ images: t.images, labels: t.labels, height: t.height, width: t.width, channels: t.channels });
    const ir = compileDNA(initialDNA(), io);
    const store = new FileStore(exp);
    const weightsOf = async (steps: number, seed: number) => {
      const net = compile(ir, { threads: 1, seed });
      if (steps) assert.ok((await net.train({ data: train, steps, batchSize: 20, learningRate: 0.05, seed })).ok);
      const w = encodeSafetensors(net.weights());
      net.dispose();
      return w;
    };
    // A trained model whose record says 0.5, and an untrained one whose record says 0.9.
    const trained = newRecord({ worker: 't', space: 'graph', dna: initialDNA(), fitness: 0.5, hasWeights: true, bornAt: at(600) });
    const lucky = newRecord({ worker: 't', space: 'graph', dna: initialDNA(), fitness: 0.9, hasWeights: true, bornAt: at(1200), parent: trained.id });
    await store.put(trained, await weightsOf(300, 1));
    await store.put(lucky, await weightsOf(0, 2));
    await store.put(newRecord({ worker: 't', space: 'graph', dna: initialDNA(), bornAt: at(0) }));
    train.dispose();
    trainedId = trained.id;
    luckyId = lucky.id;
  });

  it('chooses by validation even when another model tests better, and writes the report', async () => {
    const s = await buildReport(exp, { ensemble: 2 });
    assert.equal(s.best.id, luckyId, 'the highest validation accuracy wins');
    const other = s.top.find((t) => t.id === trainedId)!;
    assert.ok(other.testAccuracy > s.best.testAccuracy + 0.2, `the other tests better (${other.testAccuracy} vs ${s.best.testAccuracy}), and still loses`);
    assert.deepEqual(
      s.bestSoFar.map((p) => [p.id, +p.hours.toFixed(4)]),
      [
        [trainedId, 0.1667],
        [luckyId, 0.3333],
      ],
    );
    assert.equal(s.bestSoFar[0]!.testAccuracy, other.testAccuracy);
    assert.equal(s.ensemble?.k, 2);
    assert.deepEqual(s.ensemble?.ids, [luckyId, trainedId]);
    assert.equal(s.individuals, 3);
    assert.equal(typeof s.totalFlops, 'number');
    const onDisk = JSON.parse(readFileSync(join(exp, 'report', 'summary.json'), 'utf8'));
    for (const k of ['best', 'ensemble', 'individuals', 'totalFlops', 'wallSeconds', 'workerUtilization']) assert.ok(k in onDisk, k);
    for (const k of ['id', 'validationAccuracy', 'testAccuracy', 'params', 'flops']) assert.ok(k in onDisk.best, `best.${k}`);
    for (const png of ['figure1.png', 'best-so-far.png']) assert.deepEqual([...readFileSync(join(exp, 'report', png)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], png);
    const html = readFileSync(join(exp, 'report', 'index.html'), 'utf8');
    assert.ok(!/<script|https?:\/\/(?!www\.w3\.org)/.test(html), 'self-contained: no script, no network');
    assert.ok(html.includes(luckyId) && (html.match(/<svg/g) ?? []).length >= 3);
    assert.ok(existsSync(join(exp, 'report', 'index.html')));
  });
});
