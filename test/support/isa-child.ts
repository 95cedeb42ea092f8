// Trains a small fused network (batch norm + ReLU, residual) in this process
// and prints the kernel vector unit and a hash of the weights, so that tests
// can compare runs with EVONAS_ISA pinned to different units.
import { createHash } from 'node:crypto';
import { createDataset } from '../../src/engine/dataset.js';
import { loadNative } from '../../src/engine/native.js';
import { compile } from '../../src/engine/net.js';
import { netir, quadrantData } from './helpers.js';

const SIZE = 16;
const { images, labels } = quadrantData(128, SIZE);
const data = createDataset({ images, labels, height: SIZE, width: SIZE, channels: 3 });
const ir = netir(
  [
    { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 24, kernel: [3, 3] },
    { id: 'b1', op: 'batchnorm', inputs: ['c1'] },
    { id: 'r1', op: 'relu', inputs: ['b1'] },
    { id: 'c2', op: 'conv2d', inputs: ['r1'], channels: 24, kernel: [3, 3] },
    { id: 'b2', op: 'batchnorm', inputs: ['c2'] },
    { id: 'a', op: 'add', inputs: ['b2', 'r1'] },
    { id: 'r2', op: 'relu', inputs: ['a'] },
    { id: 'g', op: 'globalavgpool', inputs: ['r2'] },
    { id: 'fc', op: 'dense', inputs: ['g'], units: 4 },
  ],
  { h: SIZE, w: SIZE, classes: 4 },
);
const net = compile(ir, { seed: 3, threads: 1 });
await net.train({ data, steps: 20, batchSize: 32, learningRate: 0.05, seed: 5 });
const hash = createHash('sha256');
for (const [name, t] of [...net.weights()].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(name).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
console.log(JSON.stringify({ isa: loadNative().info().kernelIsa, weights: hash.digest('hex') }));
net.dispose();
data.dispose();
