import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { analyze, individualCost } from '../net/analyze.js';
import { CIFAR10_IO } from '../net/presets.js';
import type { IOSpec } from '../net/presets.js';
import { DEFAULT_SPACE, SPACE_REGISTRY, spaceOf } from '../spaces/index.js';
import type { SearchSpace } from '../spaces/index.js';
import { createRng } from '../util/rng.js';
import { writeFileAtomic } from '../util/fs.js';
import { parseWith } from '../util/schema.js';
import { CliError, intOption, parse, str } from './args.js';

const HELP = `usage: evonas dna <random|render|info> ... [--space S]

  evonas dna random --mutations N --seed S [--out dna.json] [--history]
      A DNA reached from the space's initial individual by N mutations (a
      space without mutation, stages: one drawn at random).
  evonas dna render <dna.json> --out file.svg|file.png
      Draws the network (graph: vertices with their activation and shape,
      edges with their convolution, skips as arcs).
  evonas dna info <dna.json>
      Its structure, parameters, FLOPs and the paper's cost (25,600 steps of
      50, 5,000 validation images).

  --space S        ${[...SPACE_REGISTRY.values()].map((s) => `${s.name} (${s.title})`).join(', ')}; default ${DEFAULT_SPACE}
  --settings JSON  the space's settings, as in experiment.json's block under
                   its name (default: every field's default)
  --io HxWxC:K     input shape and classes (default 32x32x3:10, CIFAR-10)`;

function ioOption(v: string | undefined): IOSpec {
  if (!v) return CIFAR10_IO;
  const m = /^(\d+)x(\d+)x(\d+):(\d+)$/.exec(v);
  if (!m) throw new CliError(`Expected HxWxC:K for --io (e.g. 32x32x3:10) but received "${v}"`);
  return { height: Number(m[1]), width: Number(m[2]), channels: Number(m[3]), classes: Number(m[4]) };
}

function readDNA(space: SearchSpace, path: string | undefined): unknown {
  if (!path) throw new CliError(`expected a DNA file\n\n${HELP}`);
  try {
    return space.validate(JSON.parse(readFileSync(path, 'utf8')));
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`, 1);
  }
}

function settingsOption(space: SearchSpace, v: string | undefined): unknown {
  let raw: unknown = {};
  if (v !== undefined) {
    try {
      raw = JSON.parse(v);
    } catch (e) {
      throw new CliError(`--settings: ${(e as Error).message}`);
    }
  }
  return parseWith(space.settings, raw, (_path, message) => new CliError(`--settings: ${message}`), [space.name]);
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const opts = {
    mutations: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    history: { type: 'boolean' },
    io: { type: 'string' },
    space: { type: 'string' },
    settings: { type: 'string' },
  } as const;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const p = parse(rest, opts, HELP, true);
  if (!p) return 0;
  const io = ioOption(str(p, 'io'));
  let space: SearchSpace;
  try {
    space = spaceOf(str(p, 'space') ?? DEFAULT_SPACE);
  } catch (e) {
    throw new CliError(`--space: ${(e as Error).message}`);
  }
  const settings = settingsOption(space, str(p, 'settings'));
  if (sub === 'random') {
    const n = intOption(str(p, 'mutations'), '--mutations', 10, 0, 100000);
    const rng = createRng(intOption(str(p, 'seed'), '--seed', 0, 0, 2 ** 32 - 1));
    let dna: unknown;
    if (space.mutate) {
      dna = space.initialPopulation(1, rng, settings)[0];
      for (let i = 0; i < n; i++) {
        const r = space.mutate(dna, rng, 1, settings);
        dna = r.dna;
        if (p.values.history) console.error(`${i + 1}: ${r.records.map((x) => JSON.stringify(x)).join('; ')}`);
      }
    } else if (space.randomIndividual) dna = space.randomIndividual(rng, settings);
    else throw new CliError(`the ${space.name} space neither mutates nor draws individuals`);
    const text = `${JSON.stringify(dna, null, 2)}\n`;
    const out = str(p, 'out');
    if (out) writeFileAtomic(out, text);
    else process.stdout.write(text);
    return 0;
  }
  if (sub === 'render') {
    const file = p.positionals[0];
    const dna = readDNA(space, file);
    const out = str(p, 'out');
    if (!out || !/\.(svg|png)$/i.test(out)) throw new CliError('--out file.svg or file.png is required');
    const svg = space.render(dna, io, file!);
    if (/\.png$/i.test(out)) writeFileAtomic(out, await sharp(Buffer.from(svg)).png().toBuffer());
    else writeFileSync(out, svg);
    console.log(`wrote ${out}`);
    return 0;
  }
  if (sub === 'info') {
    const dna = readDNA(space, p.positionals[0]);
    const a = analyze(space.compile(dna, io, settings));
    const cost = individualCost(a, { trainSteps: 25600, batchSize: 50, validationImages: 5000 });
    const outline =
      space.outline?.(dna) ??
      Object.entries(space.describe(dna))
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    if (outline) console.log(outline);
    console.log(`parameters ${a.params}, forward ${(a.forwardFlops / 1e6).toFixed(2)} MFLOPs per image, cost Ft·Nt + Fv·Nv = ${cost.toExponential(3)} FLOPs`);
    return 0;
  }
  throw new CliError(`unknown subcommand "dna ${sub}"\n\n${HELP}`);
}
