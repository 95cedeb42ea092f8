import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createDataset } from '../src/engine/dataset.js';
import { EngineError } from '../src/engine/errors.js';
import { compile } from '../src/engine/net.js';
import { loadSafetensors, saveSafetensors } from '../src/engine/safetensors.js';
import { netir, quadrantData, smallConvNet } from './support/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'evonas-weights-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const { images, labels } = quadrantData(128, 16);
const data = createDataset({ images, labels, height: 16, width: 16, channels: 3 });
after(() => data.dispose());

describe('weights', () => {
  it('round-trip exactly through safetensors, with metadata, in the published layout', async () => {
    const net = compile(smallConvNet(16), { seed: 4 });
    await net.train({ data, steps: 10, learningRate: 0.05 });
    const w = net.weights();
    const file = join(dir, 'w.safetensors');
    saveSafetensors(file, w, { dna: '{"x":1}' });
    const back = loadSafetensors(file);
    assert.deepEqual([...back.tensors.keys()], [...w.keys()]);
    for (const [name, t] of w) {
      assert.deepEqual(back.tensors.get(name)!.shape, t.shape);
      assert.deepEqual(Buffer.from(back.tensors.get(name)!.data.buffer), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength), name);
    }
    assert.deepEqual(back.metadata, { dna: '{"x":1}' });
    // The layout, read independently: u64 header size, JSON header, contiguous little-endian data.
    const raw = readFileSync(file);
    const n = Number(raw.readBigUInt64LE(0));
    const header = JSON.parse(raw.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
    assert.equal((8 + n) % 8, 0);
    const c1 = header['c1.weight']!;
    assert.equal(c1.dtype, 'F32');
    assert.deepEqual(c1.shape, [8, 3, 3, 3]);
    const first = raw.readFloatLE(8 + n + c1.data_offsets[0]!);
    assert.equal(first, w.get('c1.weight')!.data[0]);
    const ends = Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([, v]) => v.data_offsets);
    assert.equal(Math.max(...ends.map((e) => e[1]!)), raw.length - 8 - n);
    net.dispose();
  });

  it('moved to a fresh net, give the same predictions', async () => {
    const a = compile(smallConvNet(16), { seed: 1 });
    await a.train({ data, steps: 20, learningRate: 0.05 });
    const b = compile(smallConvNet(16), { seed: 2 });
    const before = await b.predict(data);
    const r = b.setWeights(a.weights());
    assert.equal(r.skipped.length, 0);
    assert.equal(r.loaded.length, a.analysis.tensors.length);
    const pa = await a.predict(data);
    const pb = await b.predict(data);
    assert.deepEqual(pb.logits, pa.logits);
    assert.notDeepEqual(before.logits, pa.logits);
    a.dispose();
    b.dispose();
  });

  it('load by name and shape and report what was skipped', () => {
    const parent = compile(smallConvNet(16), { seed: 1 });
    // The child widens c2 and adds a node: c2's tensors and fc.weight change shape.
    const child = compile(
      netir(
        [
          { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 8, kernel: [3, 3] },
          { id: 'b1', op: 'batchnorm', inputs: ['c1'] },
          { id: 'r1', op: 'relu', inputs: ['b1'] },
          { id: 'p1', op: 'maxpool', inputs: ['r1'], kernel: [2, 2], stride: 2 },
          { id: 'c2', op: 'conv2d', inputs: ['p1'], channels: 12, kernel: [3, 3] },
          { id: 'b2', op: 'batchnorm', inputs: ['c2'] },
          { id: 'r2', op: 'relu', inputs: ['b2'] },
          { id: 'new', op: 'conv2d', inputs: ['r2'], channels: 12, kernel: [1, 1] },
          { id: 'g', op: 'globalavgpool', inputs: ['new'] },
          { id: 'fc', op: 'dense', inputs: ['g'], units: 4 },
        ],
        { h: 16, w: 16, classes: 4 },
      ),
    );
    const pw = parent.weights();
    pw.set('ghost.weight', { shape: [1], data: new Float32Array(1) });
    const r = child.setWeights(pw);
    assert.deepEqual(r.loaded.sort(), ['b1.bias', 'b1.running_mean', 'b1.running_var', 'b1.weight', 'c1.weight', 'fc.bias'].sort());
    assert.deepEqual(
      r.skipped.sort((x, y) => x.name.localeCompare(y.name)),
      [
        { name: 'b2.bias', reason: 'shape' },
        { name: 'b2.running_mean', reason: 'shape' },
        { name: 'b2.running_var', reason: 'shape' },
        { name: 'b2.weight', reason: 'shape' },
        { name: 'c2.weight', reason: 'shape' },
        { name: 'fc.weight', reason: 'shape' },
        { name: 'ghost.weight', reason: 'missing' },
      ],
    );
    assert.deepEqual(child.weights().get('c1.weight')!.data, pw.get('c1.weight')!.data);
    parent.dispose();
    child.dispose();
  });

  it('refuse data that does not match its own shape', () => {
    const net = compile(smallConvNet(16));
    assert.throws(
      () => net.setWeights(new Map([['c1.weight', { shape: [8, 3, 3, 3], data: new Float32Array(5) }]])),
      (e: unknown) => e instanceof EngineError && /c1.weight: data length does not match shape/.test(e.message),
    );
    net.dispose();
  });

  it('refuse a corrupt safetensors file with its name and the reason', () => {
    const file = join(dir, 'bad.safetensors');
    writeFileSync(file, Buffer.from([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    assert.throws(
      () => loadSafetensors(file),
      (e: unknown) => e instanceof EngineError && e.message.includes(file) && /header length 200 exceeds/.test(e.message),
    );
    const good = join(dir, 'w2.safetensors');
    saveSafetensors(good, new Map([['a', { shape: [4], data: new Float32Array(4) }]]));
    const truncated = readFileSync(good).subarray(0, -4);
    writeFileSync(file, truncated);
    assert.throws(() => loadSafetensors(file), /tensor a has byte range \[0, 16\) outside the file/);
  });
});

describe('the addon in several JavaScript environments', () => {
  it('keeps its state per environment: a worker thread makes and trains on its own Dataset beside the main thread', async () => {
    const { Worker } = await import('node:worker_threads');
    const here = new URL('.', import.meta.url).pathname;
    const code = `
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const { createDataset } = await import(${JSON.stringify(join(here, '../src/engine/dataset.js'))});
        const { compile } = await import(${JSON.stringify(join(here, '../src/engine/net.js'))});
        const { quadrantData, smallConvNet } = await import(${JSON.stringify(join(here, 'support/helpers.js'))});
        const { images, labels } = quadrantData(64, 16);
        const data = createDataset({ images, labels, height: 16, width: 16, channels: 3 });
        const net = compile(smallConvNet(16), { seed: 4, threads: 1 });
        const r = await net.train({ data, steps: 3, learningRate: 0.05 });
        net.dispose();
        data.dispose();
        parentPort.postMessage(r.steps);
      })().catch((e) => parentPort.postMessage(String(e)));`;
    // The main thread loaded the addon first; the worker loads it again. A Dataset class kept process-wide would then be
    // the worker's, and the main thread's own Dataset would no longer be recognised.
    const worker = new Worker(code, { eval: true });
    const theirs = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.equal(theirs, 3, `the worker thread trained: ${String(theirs)}`);
    const mine = compile(smallConvNet(16), { seed: 4, threads: 1 });
    const ours = await mine.train({ data, steps: 3, learningRate: 0.05 });
    mine.dispose();
    assert.equal(ours.steps, 3);
  });
});
