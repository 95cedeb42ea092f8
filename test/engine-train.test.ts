import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createDataset } from '../src/engine/dataset.js';
import { EngineError } from '../src/engine/errors.js';
import { KERNEL_ISAS, loadNative } from '../src/engine/native.js';
import { compile } from '../src/engine/net.js';
import { fit, fitUntil } from '../src/engine/fit.js';
import type { NetNode } from '../src/net/ir.js';
import { netir, quadrantData, randomData, residualNet, smallConvNet } from './support/helpers.js';

const SIZE = 16;

function quadrants(n = 512) {
  const { images, labels } = quadrantData(n, SIZE);
  return createDataset({ images, labels, height: SIZE, width: SIZE, channels: 3 });
}

const tinyHead = netir(
  [
    { id: 'g', op: 'globalavgpool', inputs: ['input'] },
    { id: 'fc', op: 'dense', inputs: ['g'], units: 4 },
  ],
  { h: SIZE, w: SIZE, classes: 4 },
);

describe('training', () => {
  it('learns a separable task to over 95% training accuracy, with progress reports', async () => {
    const data = quadrants();
    const net = compile(smallConvNet(SIZE), { seed: 1, threads: 2 });
    const seen: number[] = [];
    const r = await net.train({
      data,
      steps: 200,
      batchSize: 32,
      learningRate: 0.05,
      augment: false,
      onProgress: (p) => seen.push(p.step),
      progressEvery: 50,
    });
    assert.equal(r.ok, true);
    assert.equal(r.steps, 200);
    assert.deepEqual(seen, [50, 100, 150, 200]);
    const e = await net.evaluate(data);
    assert.equal(e.count, 512);
    assert.ok(e.accuracy > 0.95, `training accuracy ${e.accuracy}`);
    // predict agrees with evaluate
    const p = await net.predict(data);
    assert.equal(p.logits.length, 512 * 4);
    let correct = 0;
    const { labels } = quadrantData(512, SIZE);
    for (let i = 0; i < 512; i++) {
      const row = Array.from(p.logits.subarray(i * 4, i * 4 + 4));
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
    }
    assert.equal(correct / 512, e.accuracy);
    net.dispose();
    data.dispose();
  });

  it('trains with bf16 autocast where the CPU has native bf16, refuses it by name elsewhere; trains contiguous', async () => {
    const data = quadrants();
    const info = loadNative().info();
    const options = [{ memoryFormat: 'contiguous' as const }, ...(info.bf16Native ? [{ precision: 'bf16' as const }] : [])];
    if (!info.bf16Native) {
      assert.throws(
        () => compile(smallConvNet(SIZE), { seed: 1, precision: 'bf16' }),
        (e: unknown) => e instanceof EngineError && e.code === 'ERR_ENGINE_PRECISION' && /AVX512_BF16|ONEDNN_MAX_CPU_ISA|EVONAS_ISA/.test(e.message) && /fp32 is the fast path/.test(e.message),
      );
    }
    for (const opts of options) {
      const net = compile(smallConvNet(SIZE), { seed: 1, ...opts });
      const r = await net.train({ data, steps: 200, batchSize: 32, learningRate: 0.05, augment: false });
      assert.equal(r.ok, true);
      const e = await net.evaluate(data);
      assert.ok(e.accuracy > 0.9, `${JSON.stringify(opts)}: accuracy ${e.accuracy}`);
      net.dispose();
    }
    data.dispose();
  });

  it("every vector unit's kernels train to bit-identical weights (EVONAS_ISA pins the unit)", () => {
    const best = loadNative().info().kernelIsa;
    const units = KERNEL_ISAS.slice(0, KERNEL_ISAS.indexOf(best) + 1);
    const runs = units.map((isa) => {
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('./support/isa-child.js', import.meta.url))], {
        env: { ...process.env, EVONAS_ISA: isa },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim()) as { isa: string; weights: string };
    });
    assert.deepEqual(
      runs.map((r) => r.isa),
      units,
    );
    for (const r of runs.slice(1)) assert.equal(r.weights, runs[0]!.weights, `${r.isa} kernels differ from baseline`);
  });

  it('trains strided 1x1 convolutions over few channels in channels-last memory without corrupting the heap', () => {
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('./support/conv1x1-child.js', import.meta.url))], { encoding: 'utf8' });
    assert.equal(r.signal, null, `the child died of ${r.signal}: ${r.stderr.slice(-500)}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'trained');
  });

  it('a strided 1x1 convolution computes what the centre tap of a 3x3 one does', async () => {
    const data = randomData(6, 9, 7, 3, 3, 2);
    for (const padding of [0, 1]) {
      const head: NetNode[] = [
        { id: 'g', op: 'globalavgpool', inputs: ['c'] },
        { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
      ];
      const one = compile(netir([{ id: 'c', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [1, 1], stride: [2, 3], padding: [padding, padding], bias: true }, ...head], { h: 9, w: 7 }), {
        seed: 1,
        precision: 'fp64',
      });
      const three = compile(
        netir([{ id: 'c', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3], stride: [2, 3], padding: [padding + 1, padding + 1], bias: true }, ...head], { h: 9, w: 7 }),
        { seed: 1, precision: 'fp64' },
      );
      const w = one.weights();
      const k = w.get('c.weight')!;
      const centre = new Float64Array(4 * 3 * 9);
      for (let i = 0; i < 12; i++) centre[i * 9 + 4] = k.data[i]!;
      three.setWeights(new Map([...w].map(([n, t]) => [n, n === 'c.weight' ? { shape: [4, 3, 3, 3], data: centre } : t])));
      const [a, b] = [await one.predict(data), await three.predict(data)];
      for (let i = 0; i < a.logits.length; i++) assert.ok(Math.abs(a.logits[i]! - b.logits[i]!) < 1e-5, `padding ${padding}, logit ${i}: ${a.logits[i]} vs ${b.logits[i]}`);
      one.dispose();
      three.dispose();
    }
    data.dispose();
  });

  it('the addon takes no defaults: a missing field is refused by name (TypeScript owns every default)', () => {
    const Native = loadNative().Net;
    const options = { threads: 1, precision: 'fp32', channelsLast: true, seed: 0, device: 'cpu' };
    const fields = { kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, bias: false };
    const conv = (f: object = fields) => ({ id: 'c', op: 'conv2d', inputs: [0], c: 4, h: 8, w: 8, fields: f });
    const spec = (node: object) => ({ input: { c: 3, h: 8, w: 8 }, classes: 3, nodes: [node] });
    assert.doesNotThrow(() => new Native(spec(conv()), options));
    const { kh: _kh, ...noKernel } = fields;
    assert.throws(() => new Native(spec(conv(noKernel)), options), /node c: field kh is required/);
    const { precision: _p, ...noPrecision } = options;
    assert.throws(() => new Native(spec(conv()), noPrecision), /field precision is required/);
    assert.throws(() => new Native(spec(conv({ ...fields, bias: 0 })), options), /node c: field bias must be true or false/);
    assert.throws(() => new Native(spec(conv({ ...fields, kh: true })), options), /node c: field kh must be a number/);
    // Read generically, bound by the op: a field the op does not take is refused, as are out-of-range and fractional values.
    assert.throws(() => new Native(spec(conv({ ...fields, rate: 0.5 })), options), /node c: field rate is not a field of this op/);
    assert.throws(() => new Native(spec(conv({ ...fields, kh: 0 })), options), /node c: field kh must be a whole number >= 1/);
    assert.throws(() => new Native(spec(conv({ ...fields, sw: 1.5 })), options), /node c: field sw must be a whole number >= 1/);
    assert.throws(() => new Native(spec(conv()), { ...options, seed: Number.NaN }), /field seed must be a whole number from 0 to 9007199254740991 \(found nan\)/);
    assert.throws(() => new Native(spec(conv()), { ...options, threads: 1e12 }), /field threads must be a whole number from 1 to 4096/);
    assert.throws(() => new Native(spec({ ...conv(), inputs: [1] }), options), /node c: input must be a whole number from 0 to 0/);
  });

  it('a schedule run in chunks keeps one batch order: every image once per epoch, as one long run', async () => {
    const data = quadrants(40); // 5 steps of 8 per epoch; chunks of 3 straddle epochs
    const run = async (chunked: boolean) => {
      const net = compile(smallConvNet(SIZE), { seed: 4, threads: 1 });
      if (chunked) await fit(net, { data, steps: 20, batchSize: 8, learningRate: 0.05, augment: false, seed: 7, chunk: 3 });
      else await net.train({ data, steps: 20, batchSize: 8, learningRate: 0.05, augment: false, seed: 7 });
      const w = net.weights();
      net.dispose();
      return w;
    };
    const [whole, chunks] = [await run(false), await run(true)];
    for (const [name, t] of whole) assert.deepEqual(Array.from(chunks.get(name)!.data), Array.from(t.data), name);
    data.dispose();
  });

  it('fitUntil fills the time it is given, its rate falling along a cosine over time to near zero', async () => {
    const data = quadrants(256);
    const net = compile(smallConvNet(SIZE), { seed: 4, threads: 1 });
    const rates: number[] = [];
    const steps: number[] = [];
    const start = Date.now();
    const until = start + 1500;
    const r = await fitUntil(net, {
      data,
      batchSize: 8,
      learningRate: 0.05,
      seed: 7,
      until,
      onProgress: (p) => {
        rates.push(p.learningRate);
        steps.push(p.step);
      },
    });
    const ended = Date.now();
    assert.ok(r.ok && !r.cancelled, r.failure);
    assert.equal(r.steps, steps.at(-1), 'the steps reported are the steps taken');
    assert.ok(rates.length >= 10, `${rates.length} chunks: sized to a fraction of the time`);
    assert.ok(rates[0]! > 0.049, `starts at the rate given (${rates[0]})`);
    for (let i = 1; i < rates.length; i++) assert.ok(rates[i]! <= rates[i - 1]!, `the rate never rises: ${rates[i - 1]} then ${rates[i]}`);
    assert.ok(rates.at(-1)! < 0.005, `ends near zero (${rates.at(-1)})`);
    assert.ok(ended >= start + 750 && ended < until + 1000, `ran ${ended - start} ms of a 1500 ms window`);
    // Nothing fits in a time already past: no step, nothing trained.
    const before = net.weights();
    const none = await fitUntil(net, { data, batchSize: 8, learningRate: 0.05, until: Date.now() - 1 });
    assert.equal(none.steps, 0);
    for (const [name, t] of before) assert.deepEqual(Array.from(net.weights().get(name)!.data), Array.from(t.data), name);
    net.dispose();
    data.dispose();
  });

  it('fused batch-norm kernels train like the unfused ATen path', async () => {
    // channels_last fuses batch norm + ReLU (and + residual); contiguous runs ATen's ops one by one.
    const data = quadrants(256);
    const residual = residualNet(SIZE, 8);
    const results = [];
    for (const memoryFormat of ['channels_last', 'contiguous'] as const) {
      const net = compile(residual, { seed: 9, threads: 1, memoryFormat, precision: 'fp64' });
      const r = await net.train({ data, steps: 10, batchSize: 32, learningRate: 0.05, seed: 3 });
      results.push({ loss: r.loss, w: net.weights() });
      net.dispose();
    }
    assert.ok(Math.abs(results[0]!.loss - results[1]!.loss) < 1e-9, `${results[0]!.loss} vs ${results[1]!.loss}`);
    for (const name of ['b1.running_var', 'b2.weight', 'c1.weight']) {
      const a = results[0]!.w.get(name)!.data;
      const b = results[1]!.w.get(name)!.data;
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-9, `${name}[${i}]: ${a[i]} vs ${b[i]}`);
    }
    data.dispose();
  });

  it("a GPU's batches (tensor ops on the device's copy of the data) equal the CPU's loop, augmented or not", async () => {
    // EVONAS_DEVICE_BATCHES=1 takes the GPU's path on the CPU: same shifts, flips, standardization and labels.
    const data = quadrants(96);
    for (const [memoryFormat, precision] of [
      ['channels_last', 'fp32'],
      ['contiguous', 'fp64'],
    ] as const) {
      const runs = [];
      for (const path of ['host', 'device']) {
        if (path === 'device') process.env.EVONAS_DEVICE_BATCHES = '1';
        const net = compile(residualNet(SIZE, 4), { seed: 4, threads: 1, memoryFormat, precision });
        delete process.env.EVONAS_DEVICE_BATCHES;
        const r = await net.train({ data, steps: 6, batchSize: 20, learningRate: 0.05, seed: 8, augment: true });
        const e = await net.evaluate(data, { batchSize: 32 });
        const p = await net.predict(data, { batchSize: 32 });
        runs.push({ loss: r.loss, w: net.weights().get('c1.weight')!.data, e, logits: p.logits });
        net.dispose();
      }
      const [host, device] = runs as [(typeof runs)[0], (typeof runs)[0]];
      assert.equal(device.loss, host.loss, `${memoryFormat} ${precision}: training loss`);
      assert.deepEqual(device.w, host.w, `${memoryFormat} ${precision}: trained weights`);
      assert.deepEqual(device.e, host.e, `${memoryFormat} ${precision}: evaluation`);
      assert.deepEqual(device.logits, host.logits, `${memoryFormat} ${precision}: predictions`);
    }
    data.dispose();
  });

  it("steps by PyTorch's SGD rule: d = g + wd*w; buf = m*buf + d; w -= lr*buf", async () => {
    // Full-batch, unaugmented steps in float64: the step's gradient is lossAndGradients' gradient.
    const data = quadrants(16);
    const net = compile(smallConvNet(SIZE), { seed: 4, threads: 1, precision: 'fp64' });
    const [lr, m, wd] = [0.1, 0.9, 0.01];
    const step = () => net.train({ data, steps: 1, batchSize: 16, learningRate: lr, momentum: m, weightDecay: wd, augment: false });
    const w0 = net.weights();
    const g0 = net.lossAndGradients(data).grads;
    await step();
    const w1 = net.weights();
    const g1 = net.lossAndGradients(data).grads;
    await step();
    const w2 = net.weights();
    for (const [name, g] of g0) {
      const a = w0.get(name)!.data,
        b = w1.get(name)!.data,
        c = w2.get(name)!.data,
        h = g1.get(name)!.data;
      for (let i = 0; i < a.length; i++) {
        const d0 = g.data[i]! + wd * a[i]!;
        assert.ok(Math.abs(b[i]! - (a[i]! - lr * d0)) < 1e-9, `${name}[${i}] step 1`);
        const buf = m * d0 + h[i]! + wd * b[i]!;
        assert.ok(Math.abs(c[i]! - (b[i]! - lr * buf)) < 1e-9, `${name}[${i}] step 2`);
      }
    }
    net.dispose();
    data.dispose();
  });

  it('gives the same loss for the same seed with 1 thread, and another for another seed', async () => {
    const data = quadrants(256);
    const run = async (seed: number) => {
      const net = compile(smallConvNet(SIZE), { seed, threads: 1 });
      const r = await net.train({ data, steps: 25, batchSize: 16, learningRate: 0.05 });
      net.dispose();
      return r.loss;
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    assert.equal(a, b);
    assert.notEqual(a, c);
    data.dispose();
  });

  it('keeps the event loop free: timers fire while a run is in flight', async () => {
    const data = quadrants(256);
    const net = compile(smallConvNet(SIZE), { threads: 1 });
    let ticks = 0;
    let settled = false;
    let ticksWhileRunning = 0;
    const timer = setInterval(() => {
      ticks++;
      if (!settled) ticksWhileRunning = ticks;
    }, 2);
    // Enough steps that the run outlasts several timer periods on any machine.
    await net.train({ data, steps: 400, batchSize: 32, learningRate: 0.05 });
    settled = true;
    clearInterval(timer);
    assert.ok(ticksWhileRunning >= 5, `only ${ticksWhileRunning} timer ticks during training`);
    net.dispose();
    data.dispose();
  });

  it('returns a failed result, not a crash, on a non-finite loss; the process keeps working', async () => {
    const data = quadrants(64);
    const net = compile(tinyHead);
    const w = net.weights().get('fc.weight')!;
    net.setWeights(new Map([['fc.weight', { shape: w.shape, data: new Float32Array(w.data.length).fill(NaN) }]]));
    const r = await net.train({ data, steps: 10, learningRate: 0.1 });
    assert.equal(r.ok, false);
    assert.match(r.failure!, /non-finite loss \(nan\) at step 1/);
    net.dispose();
    const again = compile(tinyHead);
    assert.equal((await again.train({ data, steps: 5, learningRate: 0.1 })).ok, true);
    again.dispose();
    data.dispose();
  });

  it('stops on an AbortSignal and says it was cancelled', async () => {
    const data = quadrants(128);
    const net = compile(smallConvNet(SIZE), { threads: 1 });
    const ac = new AbortController();
    const r = await net.train({
      data,
      steps: 100000,
      learningRate: 0.05,
      onProgress: () => ac.abort(),
      progressEvery: 3,
      signal: ac.signal,
    });
    assert.equal(r.cancelled, true);
    assert.ok(r.steps >= 3 && r.steps < 100000, `stopped after ${r.steps} steps`);
    net.dispose();
    data.dispose();
  });

  it('refuses labels out of range, wrong image sizes and bad options with clear errors', async () => {
    const net = compile(tinyHead);
    const wide = randomData(8, SIZE, SIZE, 3, 6);
    await assert.rejects(net.train({ data: wide, steps: 1, learningRate: 0.1 }), {
      name: 'RangeError',
      message: 'Expected labels below 4 for this net but the dataset holds label 5',
    });
    const small = randomData(8, 8, 8, 3, 4);
    await assert.rejects(net.evaluate(small), /Expected images of 16x16x3 for this net but received 8x8x3/);
    const ok = randomData(8, SIZE, SIZE, 3, 4);
    await assert.rejects(net.train({ data: ok, steps: -1, learningRate: 0.1 }), /Expected an integer >= 0 for steps but received -1/);
    await assert.rejects(net.train({ data: ok, steps: 1, learningRate: NaN }), /learningRate/);
    assert.throws(() => createDataset({ images: new Uint8Array(10), labels: [0], height: 2, width: 2, channels: 3 }), /whole number of 2x2x3 images/);
    assert.throws(() => createDataset({ images: new Uint8Array(12), labels: [-1], height: 2, width: 2, channels: 3 }), /non-negative class index for labels\[0\] but received -1/);
    net.dispose();
    for (const d of [wide, small, ok]) d.dispose();
  });

  it('refuses use after dispose and a second run while one is in flight', async () => {
    const data = quadrants(64);
    const net = compile(smallConvNet(SIZE));
    const first = net.train({ data, steps: 20, learningRate: 0.05 });
    assert.throws(
      () => net.weights(),
      (e: unknown) => e instanceof EngineError && e.code === 'ERR_ENGINE_BUSY',
    );
    await assert.rejects(net.evaluate(data), (e: unknown) => e instanceof EngineError && e.code === 'ERR_ENGINE_BUSY');
    await first;
    net.dispose();
    assert.throws(
      () => net.weights(),
      (e: unknown) => e instanceof EngineError && e.code === 'ERR_ENGINE_DISPOSED',
    );
    await assert.rejects(net.train({ data, steps: 1, learningRate: 0.1 }), /used after dispose/);
    data.dispose();
    const other = compile(tinyHead);
    await assert.rejects(other.evaluate(data), (e: unknown) => e instanceof EngineError && e.code === 'ERR_ENGINE_DISPOSED');
    other.dispose();
  });

  it('keeps the caller in the stack of errors from C++', async () => {
    const net = compile(tinyHead, { device: 'cpu' });
    assert.throws(
      () => compile(tinyHead, { device: 'cuda' }),
      (e: unknown) => e instanceof EngineError && /built against a libtorch without CUDA/.test(e.message) && /engine-train\.test/.test(e.stack ?? ''),
    );
    net.dispose();
  });
});
