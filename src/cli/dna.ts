import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { analyze } from '../net/analyze.js';
import { CIFAR10_IO } from '../net/presets.js';
import type { IOSpec } from '../net/presets.js';
import { compileDNA, dnaCost, initialDNA, mutate, parseDNA, renderDNA, serializeDNA } from '../spaces/graph/index.js';
import { createRng } from '../util/rng.js';
import { writeFileAtomic } from '../util/fs.js';
import { CliError, intOption, parse, str } from './args.js';

const HELP = `usage: evonas dna <random|render|info> ...

  evonas dna random --mutations N --seed S [--out dna.json] [--history]
      A DNA reached from the initial individual by N applied mutations.
  evonas dna render <dna.json> --out file.svg|file.png
      Draws the network: vertices with their activation and shape, edges with
      their convolution, skips as arcs.
  evonas dna info <dna.json>
      Parameters, FLOPs and the paper's cost (25,600 steps of 50, 5,000 validation images).

  --io HxWxC:K    input shape and classes (default 32x32x3:10, CIFAR-10)`;

function ioOption(v: string | undefined): IOSpec {
  if (!v) return CIFAR10_IO;
  const m = /^(\d+)x(\d+)x(\d+):(\d+)$/.exec(v);
  if (!m) throw new CliError(`Expected HxWxC:K for --io (e.g. 32x32x3:10) but received "${v}"`);
  return { height: Number(m[1]), width: Number(m[2]), channels: Number(m[3]), classes: Number(m[4]) };
}

function readDNA(path: string | undefined) {
  if (!path) throw new CliError(`expected a DNA file\n\n${HELP}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`, 1);
  }
  try {
    return parseDNA(text);
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`, 1);
  }
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const opts = { mutations: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, history: { type: 'boolean' }, io: { type: 'string' } } as const;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const p = parse(rest, opts, HELP, true);
  if (!p) return 0;
  const io = ioOption(str(p, 'io'));
  if (sub === 'random') {
    const n = intOption(str(p, 'mutations'), '--mutations', 10, 0, 100000);
    const rng = createRng(intOption(str(p, 'seed'), '--seed', 0, 0, 2 ** 32 - 1));
    let dna = initialDNA();
    for (let i = 0; i < n; i++) {
      const r = mutate(dna, rng);
      dna = r.dna;
      if (p.values.history) console.error(`${i + 1}: ${r.records.map((x) => `${x.type} ${x.targets.join(',')} ${JSON.stringify(x.detail)}`).join('; ')}`);
    }
    const out = str(p, 'out');
    if (out) writeFileAtomic(out, serializeDNA(dna));
    else process.stdout.write(serializeDNA(dna));
    return 0;
  }
  if (sub === 'render') {
    const file = p.positionals[0];
    const dna = readDNA(file);
    const out = str(p, 'out');
    if (!out || !/\.(svg|png)$/i.test(out)) throw new CliError('--out file.svg or file.png is required');
    const svg = renderDNA(dna, io, file);
    if (/\.png$/i.test(out)) writeFileAtomic(out, await sharp(Buffer.from(svg)).png().toBuffer());
    else writeFileSync(out, svg);
    console.log(`wrote ${out}`);
    return 0;
  }
  if (sub === 'info') {
    const dna = readDNA(p.positionals[0]);
    const a = analyze(compileDNA(dna, io));
    const cost = dnaCost(dna, io, { trainSteps: 25600, batchSize: 50, validationImages: 5000 });
    console.log(
      `vertices ${dna.vertices.length}, convolutions ${dna.edges.filter((e) => e.kind === 'conv').length}, skips ${dna.edges.filter((e) => e.skip).length}, learning rate ${dna.learningRate}`,
    );
    console.log(`parameters ${a.params}, forward ${(a.forwardFlops / 1e6).toFixed(2)} MFLOPs per image, cost Ft·Nt + Fv·Nv = ${cost.toExponential(3)} FLOPs`);
    return 0;
  }
  throw new CliError(`unknown subcommand "dna ${sub}"\n\n${HELP}`);
}
