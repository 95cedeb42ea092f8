// Each op's backward pass against central finite differences, in float64 on
// tiny inputs: the engine's gradients are only as good as this check.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { compile } from '../src/engine/net.js';
import { compileOnPath, netir, randomData, rng } from './support/helpers.js';
import { OP_CASES } from './support/op-cases.js';

const data = randomData(6, 6, 6, 2, 3, 11);
after(() => data.dispose());

const cases = OP_CASES;

// Both convolution paths (native/conv.h).
for (const path of ['library', 'gemm'] as const)
  describe(`gradients against finite differences (float64), convolutions on the ${path} path`, () => {
    for (const [name, nodes] of Object.entries(cases)) {
      it(name, () => {
        const net = compileOnPath(path, netir(nodes, { c: 2, h: 6, w: 6 }), { precision: 'fp64', threads: 1, seed: 3 });
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
  });

describe('gradients', () => {
  it('leave batch-norm running statistics untouched', () => {
    const net = compile(netir(cases.batchnorm!, { c: 2, h: 6, w: 6 }), { precision: 'fp64', threads: 1 });
    const before = net.weights().get('b.running_mean')!.data.slice();
    net.lossAndGradients(data);
    assert.deepEqual(net.weights().get('b.running_mean')!.data, before);
    net.dispose();
  });
});
