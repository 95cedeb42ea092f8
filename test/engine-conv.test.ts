// The convolution's two paths (native/conv.h): oneDNN's through at::conv2d,
// and one matrix product over the batch, which runs the small convolutions
// (at most 16 output pixels) where oneDNN's per-call setup would dominate.
// EVONAS_CONV=library|gemm pins a path; it is read when a network is compiled.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EngineError } from '../src/engine/errors.js';
import type { CompileOptions } from '../src/engine/net.js';
import type { NetNode } from '../src/net/ir.js';
import { compileOnPath, netir, randomData } from './support/helpers.js';

type Path = 'auto' | 'library' | 'gemm';

function compileOn(path: Path, nodes: NetNode[], io: { c: number; h: number; w: number }, o: CompileOptions) {
  return compileOnPath(path, netir(nodes, io), o);
}

const data = randomData(12, 9, 9, 3, 3, 5);
after(() => data.dispose());

// Every window the GEMM path handles: padding, strides, non-square kernels,
// bias, a strided 1x1 (which the library path runs on a subsampled input),
// and convolutions fed by other convolutions, so that input gradients flow.
const NETS: Record<string, NetNode[]> = {
  '3x3 with bias, then 3x3 stride 2': [
    { id: 'a', op: 'conv2d', inputs: ['input'], channels: 5, kernel: [3, 3], bias: true },
    { id: 'b', op: 'conv2d', inputs: ['a'], channels: 4, kernel: [3, 3], stride: 2 },
    { id: 'fc', op: 'dense', inputs: ['b'], units: 3 },
  ],
  '1x3 stride 2, 5x1, 5x5 stride 3 padding 1': [
    { id: 'a', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [1, 3], stride: 2 },
    { id: 'b', op: 'conv2d', inputs: ['a'], channels: 6, kernel: [5, 1] },
    { id: 'c', op: 'conv2d', inputs: ['b'], channels: 3, kernel: [5, 5], stride: 3, padding: [1, 1], bias: true },
    { id: 'fc', op: 'dense', inputs: ['c'], units: 3 },
  ],
  '1x1 stride 2x3 with padding, batch norm, ReLU, residual add': [
    { id: 'a', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'b', op: 'conv2d', inputs: ['a'], channels: 4, kernel: [1, 1], stride: [2, 3], padding: [1, 1] },
    { id: 'bn', op: 'batchnorm', inputs: ['b'] },
    { id: 'r', op: 'relu', inputs: ['bn'] },
    { id: 'c', op: 'conv2d', inputs: ['r'], channels: 4, kernel: [3, 3] },
    { id: 'add', op: 'add', inputs: ['c', 'b'] },
    { id: 'gap', op: 'globalavgpool', inputs: ['add'] },
    { id: 'fc', op: 'dense', inputs: ['gap'], units: 3 },
  ],
};

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (scale || 1));
  return worst;
}

describe('convolution paths', () => {
  for (const [name, nodes] of Object.entries(NETS)) {
    it(`the GEMM path gives the library's logits and gradients (float64): ${name}`, async () => {
      const io = { c: 3, h: 9, w: 9 };
      const lib = compileOn('library', nodes, io, { precision: 'fp64', threads: 2, seed: 11 });
      const gemm = compileOn('gemm', nodes, io, { precision: 'fp64', threads: 2, seed: 11 });
      try {
        const [pl, pg] = [await lib.predict(data), await gemm.predict(data)];
        assert.ok(maxRelDiff(pl.logits, pg.logits) < 1e-6, 'logits'); // predict returns float32
        const gl = lib.lossAndGradients(data, 3);
        const gg = gemm.lossAndGradients(data, 3);
        assert.ok(Math.abs(gl.loss - gg.loss) < 1e-12 * Math.abs(gl.loss), `loss ${gl.loss} vs ${gg.loss}`);
        assert.deepEqual([...gg.grads.keys()], [...gl.grads.keys()]);
        let convs = 0;
        for (const [tensor, g] of gl.grads) {
          assert.ok(maxRelDiff(g.data, gg.grads.get(tensor)!.data) < 1e-10, tensor);
          if (/^[abc]\.weight$/.test(tensor)) convs++;
        }
        assert.ok(convs >= 2, 'the gradients of at least two convolutions were compared');
        // And a few SGD steps land on the same weights.
        await lib.train({ data, steps: 4, batchSize: 6, learningRate: 0.1 });
        await gemm.train({ data, steps: 4, batchSize: 6, learningRate: 0.1 });
        const [wl, wg] = [lib.weights(), gemm.weights()];
        for (const [tensor, w] of wl) assert.ok(maxRelDiff(w.data, wg.get(tensor)!.data) < 1e-10, `trained ${tensor}`);
      } finally {
        lib.dispose();
        gemm.dispose();
      }
    });
  }

  it('auto takes the GEMM path for outputs of at most 16 pixels, the library above (float32, trained weights)', async () => {
    // 9x9 into 4x4 outputs (16 pixels: GEMM), and into 5x5 ones (25 pixels: the library).
    const small: NetNode[] = [
      { id: 'a', op: 'conv2d', inputs: ['input'], channels: 12, kernel: [3, 3], stride: 2, padding: [0, 0] },
      { id: 'b', op: 'conv2d', inputs: ['a'], channels: 12, kernel: [3, 3] },
      { id: 'fc', op: 'dense', inputs: ['b'], units: 3 },
    ];
    const large: NetNode[] = [
      { id: 'a', op: 'conv2d', inputs: ['input'], channels: 12, kernel: [3, 3], stride: 2 },
      { id: 'b', op: 'conv2d', inputs: ['a'], channels: 12, kernel: [3, 3] },
      { id: 'fc', op: 'dense', inputs: ['b'], units: 3 },
    ];
    const trained = async (path: Path, nodes: NetNode[]) => {
      const net = compileOn(path, nodes, { c: 3, h: 9, w: 9 }, { threads: 1, seed: 2 });
      await net.train({ data, steps: 6, batchSize: 6, learningRate: 0.05 });
      const w = net.weights().get('a.weight')!.data;
      net.dispose();
      return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
    };
    for (const [nodes, expected, other] of [
      [small, 'gemm', 'library'],
      [large, 'library', 'gemm'],
    ] as const) {
      const auto = await trained('auto', nodes);
      const want = await trained(expected, nodes);
      const not = await trained(other, nodes);
      assert.notDeepEqual(want, not, 'the two paths round differently in float32, so the comparison can tell them apart');
      assert.deepEqual(auto, want, `auto follows ${expected}`);
    }
  });

  it('refuses an unknown EVONAS_CONV, naming it', () => {
    assert.throws(
      () => compileOn('fast' as Path, NETS['3x3 with bias, then 3x3 stride 2']!, { c: 3, h: 9, w: 9 }, {}),
      (e: unknown) => e instanceof EngineError && /EVONAS_CONV: expected auto, library or gemm but found "fast"/.test(e.message),
    );
  });
});
