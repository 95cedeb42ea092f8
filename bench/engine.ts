/**
 * npm run bench:engine — training throughput of evonas's engine against
 * PyTorch eager on the same libtorch (the Python whose torch the addon was
 * built against, checked: by default the project's .venv with PyTorch 2.13),
 * for the same networks, thread count, batch size, optimizer and
 * augmentation work. Prints images/s per side, the ratio per network and
 * precision, achieved GFLOP/s, a torch.compile line per network for
 * reference (not in the ratio), and as its last line
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
 * BENCH_THREADS (default: cores), BENCH_NETS (comma-separated name prefixes),
 * BENCH_COMPILE=0 (skip the torch.compile lines), BENCH_PYTHON (the peer's
 * Python, when the build did not record one: LIBTORCH=...), BENCH_DEVICE
 * (cpu, or cuda: both sides train on the GPU, the peer's batches made there
 * too, and bf16 runs beside fp32; the CPU kernels' section is left out).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDataset } from '../src/engine/dataset.js';
import { assertDevice, gpuNames } from '../src/engine/devices.js';
import { builtAgainst, KERNEL_ISAS, loadNative } from '../src/engine/native.js';
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
const device = process.env.BENCH_DEVICE ?? 'cpu';
const warmup = 8;
const batch = 50;
const N = 5000;

/** The peer's Python: the one whose torch is the libtorch the addon loaded, or the bench refuses to compare. */
function peerPython(): { python: string; version: string } {
  const built = builtAgainst();
  const python = process.env.BENCH_PYTHON ?? built?.python;
  if (!python) {
    throw new Error('bench:engine: the build recorded no Python for its libtorch (LIBTORCH=...); set BENCH_PYTHON to the Python whose torch is that libtorch');
  }
  const probe = spawnSync(python, ['-c', 'import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__))'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`bench:engine: ${python} cannot import torch: ${probe.stderr.trim().split('\n').pop()}`);
  const [version, root] = probe.stdout.trim().split('\n');
  const loaded = loadNative().info().libtorchPath;
  if (!loaded.startsWith(`${root}/`)) throw new Error(`bench:engine: ${python}'s torch is ${root}, but evonas loaded ${loaded}; the peer must run on the same libtorch`);
  return { python, version: version! };
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
  const net = compile(ir, { threads, precision, seed: 1, device });
  await net.train({ data, steps: warmup, batchSize: batch, learningRate: 0.01 });
  const t0 = process.hrtime.bigint();
  await net.train({ data, steps, batchSize: batch, learningRate: 0.01 });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  net.dispose();
  return (steps * batch) / secs;
}

interface PeerResult {
  images_per_s: number;
  warmup_seconds: number;
}

function pytorch(ir: NetIR, precision: Precision, memoryFormat: string, compiled = false): PeerResult {
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
      compile: compiled,
      device,
    }),
  );
  // torch warns on stderr that numpy is absent; the peer needs none.
  const out = execFileSync(peer.python, [peerScript, job], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim().split('\n').pop()!) as PeerResult;
}

const started = Date.now();
const info = loadNative().info();
if (device !== 'cpu') {
  try {
    assertDevice(device);
  } catch (e) {
    console.error(`bench:engine: ${(e as Error).message}`);
    process.exit(1);
  }
}
const onGpu = device !== 'cpu';
const precisions: Precision[] = info.bf16Native || onGpu ? ['fp32', 'bf16'] : ['fp32'];
const peer = peerPython();
const compileLines = process.env.BENCH_COMPILE !== '0';
console.log(
  `evonas engine (libtorch ${info.torchVersion}) vs PyTorch ${peer.version} eager (${peer.python}, the same libtorch), ${threads} threads, batch ${batch}, ` +
    `${steps} measured steps after ${warmup} warm-up, best of ${rounds} alternating rounds${onGpu ? `, on ${device} (${gpuNames()[0]?.name ?? 'a GPU'})` : ''}`,
);
console.log('The peer is measured in both memory formats (NCHW and channels_last); the ratio uses its faster one.');
if (!info.bf16Native && !onGpu) console.log(`bf16 rounds skipped: bf16 is not native here (${info.bf16Missing}); fp32 is the fast path on this CPU.`);
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
const compiledLines: string[] = [];
const pad = (x: string, n: number) => x.padEnd(n);
console.log(`${pad('network', 22)}${pad('precision', 11)}${pad('evonas img/s', 14)}${pad('pytorch img/s', 15)}${pad('ratio', 8)}evonas GFLOP/s`);
for (const [name, ir] of nets) {
  const flopsPerStep = trainFlopsPerStep(analyze(ir), batch);
  for (const precision of precisions) {
    let ours = 0;
    let best = 0;
    let bestFormat = 'channels_last';
    for (let r = 0; r < rounds; r++) {
      ours = Math.max(ours, await evonas(ir, precision));
      for (const format of ['contiguous', 'channels_last']) {
        const t = pytorch(ir, precision, format).images_per_s;
        if (t > best) [best, bestFormat] = [t, format];
      }
    }
    const ratio = ours / best;
    if (precision === 'fp32') fp32Ratios.push(ratio);
    const gflops = ((ours / batch) * flopsPerStep) / 1e9;
    console.log(`${pad(name, 22)}${pad(precision, 11)}${pad(ours.toFixed(0), 14)}${pad(best.toFixed(0), 15)}${pad(ratio.toFixed(2), 8)}${gflops.toFixed(2)}`);
    if (compileLines && precision === 'fp32') {
      // One round: the compile itself (in the warm-up) takes minutes on a small machine.
      const c = pytorch(ir, precision, bestFormat, true);
      compiledLines.push(
        `${pad(name, 22)}${pad(precision, 11)}${pad(c.images_per_s.toFixed(0), 16)}${pad(bestFormat, 16)}${pad((ours / c.images_per_s).toFixed(2), 8)}${c.warmup_seconds.toFixed(0)} s`,
      );
    }
  }
}
if (compiledLines.length > 0) {
  console.log('');
  console.log("For reference, not in the ratio: PyTorch with torch.compile (inductor), one round, in its eager run's faster memory format; ratio: evonas over it");
  console.log(`${pad('network', 22)}${pad('precision', 11)}${pad('compiled img/s', 16)}${pad('memory format', 16)}${pad('ratio', 8)}compile + warm-up`);
  for (const l of compiledLines) console.log(l);
}
data.dispose();
rmSync(dir, { recursive: true, force: true });
console.log('');
if (!onGpu) {
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
}
console.log(
  `CPU: ${[...Object.entries(info.cpu)]
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(' ')}; ${((Date.now() - started) / 60000).toFixed(1)} minutes in all`,
);
console.log('');
console.log(`engine/pytorch min ratio: ${Math.min(...fp32Ratios).toFixed(2)}`);
