import { resolve } from 'node:path';
import { exportModel } from '../export/model.js';
import { OPSET } from '../export/onnx.js';
import { CliError, experimentArg, intOption, parse, str } from './args.js';

const HELP = `usage: evonas export <experiment folder or postgresql:// URL> --format onnx|safetensors --out FILE [--id best|ID] [--data DIR]
       evonas export <experiment> --ensemble K --format onnx --out FILE [--combine vote|average]

Writes a trained individual (the best by validation accuracy unless --id
names another) for use outside evonas:
  onnx         opset ${OPSET} inference graph taking float32 [batch, C, H, W] pixels
               0-255 (standardization is inside), returning "logits" and
               "probabilities"; class names in the metadata ("classes")
  safetensors  the weights, with the DNA, NetIR, class names and input
               statistics in the metadata
--ensemble K exports the top K by validation as one ONNX graph that votes by
majority or, with --combine average, averages their probabilities. A vote
breaks ties as the report's ensemble does: by the members' summed
probabilities, then the lowest class index. Its "logits" are the vote
counts plus that sum over (members + 1), which never outweighs a vote.`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(
    argv,
    { id: { type: 'string' }, ensemble: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, combine: { type: 'string' }, data: { type: 'string' } },
    HELP,
    true,
  );
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment (a folder or a postgresql:// URL)\n\n${HELP}`);
  const format = str(p, 'format');
  const out = str(p, 'out');
  if (format !== 'onnx' && format !== 'safetensors') throw new CliError(`--format must be onnx or safetensors${format ? ` but received "${format}"` : ''}\n\n${HELP}`);
  if (!out) throw new CliError(`--out FILE is required\n\n${HELP}`);
  const combine = str(p, 'combine') ?? 'vote';
  if (combine !== 'vote' && combine !== 'average') throw new CliError(`--combine must be vote or average but received "${combine}"`);
  if (str(p, 'ensemble') !== undefined && format !== 'onnx') throw new CliError('--ensemble exports ONNX only (--format onnx)');
  if (str(p, 'ensemble') !== undefined && str(p, 'id') !== undefined) throw new CliError('--ensemble takes the top K by validation; leave out --id');
  const ensemble = str(p, 'ensemble') === undefined ? undefined : intOption(str(p, 'ensemble'), '--ensemble', 0, 1);
  const r = await exportModel(experimentArg(p.positionals[0]!), { format, out, id: str(p, 'id'), ensemble, combine, ...(str(p, 'data') ? { data: resolve(str(p, 'data')!) } : {}) });
  const first = r.individuals[0]!;
  console.log(`wrote ${out}: ${r.individuals.length === 1 ? `individual ${first.id} (validation accuracy ${first.fitness!.toFixed(4)})` : `ensemble of ${r.individuals.length} (${combine})`}`);
  return 0;
}
