/**
 * npm run bench:engine — training throughput of evonas's engine against
 * PyTorch on the same libtorch, for the same networks, thread count, batch
 * size, optimizer and augmentation work. Prints images/s per side, the ratio
 * per network and precision, achieved GFLOP/s, and as its last line
 * `engine/pytorch min ratio: X` (the smallest fp32 ratio).
 *
 * This machine's speed drifts by tens of percent from minute to minute, so
 * each measurement is repeated in rounds that alternate the two sides, and
 * each side's best round counts.
 *
 * bf16 rounds run only where the CPU computes bf16 natively (evonas refuses
 * bf16 elsewhere; see `evonas info`). A last section times evonas's own fused
 * kernels on each vector unit this CPU has against the baseline (SSE2) build
 * of the same kernels, in the same process.
 *
 * Env: BENCH_STEPS (measured steps, default 60), BENCH_ROUNDS (default 3),
 * BENCH_THREADS (default: cores), BENCH_NETS (comma-separated name prefixes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDataset } from '../src/engine/dataset.js';
import { KERNEL_ISAS, loadNative } from '../src/engine/native.js';
import { compile } from '../src/engine/net.js';
import type { Precision } from '../src/engine/net.js';
import { analyze, trainFlopsPerStep } from '../src/net/analyze.js';
import type { NetIR } from '../src/net/ir.js';
import { initialIndividual, resnet20, smallConv } from '../src/net/presets.js';

const here = dirname(fileURLToPath(import.meta.url));
const peerScript = join(here, '..', '..', 'bench', 'peer_torch.py');
const threads = Number(process.env.BENCH_THREADS ?? availableParallelism());
const steps = Number(process.env.BENCH_STEPS ?? 60);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmup = 8;
const batch = 50;
const N = 5000;
// Debian's python3-torch lives under Debian's python, which may not be the python3 first on PATH.
const python = '/usr/bin/python3';

function ensurePyTorch(): string {
  const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  if (probe.status === 0) return probe.stdout.trim();
  console.log('installing the peer: apt-get install -y python3-torch ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-q', 'python3-torch'], { stdio: 'inherit', env });
  return execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
}

// Random pixels: throughput does not depend on content, and the peer reads the very same bytes.
const images = new Uint8Array(N * 32 * 32 * 3);
let s = 12345;
for (let i = 0; i < images.length; i++) {
  s = (Math.imul(s, 1103515245) + 12345) >>> 0;
  images[i] = s >>> 24;
}
const labels = Int32Array.from({ length: N }, (_, i) => i % 10);
const dir = mkdtempSync(join(tmpdir(), 'evonas-bench-'));
writeFileSync(join(dir, 'images.u8'), images);
writeFileSync(join(dir, 'labels.i32'), Buffer.from(labels.buffer));
const data = createDataset({ images, labels, height: 32, width: 32, channels: 3 });

async function evonas(ir: NetIR, precision: Precision): Promise<number> {
  const net = compile(ir, { threads, precision, seed: 1 });
  await net.train({ data, steps: warmup, batchSize: batch, learningRate: 0.01 });
  const t0 = process.hrtime.bigint();
  await net.train({ data, steps, batchSize: batch, learningRate: 0.01 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  net.dispose();
  return (steps * batch) / secs;
}

function pytorch(ir: NetIR, precision: Precision, memoryFormat: string): number {
  const job = join(dir, 'job.json');
  writeFileSync(
    job,
    JSON.stringify({
      net: ir,
      images: join(dir, 'images.u8'),
      labels: join(dir, 'labels.i32'),
      n: N,
      threads,
      warmup,
      steps,
      batch,
      precision,
      memory_format: memoryFormat,
    }),
  );
  const out = execFileSync(python, [peerScript, job], { encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').pop()!) as { images_per_s: number }).images_per_s;
}

const started = Date.now();
const info = loadNative().info();
const precisions: Precision[] = info.bf16Native ? ['fp32', 'bf16'] : ['fp32'];
const torchVersion = ensurePyTorch();
console.log(`evonas engine vs PyTorch ${torchVersion} (same libtorch), ${threads} threads, batch ${batch}, ` + `${steps} measured steps after ${warmup} warm-up, best of ${rounds} alternating rounds`);
console.log('The peer is measured in both memory formats (NCHW and channels_last); the ratio uses its faster one.');
if (!info.bf16Native) console.log(`bf16 rounds skipped: bf16 is not native here (${info.bf16Missing}); fp32 is the fast path on this CPU.`);
console.log('');
const only = process.env.BENCH_NETS?.split(',');
const nets = (
  [
    ['initial (gap→dense)', initialIndividual()],
    ['small conv', smallConv()],
    ['resnet-20', resnet20()],
  ] as [string, NetIR][]
).filter(([name]) => !only || only.some((o) => name.startsWith(o)));
const fp32Ratios: number[] = [];
const pad = (x: string, n: number) => x.padEnd(n);
console.log(`${pad('network', 22)}${pad('precision', 11)}${pad('evonas img/s', 14)}${pad('pytorch img/s', 15)}${pad('ratio', 8)}evonas GFLOP/s`);
for (const [name, ir] of nets) {
  const flopsPerStep = trainFlopsPerStep(analyze(ir), batch);
  for (const precision of precisions) {
    let ours = 0;
    let peer = 0;
    for (let r = 0; r < rounds; r++) {
      ours = Math.max(ours, await evonas(ir, precision));
      peer = Math.max(peer, pytorch(ir, precision, 'contiguous'), pytorch(ir, precision, 'channels_last'));
    }
    const ratio = ours / peer;
    if (precision === 'fp32') fp32Ratios.push(ratio);
    const gflops = ((ours / batch) * flopsPerStep) / 1e9;
    console.log(`${pad(name, 22)}${pad(precision, 11)}${pad(ours.toFixed(0), 14)}${pad(peer.toFixed(0), 15)}${pad(ratio.toFixed(2), 8)}${gflops.toFixed(2)}`);
  }
}
data.dispose();
rmSync(dir, { recursive: true, force: true });
console.log('');
// evonas's fused batch norm + residual + ReLU, forward and backward, on a
// ResNet-20-sized activation (batch 50, 32x32, 16 channels) and a wider one.
const units = KERNEL_ISAS.slice(0, KERNEL_ISAS.indexOf(info.kernelIsa) + 1);
console.log(`fused kernels (forward + backward), best of 5, in use here: ${info.kernelIsa}`);
console.log(`${pad('shape', 22)}${units.map((u) => pad(`${u} ms`, 14)).join('')}speed-up over baseline`);
for (const [channels, rows] of [
  [16, 50 * 32 * 32],
  [64, 50 * 8 * 8],
] as const) {
  const iterations = 20;
  const best = units.map((u) => {
    let t = Infinity;
    for (let r = 0; r < 5; r++) t = Math.min(t, loadNative().timeKernels(u, channels, rows, iterations));
    return (1000 * t) / iterations;
  });
  console.log(`${pad(`${rows}x${channels}`, 22)}${best.map((b) => pad(b.toFixed(3), 14)).join('')}${(best[0]! / best[best.length - 1]!).toFixed(2)}x`);
}
console.log(
  `CPU: ${[...Object.entries(info.cpu)]
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(' ')}; ${((Date.now() - started) / 60000).toFixed(1)} minutes in all`,
);
console.log('');
console.log(`engine/pytorch min ratio: ${Math.min(...fp32Ratios).toFixed(2)}`);
