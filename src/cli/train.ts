import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Precision } from '../engine/net.js';
import type { NetIR } from '../net/ir.js';
import { PRESETS } from '../net/presets.js';
import { spaceOf } from '../spaces/index.js';
import type { IOSpec } from '../net/presets.js';
import { assertDevice } from '../engine/devices.js';
import { trainBaseline } from '../train/baseline.js';
import type { BaselineOptions } from '../train/baseline.js';
import { CliError, intOption, numberOption, parse, str, untilStopped } from './args.js';
import type { Parsed } from './args.js';
import { Progress } from './progress.js';

const HELP = `usage: evonas train --data <cache> [options]

Trains one fixed network on a dataset cache and reports its accuracy: a
baseline beside evolution, and a check that the engine and data work.

  --net NAME|FILE     ${Object.keys(PRESETS).join(', ')} (default resnet20), or a NetIR .json file
  --cell CELL         instead: a NAS-Bench-201 cell (|nor_conv_3x3~0|+|...|) in the
                      benchmark's skeleton, --cells-per-stage N (default 5) and
                      --channels C (default 16) to scale it
  --steps N           SGD steps (default 4000)
  --batch N           batch size (default 50)
  --lr X              peak learning rate (default 0.1), cosine schedule with 200 warm-up steps
  --weight-decay X    (default 0.0005)
  --precision P       fp32 or bf16 (default fp32)
  --device D          cpu (default), cuda or cuda:N
  --threads N         (default: all cores)
  --seed N            (default 0)
  --test              also evaluate the test split once at the end
  --out DIR           write weights.safetensors and result.json there`;

const OPTIONS = {
  data: { type: 'string' },
  net: { type: 'string' },
  cell: { type: 'string' },
  'cells-per-stage': { type: 'string' },
  channels: { type: 'string' },
  steps: { type: 'string' },
  batch: { type: 'string' },
  lr: { type: 'string' },
  'weight-decay': { type: 'string' },
  precision: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  seed: { type: 'string' },
  test: { type: 'boolean' },
  out: { type: 'string' },
} as const;

/** A preset's name or a NetIR file. */
function resolveNet(netName: string): (io: IOSpec) => NetIR {
  if (PRESETS[netName]) return PRESETS[netName]!;
  let ir: NetIR;
  try {
    ir = JSON.parse(readFileSync(netName, 'utf8')) as NetIR;
  } catch (e) {
    throw new CliError(`--net: "${netName}" is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a readable NetIR file (${(e as Error).message})`);
  }
  return () => ir;
}

/** A NAS-Bench-201 cell in the benchmark's skeleton, scaled by --cells-per-stage and --channels: the nb201 space's own compilation, through the registry. */
function nb201Net(p: Parsed, cell: string): (io: IOSpec) => NetIR {
  const space = spaceOf('nb201');
  const dna = space.validate({ cell });
  const given = {
    ...(str(p, 'cells-per-stage') !== undefined ? { cellsPerStage: intOption(str(p, 'cells-per-stage'), '--cells-per-stage', 0, 1, 64) } : {}),
    ...(str(p, 'channels') !== undefined ? { channels: intOption(str(p, 'channels'), '--channels', 0, 1, 4096) } : {}),
  };
  const settings = space.settings.parse(given); // the space's defaults for the rest
  return (io) => space.compile(dna, io, settings);
}

/** The flags as trainBaseline's options (all but the callbacks). */
function baselineOptions(p: Parsed): BaselineOptions & { steps: number } {
  const data = str(p, 'data');
  if (!data) throw new CliError(`--data <cache> is required\n\n${HELP}`);
  const precision = (str(p, 'precision') ?? 'fp32') as Precision;
  if (precision !== 'fp32' && precision !== 'bf16') throw new CliError(`Expected fp32 or bf16 for --precision but received "${precision}"`);
  const cell = str(p, 'cell');
  if (cell && str(p, 'net')) throw new CliError('give --net or --cell, not both');
  const netName = cell ? `nb201 ${cell}` : (str(p, 'net') ?? 'resnet20');
  const out = str(p, 'out');
  const device = str(p, 'device') ?? 'cpu';
  assertDevice(device);
  return {
    data,
    net: cell ? nb201Net(p, cell) : resolveNet(netName),
    netName,
    steps: intOption(str(p, 'steps'), '--steps', 4000, 1),
    batchSize: intOption(str(p, 'batch'), '--batch', 50, 1, 4096),
    learningRate: numberOption(str(p, 'lr'), '--lr', 0.1, 0, 10),
    weightDecay: numberOption(str(p, 'weight-decay'), '--weight-decay', 5e-4, 0, 1),
    precision,
    threads: intOption(str(p, 'threads'), '--threads', availableParallelism(), 1, 1024),
    seed: intOption(str(p, 'seed'), '--seed', 0, 0, 2 ** 32 - 1),
    test: p.values.test === true,
    device,
    ...(out ? { out } : {}),
  };
}

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS, HELP);
  if (!p) return 0;
  const o = baselineOptions(p);
  const progress = new Progress();
  const t0 = Date.now();
  const evalEvery = Math.max(500, Math.floor(o.steps / 8));
  const r = await untilStopped((signal) =>
    trainBaseline({
      ...o,
      signal,
      onStart: (s) =>
        console.log(
          `training ${o.netName} (${(s.params / 1e6).toFixed(2)}M parameters, ${(s.trainFlopsPerImage / 1e6).toFixed(0)} MFLOPs per training image) ` +
            `on ${s.dataset}: ${s.images} images, ${s.steps} steps of ${s.batchSize}, ${s.precision}, ${s.threads} threads`,
        ),
      onProgress: (q) => {
        const eta = (((Date.now() - t0) / q.step) * (q.steps - q.step)) / 1000;
        const line =
          `step ${q.step}/${q.steps}  loss ${q.loss.toFixed(3)}  train acc ${q.accuracy.toFixed(3)}  lr ${q.learningRate.toFixed(4)}  ${q.imagesPerSecond.toFixed(0)} img/s  eta ${eta.toFixed(0)} s` +
          (q.validation ? `  val acc ${q.validation.accuracy.toFixed(4)}` : '');
        if (q.validation && q.step % evalEvery < 200) progress.log(line);
        else progress.update(line);
      },
    }),
  ).finally(() => progress.done());
  console.log(`${r.cancelled ? 'stopped' : 'done'} after ${r.steps} steps in ${r.seconds.toFixed(0)} s: validation accuracy ${r.validationAccuracy.toFixed(4)}`);
  if (r.testAccuracy !== undefined) console.log(`test accuracy ${r.testAccuracy.toFixed(4)} (${r.testImages} images)`);
  if (o.out) console.log(`wrote ${join(o.out, 'weights.safetensors')} and result.json`);
  return r.cancelled ? 130 : 0;
}
