// Export: for random DNAs of every search space, the ONNX model run by
// onnxruntime gives the engine's logits on real CIFAR-10 images; ensembles
// vote and average as specified; the export and predict commands work end to
// end and refuse bad input without leaving a file behind.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { x as untar } from 'tar';
import { importDataset } from '../src/data/import.js';
import { decodeImageAs } from '../src/data/sources/images.js';
import { createDataset } from '../src/engine/dataset.js';
import type { EngineDataset } from '../src/engine/dataset.js';
import { compile } from '../src/engine/net.js';
import { decodeSafetensors } from '../src/engine/safetensors.js';
import { exportOnnx, nearestIndex } from '../src/export/onnx.js';
import { readOnnxMetadata } from '../src/export/onnx-read.js';
import type { NetIR } from '../src/net/ir.js';
import { CIFAR10_IO } from '../src/net/presets.js';
import { compileDNA, initialDNA, mutate, MUTATIONS } from '../src/spaces/graph/index.js';
import type { GraphDNA } from '../src/spaces/graph/index.js';
import { fuse } from '../src/spaces/graph/recombine.js';
import { compileStages, parseBits, randomStagesDNA, zeroDNA } from '../src/spaces/stages/index.js';
import { compileNb201, parseCell } from '../src/spaces/nb201/index.js';
import { createRng } from '../src/util/rng.js';
import { FileStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { cifar10Folder } from './support/formats.js';
import { rng } from './support/helpers.js';
import { majorityVote, predictions, softmax } from '../src/report/curves.js';

/**
 * ../shared/datasets beside the checkout (EVONAS_SHARED_DATASETS overrides):
 * real CIFAR-10 JPEGs. A checkout elsewhere falls back to JPEGs the test
 * encodes itself, so the comparison still runs on decoded JPEGs.
 */
const ARCHIVE = join(process.env.EVONAS_SHARED_DATASETS ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets'), 'cifar10-jpg.tar.gz');
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const stats = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
const root = mkdtempSync(join(tmpdir(), 'evonas-export-'));
const images = join(root, 'images');
let files: string[] = [];
let pixels: Uint8Array;
let labels: Int32Array;
let data: EngineDataset;

before(async () => {
  // 40 test images, 4 per class, straight from the JPEG archive.
  mkdirSync(images);
  if (existsSync(ARCHIVE)) await untar({ file: ARCHIVE, cwd: images, filter: (p) => /\/test\/[a-z]+\/000[0-3]\.jpg$/.test(p) });
  else {
    console.error(`# ${ARCHIVE} not found: comparing on synthetic JPEGs instead of CIFAR-10's`);
    const random = rng(5);
    for (const [k, c] of CLASSES.entries()) {
      mkdirSync(join(images, 'cifar10', 'test', c), { recursive: true });
      for (let i = 0; i < 4; i++) {
        const raw = Buffer.from(Array.from({ length: 3072 }, (_, j) => Math.min(255, ((k * 53 + (j % 3) * 71) % 200) + Math.floor(random() * 56))));
        await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
          .jpeg()
          .toFile(join(images, 'cifar10', 'test', c, `000${i}.jpg`));
      }
    }
  }
  files = CLASSES.flatMap((c) =>
    readdirSync(join(images, 'cifar10', 'test', c))
      .sort()
      .map((f) => join(images, 'cifar10', 'test', c, f)),
  );
  pixels = new Uint8Array(files.length * 3072);
  for (let i = 0; i < files.length; i++) pixels.set(await decodeImageAs(files[i]!, readFileSync(files[i]!), { height: 32, width: 32, channels: 3 }), i * 3072);
  labels = Int32Array.from(files.map((f) => CLASSES.indexOf(f.split('/').at(-2)!)));
  data = createDataset({ images: pixels, labels, height: 32, width: 32, channels: 3, ...stats });
});
after(() => {
  data?.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** The same images as the exported model takes them: float32 NCHW, 0-255. */
function nchw(): Float32Array {
  const out = new Float32Array(pixels.length);
  const n = files.length;
  for (let i = 0; i < n; i++) for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) out[i * 3072 + c * 1024 + p] = pixels[i * 3072 + p * 3 + c]!;
  return out;
}

async function runOnnx(bytes: Uint8Array): Promise<{ logits: Float32Array; probabilities: Float32Array }> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', nchw(), [files.length, 3, 32, 32]) });
  return { logits: out.logits!.data as Float32Array, probabilities: out.probabilities!.data as Float32Array };
}

/** Trains a few steps (so batch-norm statistics are real), then returns the engine's logits and weights. */
async function engineRun(ir: NetIR, seed: number) {
  const net = compile(ir, { threads: 1, seed });
  try {
    const r = await net.train({ data, steps: 3, batchSize: 16, learningRate: 0.01, seed });
    assert.ok(r.ok, r.failure);
    return { logits: (await net.predict(data)).logits, weights: net.weights() };
  } finally {
    net.dispose();
  }
}

/** Every logit within 1e-4 of the largest logit magnitude of its row. */
function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length);
  for (let r = 0; r < a.length / 10; r++) {
    const scale = Math.max(1e-3, ...Array.from(a.subarray(r * 10, r * 10 + 10), Math.abs));
    for (let c = 0; c < 10; c++) {
      const i = r * 10 + c;
      assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * scale, `${what}: image ${r} class ${c}: engine ${a[i]} onnx ${b[i]} (scale ${scale})`);
    }
  }
}

function randomGraph(seed: number, steps: number): GraphDNA {
  const rng = createRng(seed);
  let dna = initialDNA();
  const weights = Object.fromEntries(MUTATIONS.map((m) => [m, m === 'insert-convolution' || m === 'add-skip' || m === 'alter-stride' || m === 'alter-channels' ? 3 : 1]));
  for (let i = 0; i < steps; i++) dna = mutate(dna, rng, { weights }).dna;
  return dna;
}

describe('ONNX export', () => {
  it('matches torch nearest-neighbour indices', () => {
    assert.deepEqual(
      Array.from({ length: 4 }, (_, o) => nearestIndex(o, 2, 4)),
      [0, 0, 1, 1],
    );
    assert.deepEqual(
      Array.from({ length: 4 }, (_, o) => nearestIndex(o, 7, 4)),
      [0, 1, 3, 5],
    );
    assert.deepEqual(
      Array.from({ length: 3 }, (_, o) => nearestIndex(o, 6, 3)),
      [0, 2, 4],
    );
  });

  it('gives the engine its logits for random graph DNAs (skips across sizes and channels included)', async () => {
    let resolvedAdds = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const dna = randomGraph(seed, 10 + 2 * seed);
      const ir = compileDNA(dna, CIFAR10_IO);
      resolvedAdds += ir.nodes.filter((n) => n.op === 'add').length;
      const e = await engineRun(ir, seed);
      const bytes = exportOnnx([{ ir, weights: e.weights }], { stats, classes: CLASSES });
      assertClose(e.logits, (await runOnnx(bytes)).logits, `graph DNA seed ${seed}`);
    }
    assert.ok(resolvedAdds >= 3, `only ${resolvedAdds} adds exercised`);
  });

  it('gives the engine its logits for fused graph DNAs (two branches from the input summed, then mutated)', async () => {
    for (let seed = 1; seed <= 3; seed++) {
      let dna = fuse(randomGraph(seed + 10, 12), randomGraph(seed + 20, 14), CIFAR10_IO).dna;
      const rng = createRng(seed);
      for (let i = 0; i < 3 * seed; i++) dna = mutate(dna, rng).dna;
      const ir = compileDNA(dna, CIFAR10_IO);
      const e = await engineRun(ir, 30 + seed);
      assertClose(e.logits, (await runOnnx(exportOnnx([{ ir, weights: e.weights }], { stats, classes: CLASSES }))).logits, `fused graph DNA seed ${seed}`);
    }
  });

  it("gives the engine its logits for random stage DNAs and the paper's best string", async () => {
    const rng = createRng(9);
    const dnas = [randomStagesDNA([3, 4, 5], rng), randomStagesDNA([3, 4, 5], rng), zeroDNA([3, 4, 5]), parseBits('1-01 0-01-100 0-11-101-0001')];
    for (const [k, dna] of dnas.entries()) {
      const ir = compileStages(dna, CIFAR10_IO, { widths: [8, 16, 16], kernel: 3, fc: 32, dropout: 0.5 });
      const e = await engineRun(ir, 20 + k);
      assertClose(e.logits, (await runOnnx(exportOnnx([{ ir, weights: e.weights }], { stats, classes: CLASSES }))).logits, `stages ${k}`);
    }
  });

  it('gives the engine its logits for NAS-Bench-201 cells, a cut-off node (zeros) and average pools included', async () => {
    const cells = ['|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|', '|none~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|'];
    for (const [k, cell] of cells.entries()) {
      const ir = compileNb201(parseCell(cell), CIFAR10_IO, { cellsPerStage: 1, channels: 4 });
      const e = await engineRun(ir, 40 + k);
      assertClose(e.logits, (await runOnnx(exportOnnx([{ ir, weights: e.weights }], { stats, classes: CLASSES }))).logits, `nb201 ${cell}`);
    }
  });

  it("votes by majority with the report's tie-break (summed probabilities), or averages probabilities", async () => {
    const members: ({ ir: NetIR } & Awaited<ReturnType<typeof engineRun>>)[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      const ir = compileDNA(randomGraph(100 + seed, 8), CIFAR10_IO);
      members.push({ ir, ...(await engineRun(ir, seed)) });
    }
    const vote = await runOnnx(exportOnnx(members, { stats, classes: CLASSES }));
    const avg = await runOnnx(exportOnnx(members, { stats, classes: CLASSES, combine: 'average' }));
    let ties = 0;
    for (let r = 0; r < files.length; r++) {
      const counts = new Array(10).fill(0);
      const mean = new Array(10).fill(0);
      for (const m of members) {
        const row = Array.from(m.logits.subarray(r * 10, r * 10 + 10));
        counts[row.indexOf(Math.max(...row))]++;
        const z = row.map((v) => Math.exp(v - Math.max(...row)));
        const s = z.reduce((a, b) => a + b, 0);
        z.forEach((v, c) => {
          mean[c] += v / s / members.length;
        });
      }
      const top = Math.max(...counts);
      if (counts.filter((c) => c === top).length > 1) ties++;
      const scores = Array.from(vote.logits.subarray(r * 10, r * 10 + 10));
      assert.deepEqual(
        scores.map((v) => Math.floor(v)),
        counts,
        `image ${r}: vote counts`,
      );
      const shares = Array.from(vote.probabilities.subarray(r * 10, r * 10 + 10));
      assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-5, `image ${r}: shares sum to 1`);
      assert.equal(shares.indexOf(Math.max(...shares)), scores.indexOf(Math.max(...scores)));
      mean.forEach((v, c) => {
        assert.ok(Math.abs(v - avg.probabilities[r * 10 + c]!) < 1e-5, `image ${r} class ${c}: mean probability`);
      });
    }
    assert.ok(ties >= 1, 'the batch exercises at least one tie');
    // The same answers as the report's ensemble, tie-breaks included: of four, and of two (the paper's top-2, where
    // every disagreement is a tie), with some tie the more confident higher class wins.
    const answers = (logits: Float32Array) =>
      Int32Array.from({ length: files.length }, (_, r) => {
        const row = Array.from(logits.subarray(r * 10, r * 10 + 10));
        return row.indexOf(Math.max(...row));
      });
    const reportVote = (ms: typeof members) =>
      majorityVote(
        ms.map((m) => ({ classes: predictions(m.logits, 10), probabilities: softmax(m.logits, 10) })),
        10,
      );
    assert.deepEqual(answers(vote.logits), reportVote(members));
    const pair = members.slice(0, 2);
    const two = answers((await runOnnx(exportOnnx(pair, { stats, classes: CLASSES }))).logits);
    assert.deepEqual(two, reportVote(pair));
    const [a, b] = pair.map((m) => answers(m.logits));
    assert.ok(
      two.some((c, r) => a![r] !== b![r] && c !== Math.min(a![r]!, b![r]!)),
      'some tie goes to the higher class',
    );
  });
});

describe('evonas export and predict', () => {
  const cache = join(root, 'cache');
  const exp = join(root, 'exp');
  before(async () => {
    await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
    const r = await runCli(['evolve', '--data', cache, '--out', exp, '--population', '3', '--workers', '1', '--steps', '3', '--batch', '10', '--time-budget', '6s']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('exports the best as ONNX and safetensors, and predicts the same with both', async () => {
    const onnx = join(root, 'best.onnx');
    const st = join(root, 'best.safetensors');
    const a = await runCli(['export', exp, '--format', 'onnx', '--out', onnx]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /wrote .*best\.onnx: individual \S+ \(validation accuracy 0\.\d{4}\)/);
    const meta = readOnnxMetadata(readFileSync(onnx), onnx);
    assert.deepEqual(JSON.parse(meta.classes!), CLASSES);
    assert.deepEqual(JSON.parse(meta['input.shape']!), [3, 32, 32]);
    assert.equal(JSON.parse(meta.dna!).format, 'evonas.graph-dna');
    const b = await runCli(['export', exp, '--format', 'safetensors', '--out', st]);
    assert.equal(b.code, 0, b.stderr);
    const decoded = decodeSafetensors(readFileSync(st));
    assert.equal(JSON.parse(decoded.metadata.netir!).format, 'evonas.netir');
    assert.equal(JSON.parse(decoded.metadata.dna!).format, 'evonas.graph-dna');
    assert.ok(decoded.tensors.size > 0);

    const folder = join(images, 'cifar10', 'test');
    const viaOnnx = await runCli(['predict', onnx, folder, '--json', '--top', '10']);
    const viaEngine = await runCli(['predict', exp, folder, '--json', '--top', '10']);
    assert.equal(viaOnnx.code, 0, viaOnnx.stderr);
    assert.equal(viaEngine.code, 0, viaEngine.stderr);
    const x = JSON.parse(viaOnnx.stdout) as { file: string; predictions: { class: string; probability: number }[] }[];
    const y = JSON.parse(viaEngine.stdout) as typeof x;
    assert.equal(x.length, files.length);
    x.forEach((r, i) => {
      assert.equal(r.file, y[i]!.file);
      const p = r.predictions;
      assert.ok(
        p.every((q, k) => k === 0 || p[k - 1]!.probability >= q.probability),
        'sorted by probability',
      );
      assert.ok(Math.abs(p.reduce((s, q) => s + q.probability, 0) - 1) < 1e-4);
      for (const q of p) assert.ok(Math.abs(q.probability - y[i]!.predictions.find((z) => z.class === q.class)!.probability) < 1e-4, `${r.file} ${q.class}`);
    });
    const text = await runCli(['predict', onnx, files[0]!, files[1]!]);
    assert.match(text.stdout, /airplane\/0000\.jpg: \w+ 0\.\d{4}, \w+ 0\.\d{4}, \w+ 0\.\d{4}\n/);
    // Any individual, not only the best: exported by --id and run by predict --id give the same probabilities.
    const other = (await new FileStore(exp).list()).filter((i) => i.hasWeights && i.fitness !== null).sort((p, q) => p.fitness! - q.fitness!)[0]!;
    const otherOnnx = join(root, 'other.onnx');
    assert.equal((await runCli(['export', exp, '--id', other.id, '--format', 'onnx', '--out', otherOnnx])).code, 0);
    const o1 = JSON.parse((await runCli(['predict', otherOnnx, files[0]!, '--json'])).stdout) as typeof x;
    const o2 = JSON.parse((await runCli(['predict', exp, files[0]!, '--json', '--id', other.id])).stdout) as typeof x;
    for (const q of o1[0]!.predictions) assert.ok(Math.abs(q.probability - o2[0]!.predictions.find((z) => z.class === q.class)!.probability) < 1e-4, q.class);
    const none = await runCli(['predict', exp, files[0]!, '--id', 'nobody']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no individual "nobody"/);
    assert.match((await runCli(['predict', onnx, files[0]!, '--id', other.id])).stderr, /--id picks an individual of an experiment/);
  });

  it('exports an ensemble and refuses bad requests, writing nothing', async () => {
    const e = await runCli(['export', exp, '--ensemble', '2', '--format', 'onnx', '--out', join(root, 'ens.onnx')]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /ensemble of 2 \(vote\)/);
    const bad: [string[], RegExp][] = [
      [['export', exp, '--format', 'onnx', '--out', join(root, 'x.onnx'), '--id', 'nobody'], /no individual "nobody"/],
      [['export', exp, '--format', 'pmml', '--out', join(root, 'x.onnx')], /--format must be onnx or safetensors but received "pmml"/],
      [['export', exp, '--ensemble', '999', '--format', 'onnx', '--out', join(root, 'x.onnx')], /fewer than an ensemble of 999/],
      [['export', exp, '--ensemble', '2', '--format', 'safetensors', '--out', join(root, 'x.onnx')], /--ensemble exports ONNX only/],
    ];
    for (const [args, message] of bad) {
      const r = await runCli(args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    }
    assert.equal(existsSync(join(root, 'x.onnx')), false);
    writeFileSync(join(root, 'notes.txt'), 'hello');
    const r = await runCli(['predict', join(root, 'best.onnx'), join(root, 'notes.txt')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /notes\.txt: not an image/);
    writeFileSync(join(root, 'broken.jpg'), 'not a jpeg');
    const broken = await runCli(['predict', join(root, 'best.onnx'), join(root, 'broken.jpg')]);
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /broken\.jpg: cannot decode image/);
  });
});
