// Each op's backward pass against central finite differences, in float64 on
// tiny inputs: the engine's gradients are only as good as this check.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { compile } from '../src/engine/net.js';
import type { NetNode } from '../src/net/ir.js';
import { netir, randomData, rng } from './support/helpers.js';

const data = randomData(6, 6, 6, 2, 3, 11);
after(() => data.dispose());

const cases: Record<string, NetNode[]> = {
  'conv2d (3x3, bias) + globalavgpool + dense': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3], bias: true },
    { id: 'g', op: 'globalavgpool', inputs: ['c'] },
    { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
  ],
  'conv2d (non-square 1x3, stride 2, 5x1 after)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [1, 3], stride: 2 },
    { id: 'c2', op: 'conv2d', inputs: ['c'], channels: 2, kernel: [5, 1] },
    { id: 'fc', op: 'dense', inputs: ['c2'], units: 3 },
  ],
  'conv2d (1x1, stride 2x3, padding 1: a stride-1 convolution of the subsampled input)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [1, 1], stride: [2, 3], padding: [1, 1] },
    { id: 'fc', op: 'dense', inputs: ['c'], units: 3 },
  ],
  batchnorm: [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'b', op: 'batchnorm', inputs: ['c'] },
    { id: 'fc', op: 'dense', inputs: ['b'], units: 3 },
  ],
  'batchnorm + relu (fused kernel)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'b', op: 'batchnorm', inputs: ['c'] },
    { id: 'r', op: 'relu', inputs: ['b'] },
    { id: 'fc', op: 'dense', inputs: ['r'], units: 3 },
  ],
  'batchnorm + add + relu (fused residual kernel, resized shortcut)': [
    { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'b', op: 'batchnorm', inputs: ['c1'] },
    { id: 'c2', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [3, 3], stride: 2 },
    { id: 'a', op: 'add', inputs: ['b', 'c2'] },
    { id: 'r', op: 'relu', inputs: ['a'] },
    { id: 'fc', op: 'dense', inputs: ['r'], units: 3 },
  ],
  relu: [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'r', op: 'relu', inputs: ['c'] },
    { id: 'fc', op: 'dense', inputs: ['r'], units: 3 },
  ],
  'add (upsampled and zero-padded input)': [
    { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'c2', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [3, 3], stride: 2 },
    { id: 'a', op: 'add', inputs: ['c1', 'c2', 'input'] },
    { id: 'fc', op: 'dense', inputs: ['a'], units: 3 },
  ],
  'add (downsampled and truncated input)': [
    { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'c2', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [3, 3], stride: 2 },
    { id: 'a', op: 'add', inputs: ['c2', 'c1'] },
    { id: 'fc', op: 'dense', inputs: ['a'], units: 3 },
  ],
  maxpool: [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'p', op: 'maxpool', inputs: ['c'], kernel: [2, 2], stride: 2 },
    { id: 'fc', op: 'dense', inputs: ['p'], units: 3 },
  ],
  'relu read only by a maxpool (applied after the pool)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'r', op: 'relu', inputs: ['c'] },
    { id: 'p', op: 'maxpool', inputs: ['r'], kernel: [3, 3], stride: 2, padding: [1, 1] },
    { id: 'g', op: 'globalavgpool', inputs: ['p'] },
    { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
  ],
  'avgpool (padded)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'p', op: 'avgpool', inputs: ['c'], kernel: [3, 3], stride: 2, padding: [1, 1] },
    { id: 'fc', op: 'dense', inputs: ['p'], units: 3 },
  ],
  'dense on a flat input': [
    { id: 'g', op: 'globalavgpool', inputs: ['input'] },
    { id: 'h', op: 'dense', inputs: ['g'], units: 5 },
    { id: 'fc', op: 'dense', inputs: ['h'], units: 3, bias: false },
  ],
  'dropout (fixed mask)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'd', op: 'dropout', inputs: ['c'], rate: 0.5 },
    { id: 'fc', op: 'dense', inputs: ['d'], units: 3 },
  ],
};

describe('gradients against finite differences (float64)', () => {
  for (const [name, nodes] of Object.entries(cases)) {
    it(name, () => {
      const net = compile(netir(nodes, { c: 2, h: 6, w: 6 }), { precision: 'fp64', threads: 1, seed: 3 });
      try {
        const { grads } = net.lossAndGradients(data, 5);
        const weights = net.weights();
        const pick = rng(name.length);
        let checked = 0;
        for (const [tensor, g] of grads) {
          const w = weights.get(tensor)!;
          assert.ok(w.data instanceof Float64Array);
          for (let k = 0; k < Math.min(6, w.data.length); k++) {
            const i = Math.floor(pick() * w.data.length);
            const h = 1e-6;
            const probe = (delta: number) => {
              const data2 = Float64Array.from(w.data);
              data2[i] = data2[i]! + delta;
              net.setWeights(new Map([[tensor, { shape: w.shape, data: data2 }]]));
              return net.lossAndGradients(data, 5).loss;
            };
            const numeric = (probe(h) - probe(-h)) / (2 * h);
            net.setWeights(new Map([[tensor, w]]));
            const analytic = g.data[i]!;
            const tol = 1e-6 + 1e-4 * Math.max(Math.abs(numeric), Math.abs(analytic));
            assert.ok(Math.abs(numeric - analytic) <= tol, `${tensor}[${i}]: analytic ${analytic} vs numeric ${numeric}`);
            checked++;
          }
        }
        assert.ok(checked >= 6, `checked only ${checked} coordinates`);
      } finally {
        net.dispose();
      }
    });
  }

  it('leaves batch-norm running statistics untouched', () => {
    const net = compile(netir(cases.batchnorm!, { c: 2, h: 6, w: 6 }), { precision: 'fp64', threads: 1 });
    const before = net.weights().get('b.running_mean')!.data.slice();
    net.lossAndGradients(data);
    assert.deepEqual(net.weights().get('b.running_mean')!.data, before);
    net.dispose();
  });
});
