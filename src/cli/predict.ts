import { resolve } from 'node:path';
import { statSync } from 'node:fs';
import { collectImages, predict } from '../predict/predict.js';
import { isStoreUrl } from '../store/index.js';
import { CliError, experimentArg, intOption, parse, str } from './args.js';

const HELP = `usage: evonas predict <model.onnx | experiment> <image or folder>... [--top K] [--json] [--data DIR] [--id ID]

Classifies images (JPEG, PNG or WebP; folders are searched recursively),
resized to the model's input where needed. An experiment (a folder or a
postgresql:// URL; --data names the dataset cache here) runs its best
individual by validation accuracy (or the one --id names: any member of a
Pareto front, say) on evonas's engine; an .onnx file made by
"evonas export" runs on onnxruntime. Prints the top K classes (default 3)
with their probabilities; --json prints
[{"file": path, "predictions": [{"class": name, "probability": p}, ...]}, ...].`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { top: { type: 'string' }, json: { type: 'boolean' }, data: { type: 'string' }, id: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length < 2) throw new CliError(`expected a model (.onnx or an experiment folder) and at least one image or folder\n\n${HELP}`);
  const [model, ...inputs] = p.positionals as [string, ...string[]];
  const top = intOption(str(p, 'top'), '--top', 3, 1);
  const files = collectImages(inputs);
  const isDir = (() => {
    try {
      return isStoreUrl(model) || statSync(model).isDirectory();
    } catch {
      return false;
    }
  })();
  const results = await predict(isDir ? experimentArg(model) : model, files, { top, ...(str(p, 'data') ? { data: resolve(str(p, 'data')!) } : {}), ...(str(p, 'id') ? { id: str(p, 'id')! } : {}) });
  if (p.values.json) console.log(JSON.stringify(results, null, 2));
  else for (const r of results) console.log(`${r.file}: ${r.predictions.map((q) => `${q.class} ${q.probability.toFixed(4)}`).join(', ')}`);
  return 0;
}
