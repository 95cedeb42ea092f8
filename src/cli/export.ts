import { resolve } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../engine/safetensors.js';
import { exportOnnx } from '../export/onnx.js';
import type { OnnxMember } from '../export/onnx.js';
import { openExperiment, rankByValidation } from '../report/models.js';
import type { Experiment } from '../report/models.js';
import { compileIndividual } from '../spaces/index.js';
import type { Individual } from '../store/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { CliError, intOption, parse, str } from './args.js';

const HELP = `usage: evonas export <experiment> --format onnx|safetensors --out FILE [--id best|ID]
       evonas export <experiment> --ensemble K --format onnx --out FILE [--combine vote|average]

Writes a trained individual (the best by validation accuracy unless --id
names another) for use outside evonas:
  onnx         opset ${13} inference graph taking float32 [batch, C, H, W] pixels
               0-255 (standardization is inside), returning "logits" and
               "probabilities"; class names in the metadata ("classes")
  safetensors  the weights, with the DNA, NetIR, class names and input
               statistics in the metadata
--ensemble K exports the top K by validation as one ONNX graph that votes by
majority (ties to the lowest class index) or, with --combine average,
averages their probabilities.`;

async function member(x: Experiment, i: Individual): Promise<OnnxMember> {
  return { ir: compileIndividual(i.space, i.dna, x.io, x.config.stages), weights: decodeSafetensors(await x.store.readWeights(i.id), `weights of ${i.id}`).tensors };
}

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { id: { type: 'string' }, ensemble: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, combine: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const format = str(p, 'format');
  const out = str(p, 'out');
  if (format !== 'onnx' && format !== 'safetensors') throw new CliError(`--format must be onnx or safetensors${format ? ` but received "${format}"` : ''}\n\n${HELP}`);
  if (!out) throw new CliError(`--out FILE is required\n\n${HELP}`);
  const combine = str(p, 'combine') ?? 'vote';
  if (combine !== 'vote' && combine !== 'average') throw new CliError(`--combine must be vote or average but received "${combine}"`);
  const x = openExperiment(resolve(p.positionals[0]!));
  const all = await x.store.list();
  const ranked = rankByValidation(all);
  let chosen: Individual[];
  if (str(p, 'ensemble') !== undefined) {
    if (format !== 'onnx') throw new CliError('--ensemble exports ONNX only (--format onnx)');
    if (str(p, 'id') !== undefined) throw new CliError('--ensemble takes the top K by validation; leave out --id');
    const k = intOption(str(p, 'ensemble'), '--ensemble', 0, 1);
    if (ranked.length < k) throw new CliError(`the experiment has ${ranked.length} trained individuals with weights, fewer than --ensemble ${k}`, 1);
    chosen = ranked.slice(0, k);
  } else {
    const id = str(p, 'id') ?? 'best';
    if (id === 'best') {
      if (!ranked[0]) throw new CliError(`${x.dir}: no trained individual with weights yet`, 1);
      chosen = [ranked[0]];
    } else {
      const i = all.find((r) => r.id === id);
      if (!i) throw new CliError(`${x.dir}: no individual "${id}"`, 1);
      if (!i.hasWeights) throw new CliError(`individual ${id} has no weights (${i.failure ? `training failed: ${i.failure}` : 'collected after its death, or never trained'})`, 1);
      chosen = [i];
    }
  }
  const members = await Promise.all(chosen.map((i) => member(x, i)));
  const provenance = { experiment: x.dir, individuals: JSON.stringify(chosen.map((i) => ({ id: i.id, validationAccuracy: i.fitness }))) };
  if (format === 'onnx') {
    const bytes = exportOnnx(members, {
      stats: x.stats,
      classes: x.classes,
      combine,
      metadata: { ...provenance, 'input.shape': JSON.stringify([x.io.channels, x.io.height, x.io.width]), ...(chosen.length === 1 ? { dna: JSON.stringify(chosen[0]!.dna), space: chosen[0]!.space } : { combine }) },
      docString: `evonas ${chosen.length === 1 ? `individual ${chosen[0]!.id}` : `ensemble of ${chosen.length}`} from ${x.dir}`,
    });
    writeFileAtomic(out, bytes);
  } else {
    const i = chosen[0]!;
    writeFileAtomic(
      out,
      encodeSafetensors(members[0]!.weights, {
        ...provenance,
        space: i.space,
        dna: JSON.stringify(i.dna),
        netir: JSON.stringify(members[0]!.ir),
        classes: JSON.stringify(x.classes),
        mean: JSON.stringify(x.stats.mean),
        std: JSON.stringify(x.stats.std),
      }),
    );
  }
  console.log(`wrote ${out}: ${chosen.length === 1 ? `individual ${chosen[0]!.id} (validation accuracy ${chosen[0]!.fitness!.toFixed(4)})` : `ensemble of ${chosen.length} (${combine})`}`);
  return 0;
}
