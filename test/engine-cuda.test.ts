// The engine on a GPU against the same engine on the CPU: every op's forward
// and backward (test/support/op-cases.ts), in float64 so that the two agree
// to rounding, and a few steps of augmented training, whose batches are
// sampled and augmented on the GPU from its own copy of the dataset. Skipped,
// with the reason, where this build has no CUDA or no GPU is visible.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadNative } from '../src/engine/native.js';
import { compile } from '../src/engine/net.js';
import type { Net } from '../src/engine/net.js';
import { netir, quadrantData, randomData, residualNet } from './support/helpers.js';
import { createDataset } from '../src/engine/dataset.js';
import { OP_CASES } from './support/op-cases.js';

const info = loadNative().info();
const skip = !info.cudaBuilt
  ? `this evonas was built against a libtorch without CUDA (${info.libtorchPath})`
  : info.cudaDevices === 0
    ? `no CUDA device is visible${process.env.CUDA_VISIBLE_DEVICES !== undefined ? ` (CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES})` : ''}`
    : false;

/** Largest |a - b| relative to the larger magnitude (with a floor of 1). */
function gap(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!), Math.abs(b[i]!)));
  return worst;
}

describe('the engine on CUDA against the CPU', { skip }, () => {
  const data = skip ? undefined : randomData(6, 6, 6, 2, 3, 11);
  after(() => data?.dispose());

  for (const [name, nodes] of Object.entries(OP_CASES)) {
    it(`${name}: forward and backward`, async () => {
      const nets: Net[] = ['cpu', 'cuda'].map((device) => compile(netir(nodes, { c: 2, h: 6, w: 6 }), { precision: 'fp64', threads: 1, seed: 3, device }));
      try {
        const [cpu, gpu] = nets as [Net, Net];
        const a = cpu.lossAndGradients(data!, 5);
        const b = gpu.lossAndGradients(data!, 5);
        assert.ok(Math.abs(a.loss - b.loss) <= 1e-9 * Math.max(1, Math.abs(a.loss)), `loss ${a.loss} on the CPU, ${b.loss} on CUDA`);
        assert.deepEqual([...b.grads.keys()], [...a.grads.keys()]);
        for (const [tensor, g] of a.grads) assert.ok(gap(g.data, b.grads.get(tensor)!.data) <= 1e-9, `${tensor}: gradients differ by ${gap(g.data, b.grads.get(tensor)!.data)}`);
        const pa = await cpu.predict(data!);
        const pb = await gpu.predict(data!);
        assert.ok(gap(pa.logits, pb.logits) <= 1e-5, `logits differ by ${gap(pa.logits, pb.logits)}`);
        const ea = await cpu.evaluate(data!);
        const eb = await gpu.evaluate(data!);
        assert.equal(eb.accuracy, ea.accuracy);
      } finally {
        for (const n of nets) n.dispose();
      }
    });
  }

  it('trains as the CPU does: batches sampled and augmented on the GPU, SGD there, the same weights', async () => {
    const { images, labels } = quadrantData(64, 16);
    const quadrants = createDataset({ images, labels, height: 16, width: 16, channels: 3 });
    try {
      const trained = [];
      for (const device of ['cpu', 'cuda']) {
        const net = compile(residualNet(16, 4), { seed: 2, threads: 1, precision: 'fp64', device });
        const r = await net.train({ data: quadrants, steps: 5, batchSize: 16, learningRate: 0.05, seed: 6, augment: true });
        assert.ok(r.ok, r.failure);
        trained.push({ loss: r.loss, w: net.weights() });
        net.dispose();
      }
      const [cpu, gpu] = trained as [(typeof trained)[0], (typeof trained)[0]];
      assert.ok(Math.abs(cpu.loss - gpu.loss) <= 1e-8, `loss ${cpu.loss} on the CPU, ${gpu.loss} on CUDA`);
      for (const [name, t] of cpu.w) assert.ok(gap(t.data, gpu.w.get(name)!.data) <= 1e-8, `${name} differs by ${gap(t.data, gpu.w.get(name)!.data)}`);
    } finally {
      quadrants.dispose();
    }
  });

  it('trains in fp32 and bf16 autocast on the GPU, one dataset shared by two nets', async () => {
    const { images, labels } = quadrantData(256, 16);
    const quadrants = createDataset({ images, labels, height: 16, width: 16, channels: 3 });
    try {
      for (const precision of ['fp32', 'bf16'] as const) {
        const net = compile(residualNet(16, 8), { seed: 1, threads: 1, precision, device: 'cuda' });
        const r = await net.train({ data: quadrants, steps: 150, batchSize: 32, learningRate: 0.05 });
        assert.ok(r.ok, r.failure);
        const e = await net.evaluate(quadrants);
        assert.ok(e.accuracy > 0.9, `${precision}: ${e.accuracy} on a task the CPU learns past 0.95`);
        net.dispose();
      }
    } finally {
      quadrants.dispose();
    }
  });
});
