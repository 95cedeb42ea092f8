/**
 * Prediction as a library call (evonas predict is this plus printing):
 * classify image files with an experiment's best individual on evonas's
 * engine, or with a model exported as ONNX on onnxruntime.
 */
import { isStoreUrl } from '../store/index.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { decodeImageAs, isImage } from '../data/sources/images.js';
import { createDataset } from '../engine/dataset.js';
import { readOnnxMetadata } from '../export/onnx-read.js';
import { EvonasError } from '../util/errors.js';
import { softmax } from '../report/curves.js';
import { loadNet, openExperiment, rankByValidation } from '../experiment/open.js';

interface Shape {
  channels: number;
  height: number;
  width: number;
}

export interface Prediction {
  file: string;
  /** The top classes, most probable first (ties keep class order). */
  predictions: { class: string; probability: number }[];
}

/**
 * The image files under `paths` (JPEG, PNG, WebP; folders searched
 * recursively, in name order).
 * @throws {EvonasError} ERR_INPUT naming a path that is missing or not an image.
 */
export function collectImages(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    let s: Stats;
    try {
      s = statSync(p);
    } catch {
      throw new EvonasError('ERR_INPUT', `${p}: no such file or folder`, [p]);
    }
    if (s.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const q = `${p}/${name}`;
        if (statSync(q).isDirectory() || isImage(q)) visit(q);
      }
    } else if (isImage(p)) out.push(p);
    else throw new EvonasError('ERR_INPUT', `${p}: not an image (expected .jpg, .jpeg, .png or .webp)`, [p]);
  };
  paths.forEach(visit);
  if (out.length === 0) throw new EvonasError('ERR_INPUT', `no images in ${paths.join(', ')}`);
  return out;
}

async function decodeAll(files: string[], s: Shape): Promise<Uint8Array> {
  const size = s.channels * s.height * s.width;
  const pixels = new Uint8Array(files.length * size);
  for (let i = 0; i < files.length; i++) pixels.set(await decodeImageAs(files[i]!, readFileSync(files[i]!), s), i * size);
  return pixels;
}

/** An experiment's best individual (or the one `id` names) on the engine: probabilities, a row per image. */
async function viaEngine(location: string, files: string[], data?: string, id?: string): Promise<{ classes: string[]; probs: ArrayLike<number> }> {
  const x = await openExperiment(location, { weights: 'predict with', ...(data ? { data } : {}) });
  try {
    const all = await x.store.list();
    const best = id === undefined || id === 'best' ? rankByValidation(all, { constraints: x.config.constraints })[0] : all.find((i) => i.id === id);
    if (!best) throw new EvonasError('ERR_INPUT', id === undefined || id === 'best' ? `${x.name}: no trained individual with weights yet` : `${x.name}: no individual "${id}"`, ['id']);
    if (!best.hasWeights) throw new EvonasError('ERR_INPUT', `${x.name}: ${best.id} has no weights (${best.fitness === null ? 'never trained' : 'collected after it died'})`, ['id']);
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
  } finally {
    await x.close();
  }
}

/** An exported model on onnxruntime. */
async function viaOnnx(path: string, files: string[]): Promise<{ classes: string[]; probs: ArrayLike<number> }> {
  const bytes = readFileSync(path);
  const meta = readOnnxMetadata(bytes, path);
  if (!meta.classes || !meta['input.shape']) throw new EvonasError('ERR_INPUT', `${path}: no class names or input shape in its metadata (export it with "evonas export")`, [path]);
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

/**
 * Classifies `files` (resized to the model's input where needed) with
 * `model`: an experiment (a folder or a postgresql:// URL: its best by
 * validation, on the engine) or
 * an .onnx file made by exportModel. Returns the top `top` classes of each.
 * @throws {EvonasError} ERR_INPUT naming the model or image at fault.
 */
/** @param o.id an experiment's individual to run (default: its best by validation; any front member, say). */
export async function predict(model: string, files: string[], o: { top?: number; data?: string; id?: string } = {}): Promise<Prediction[]> {
  let isDir = isStoreUrl(model);
  try {
    isDir ||= statSync(model).isDirectory();
  } catch {
    throw new EvonasError('ERR_INPUT', `${model}: no such model file or experiment folder`, [model]);
  }
  if (!isDir && o.id !== undefined) throw new EvonasError('ERR_INPUT', `${model}: --id picks an individual of an experiment; an ONNX file holds one model`, ['id']);
  const { classes, probs } = isDir ? await viaEngine(model, files, o.data, o.id) : await viaOnnx(model, files);
  const top = Math.min(o.top ?? 3, classes.length);
  return files.map((file, i) => ({
    file,
    predictions: classes
      .map((name, c) => ({ class: name, probability: Number(probs[i * classes.length + c]) }))
      .sort((a, b) => b.probability - a.probability) // stable: ties keep class order
      .slice(0, top),
  }));
}
