// Trains a small fused network (batch norm + ReLU, residual) in this process
// and prints the kernel vector unit and a hash of the weights, so that tests
// can compare runs with EVONAS_ISA pinned to different units.
import { createHash } from 'node:crypto';
import { createDataset } from '../../src/engine/dataset.js';
import { loadNative } from '../../src/engine/native.js';
import { compile } from '../../src/engine/net.js';
import { quadrantData, residualNet } from './helpers.js';

const SIZE = 16;
const { images, labels } = quadrantData(128, SIZE);
const data = createDataset({ images, labels, height: SIZE, width: SIZE, channels: 3 });
const ir = residualNet(SIZE, 24);
const net = compile(ir, { seed: 3, threads: 1 });
await net.train({ data, steps: 20, batchSize: 32, learningRate: 0.05, seed: 5 });
const hash = createHash('sha256');
for (const [name, t] of [...net.weights()].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(name).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
console.log(JSON.stringify({ isa: loadNative().info().kernelIsa, weights: hash.digest('hex') }));
net.dispose();
data.dispose();
