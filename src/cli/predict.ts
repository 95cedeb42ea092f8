import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeImageAs, isImage } from '../data/sources/images.js';
import { createDataset } from '../engine/dataset.js';
import { readOnnxMetadata } from '../export/onnx-read.js';
import { loadNet, openExperiment, rankByValidation } from '../report/models.js';
import { softmax } from '../report/curves.js';
import { CliError, intOption, parse, str } from './args.js';

const HELP = `usage: evonas predict <model.onnx | experiment> <image or folder>... [--top K] [--json]

Classifies images (JPEG, PNG or WebP; folders are searched recursively),
resized to the model's input where needed. An experiment folder runs its best
individual by validation accuracy on evonas's engine; an .onnx file made by
"evonas export" runs on onnxruntime. Prints the top K classes (default 3)
with their probabilities; --json prints
[{"file": path, "predictions": [{"class": name, "probability": p}, ...]}, ...].`;

interface Shape {
  channels: number;
  height: number;
  width: number;
}

function collect(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    let s;
    try {
      s = statSync(p);
    } catch {
      throw new CliError(`${p}: no such file or folder`, 1);
    }
    if (s.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const q = join(p, name);
        if (statSync(q).isDirectory() || isImage(q)) visit(q);
      }
    } else if (isImage(p)) out.push(p);
    else throw new CliError(`${p}: not an image (expected .jpg, .jpeg, .png or .webp)`, 1);
  };
  paths.forEach(visit);
  if (out.length === 0) throw new CliError(`no images in ${paths.join(', ')}`, 1);
  return out;
}

async function decodeAll(files: string[], s: Shape): Promise<Uint8Array> {
  const size = s.channels * s.height * s.width;
  const pixels = new Uint8Array(files.length * size);
  for (let i = 0; i < files.length; i++) pixels.set(await decodeImageAs(files[i]!, readFileSync(files[i]!), s), i * size);
  return pixels;
}

/** Runs an experiment's best individual on the engine. @returns probabilities, row per image. */
async function viaEngine(dir: string, files: string[]): Promise<{ classes: string[]; probs: ArrayLike<number> }> {
  const x = openExperiment(dir);
  const best = rankByValidation(await x.store.list())[0];
  if (!best) throw new CliError(`${dir}: no trained individual with weights yet`, 1);
  const images = await decodeAll(files, x.io);
  const data = createDataset({ images, labels: new Int32Array(files.length), height: x.io.height, width: x.io.width, channels: x.io.channels, ...x.stats });
  const net = await loadNet(x, best);
  try {
    const r = await net.predict(data);
    return { classes: x.classes, probs: softmax(r.logits, r.classes) };
  } finally {
    net.dispose();
    data.dispose();
  }
}

/** Runs an exported model on onnxruntime. */
async function viaOnnx(path: string, files: string[]): Promise<{ classes: string[]; probs: ArrayLike<number> }> {
  const bytes = readFileSync(path);
  const meta = readOnnxMetadata(bytes, path);
  if (!meta.classes || !meta['input.shape']) throw new CliError(`${path}: no class names or input shape in its metadata (export it with "evonas export")`, 1);
  const classes = JSON.parse(meta.classes) as string[];
  const [channels, height, width] = JSON.parse(meta['input.shape']) as number[];
  const s = { channels: channels!, height: height!, width: width! };
  const hwc = await decodeAll(files, s);
  // HWC bytes to NCHW floats (0-255; the model standardizes).
  const nchw = new Float32Array(hwc.length);
  const plane = s.height * s.width;
  for (let i = 0; i < files.length; i++) {
    for (let p = 0; p < plane; p++) for (let c = 0; c < s.channels; c++) nchw[i * plane * s.channels + c * plane + p] = hwc[(i * plane + p) * s.channels + c]!;
  }
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', nchw, [files.length, s.channels, s.height, s.width]) });
  return { classes, probs: out.probabilities!.data as Float32Array };
}

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { top: { type: 'string' }, json: { type: 'boolean' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length < 2) throw new CliError(`expected a model (.onnx or an experiment folder) and at least one image or folder\n\n${HELP}`);
  const [model, ...inputs] = p.positionals as [string, ...string[]];
  const files = collect(inputs);
  const isDir = (() => {
    try {
      return statSync(model).isDirectory();
    } catch {
      throw new CliError(`${model}: no such model file or experiment folder`, 1);
    }
  })();
  const { classes, probs } = isDir ? await viaEngine(resolve(model), files) : await viaOnnx(model, files);
  const top = Math.min(intOption(str(p, 'top'), '--top', 3, 1), classes.length);
  const results = files.map((file, i) => ({
    file,
    predictions: classes
      .map((name, c) => ({ class: name, probability: Number(probs[i * classes.length + c]) }))
      .sort((a, b) => b.probability - a.probability) // stable: ties keep class order
      .slice(0, top),
  }));
  if (p.values.json) console.log(JSON.stringify(results, null, 2));
  else for (const r of results) console.log(`${r.file}: ${r.predictions.map((q) => `${q.class} ${q.probability.toFixed(4)}`).join(', ')}`);
  return 0;
}
