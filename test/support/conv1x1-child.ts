// Trains nets whose first layer is a strided 1x1 convolution over 2 to 7
// input channels, in channels-last memory: the shapes whose weight gradient
// corrupts the heap inside libtorch 1.13 (the process dies with SIGSEGV or
// SIGABRT within a few steps) unless the engine subsamples first. In a child
// process so that a crash fails one test, not the suite.
import { compile } from '../../src/engine/net.js';
import { netir, randomData } from './helpers.js';

for (let c = 2; c <= 7; c++) {
  const data = randomData(20, 32, 32, c, 3, c);
  const ir = netir(
    [
      { id: 'c', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [1, 1], stride: 2 },
      { id: 'g', op: 'globalavgpool', inputs: ['c'] },
      { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
    ],
    { c, h: 32, w: 32 },
  );
  for (let rep = 0; rep < 20; rep++) {
    const net = compile(ir, { seed: rep, threads: 1, memoryFormat: 'channels_last' });
    const r = await net.train({ data, steps: 3, batchSize: 10, learningRate: 0.05, seed: rep });
    if (!r.ok) throw new Error(`${c} channels, repetition ${rep}: ${r.failure}`);
    net.dispose();
  }
  data.dispose();
}
console.log('trained');
