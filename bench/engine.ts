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
 * Env: BENCH_STEPS (measured steps, default 60), BENCH_ROUNDS (default 3),
 * BENCH_THREADS (default: cores), BENCH_NETS (comma-separated name prefixes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDataset } from '../src/engine/dataset.js';
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

const torchVersion = ensurePyTorch();
console.log(
  `evonas engine vs PyTorch ${torchVersion} (same libtorch), ${threads} threads, batch ${batch}, ` +
    `${steps} measured steps after ${warmup} warm-up, best of ${rounds} alternating rounds`,
);
console.log('The peer is measured in both memory formats (NCHW and channels_last); the ratio uses its faster one.');
console.log('');
const only = process.env.BENCH_NETS?.split(',');
const nets = ([
  ['initial (gap→dense)', initialIndividual()],
  ['small conv', smallConv()],
  ['resnet-20', resnet20()],
] as [string, NetIR][]).filter(([name]) => !only || only.some((o) => name.startsWith(o)));
const fp32Ratios: number[] = [];
const pad = (x: string, n: number) => x.padEnd(n);
console.log(`${pad('network', 22)}${pad('precision', 11)}${pad('evonas img/s', 14)}${pad('pytorch img/s', 15)}${pad('ratio', 8)}evonas GFLOP/s`);
for (const [name, ir] of nets) {
  const flopsPerStep = trainFlopsPerStep(analyze(ir), batch);
  for (const precision of ['fp32', 'bf16'] as const) {
    let ours = 0;
    let peer = 0;
    for (let r = 0; r < rounds; r++) {
      ours = Math.max(ours, await evonas(ir, precision));
      peer = Math.max(peer, pytorch(ir, precision, 'contiguous'), pytorch(ir, precision, 'channels_last'));
    }
    const ratio = ours / peer;
    if (precision === 'fp32') fp32Ratios.push(ratio);
    const gflops = ((ours / batch) * flopsPerStep) / 1e9;
    console.log(
      `${pad(name, 22)}${pad(precision, 11)}${pad(ours.toFixed(0), 14)}${pad(peer.toFixed(0), 15)}${pad(ratio.toFixed(2), 8)}${gflops.toFixed(2)}`,
    );
  }
}
data.dispose();
rmSync(dir, { recursive: true, force: true });
console.log('');
console.log(`engine/pytorch min ratio: ${Math.min(...fp32Ratios).toFixed(2)}`);
