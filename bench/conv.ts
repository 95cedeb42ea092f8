/**
 * npm run bench:conv: the convolution's two paths (native/conv.h) on this CPU.
 *
 * 1. Layer by layer: one convolution's forward and backward (input and weight
 *    gradients), batch 50, channels-last fp32, on oneDNN through at::conv2d
 *    (the library) and as one matrix product over the batch (GEMM), with 1
 *    thread (an evolution's workers) and with all cores. `auto` marks the
 *    path the engine takes (GEMM for at most 16 output pixels).
 * 2. Whole networks of the kind evolution grows (bench/fixtures/evolved-nets.json:
 *    children of a real bench:evolve run), trained with auto against the
 *    library alone, in alternating rounds, 1 thread, batch 50.
 *
 * Last line: `conv auto/library step time on evolved networks: geometric mean X`
 * (below 1 is faster). BENCH_THREADS sets the many-thread column.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDataset } from '../src/engine/dataset.js';
import { loadNative } from '../src/engine/native.js';
import { compile } from '../src/engine/net.js';
import type { NetIR } from '../src/net/ir.js';

const here = dirname(fileURLToPath(import.meta.url));
const threads = Number(process.env.BENCH_THREADS ?? availableParallelism());
const native = loadNative();
const info = native.info();
const started = Date.now();
const pad = (s: string | number, n: number) => String(s).padEnd(n);

console.log(`evonas convolution paths (libtorch ${info.torchVersion}; kernels ${info.kernelIsa}), batch 50, channels-last fp32, forward + backward, best of 3`);
console.log('');
const threadCounts = [...new Set([1, threads])];
console.log(
  `${pad('kernel', 8)}${pad('channels', 10)}${pad('input', 7)}${pad('stride', 8)}${pad('output', 8)}${pad('auto', 9)}` +
    threadCounts.map((t) => `${pad(`library ms (${t}t)`, 19)}${pad(`gemm ms (${t}t)`, 16)}${pad('gemm/lib', 10)}`).join(''),
);
const chosen: number[] = [];
for (const kernel of [3, 1]) {
  for (const c of [16, 32, 64, 128]) {
    for (const out of [1, 2, 4, 8, 16]) {
      for (const stride of [1, 2]) {
        const h = out * stride;
        const work = 50 * out * out * c * c * kernel * kernel * 6; // multiply-adds, forward and both gradients
        const iterations = Math.max(3, Math.min(100, Math.round(1e8 / (work + 2e6))));
        const cells = threadCounts.map((t) => {
          let lib = Infinity;
          let gemm = Infinity;
          for (let r = 0; r < 3; r++) {
            lib = Math.min(lib, native.timeConvolution('library', 50, c, h, c, kernel, stride, t, iterations));
            gemm = Math.min(gemm, native.timeConvolution('gemm', 50, c, h, c, kernel, stride, t, iterations));
          }
          return { lib, gemm };
        });
        const auto = out * out <= 16 ? 'gemm' : 'library';
        if (auto === 'gemm') chosen.push(...cells.map((x) => x.gemm / x.lib));
        console.log(
          `${pad(`${kernel}x${kernel}`, 8)}${pad(c, 10)}${pad(h, 7)}${pad(stride, 8)}${pad(`${out}x${out}`, 8)}${pad(auto, 9)}` +
            cells.map((x) => `${pad((x.lib * 1e3).toFixed(3), 19)}${pad((x.gemm * 1e3).toFixed(3), 16)}${pad((x.gemm / x.lib).toFixed(2), 10)}`).join(''),
        );
      }
    }
  }
}
const geo = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
console.log(`where auto takes GEMM: gemm/library geometric mean ${geo(chosen).toFixed(2)}, worst ${Math.max(...chosen).toFixed(2)}, best ${Math.min(...chosen).toFixed(2)}`);
console.log('');

// Whole evolved networks, auto against the library alone.
const fixture = JSON.parse(readFileSync(join(here, '..', '..', 'bench', 'fixtures', 'evolved-nets.json'), 'utf8')) as {
  source: string;
  networks: { id: string; ir: NetIR }[];
};
const N = 2000;
const images = new Uint8Array(N * 32 * 32 * 3);
let s = 12345;
for (let i = 0; i < images.length; i++) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  images[i] = s >>> 24;
}
const data = createDataset({ images, labels: Int32Array.from({ length: N }, (_, i) => i % 10), height: 32, width: 32, channels: 3 });
async function msPerStep(ir: NetIR, path: 'auto' | 'library', steps: number): Promise<number> {
  process.env.EVONAS_CONV = path; // read when the network is compiled
  const net = compile(ir, { threads: 1, seed: 1 });
  delete process.env.EVONAS_CONV;
  await net.train({ data, steps: 5, batchSize: 50, learningRate: 0.05 });
  const t0 = process.hrtime.bigint();
  await net.train({ data, steps, batchSize: 50, learningRate: 0.05 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / steps;
  net.dispose();
  return ms;
}
console.log(`evolved networks (${fixture.source}), 1 thread, best of 3 alternating rounds`);
console.log(`${pad('network', 28)}${pad('convolutions', 14)}${pad('library ms/step', 17)}${pad('auto ms/step', 14)}auto/library`);
const ratios: number[] = [];
for (const { id, ir } of fixture.networks) {
  const convs = ir.nodes.filter((n) => n.op === 'conv2d').length;
  let lib = Infinity;
  let auto = Infinity;
  const probe = await msPerStep(ir, 'library', 5);
  const steps = Math.max(20, Math.min(400, Math.round(1500 / probe)));
  for (let r = 0; r < 3; r++) {
    lib = Math.min(lib, await msPerStep(ir, 'library', steps));
    auto = Math.min(auto, await msPerStep(ir, 'auto', steps));
  }
  if (convs > 0) ratios.push(auto / lib);
  console.log(`${pad(id, 28)}${pad(convs, 14)}${pad(lib.toFixed(3), 17)}${pad(auto.toFixed(3), 14)}${(auto / lib).toFixed(2)}`);
}
data.dispose();
console.log(
  `CPU: ${Object.entries(info.cpu)
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(' ')}; ${((Date.now() - started) / 60000).toFixed(1)} minutes in all`,
);
console.log('');
console.log(
  `conv auto/library step time on evolved networks: geometric mean ${geo(ratios).toFixed(2)} (best ${Math.min(...ratios).toFixed(2)}, worst ${Math.max(...ratios).toFixed(2)}, ${ratios.length} networks)`,
);
