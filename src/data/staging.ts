/**
 * Builds a dataset cache in a temporary folder beside its destination and
 * renames it into place only when complete: a failed import leaves nothing.
 * Sources write records into named parts; finalize() orders the parts by
 * name, holds out a stratified validation split, computes the training
 * statistics and writes the .npy files and the manifest.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { createRng, shuffle } from '../util/rng.js';
import { writeFileAtomic } from '../util/fs.js';
import { DATASET_FORMAT, DATASET_VERSION, DatasetError, MANIFEST } from './manifest.js';
import type { Manifest, SplitInfo, SplitName } from './manifest.js';
import { npyHeader } from './npy.js';

export interface Shape {
  height: number;
  width: number;
  channels: number;
}

/** Records of one split, from one source file, in order. */
export class Part {
  labels = new Int32Array(1024);
  count = 0;
  private readonly fd: number;

  constructor(
    readonly split: SplitName,
    readonly name: string,
    readonly path: string,
    private readonly staging: Staging,
  ) {
    this.fd = openSync(path, 'w');
  }

  /** Writes record `index` (HWC pixels); records may arrive out of order. */
  put(index: number, pixels: Uint8Array, label: number, where: string): void {
    const size = this.staging.recordBytes(pixels.length, where);
    if (index >= this.labels.length) {
      const grown = new Int32Array(Math.max(this.labels.length * 2, index + 1));
      grown.set(this.labels);
      this.labels = grown;
    }
    this.labels[index] = label;
    writeSync(this.fd, pixels, 0, pixels.length, index * size);
    this.count = Math.max(this.count, index + 1);
  }

  add(pixels: Uint8Array, label: number, where: string): void {
    this.put(this.count, pixels, label, where);
  }

  close(): void {
    closeSync(this.fd);
  }
}

export interface FinalizeOptions {
  name: string;
  classes: string[];
  /** Validation images held out of train when the source has no validation split. */
  holdOut: number;
  seed: number;
  source: Manifest['source'];
  onProgress?: (message: string) => void;
}

export class Staging {
  readonly tmp: string;
  readonly out: string;
  shape: Shape | undefined;
  private parts: Part[] = [];

  /** @throws {DatasetError} when the destination exists. */
  constructor(out: string) {
    this.out = resolve(out);
    if (existsSync(this.out)) {
      throw new DatasetError('ERR_DATASET_EXISTS', `${out} already exists; choose another --out or remove it first`);
    }
    mkdirSync(dirname(this.out), { recursive: true });
    this.tmp = join(dirname(this.out), `.${basename(this.out)}.partial-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(join(this.tmp, 'parts'), { recursive: true });
  }

  setShape(shape: Shape, where: string): void {
    if (!this.shape) {
      this.shape = shape;
      return;
    }
    const s = this.shape;
    if (s.height !== shape.height || s.width !== shape.width || s.channels !== shape.channels) {
      throw new DatasetError('ERR_DATASET_SHAPE', `${where}: ${shape.height}x${shape.width}x${shape.channels} differs from the ${s.height}x${s.width}x${s.channels} of earlier images`);
    }
  }

  /** @internal */
  recordBytes(length: number, where: string): number {
    if (!this.shape) throw new Error('setShape() before writing records');
    const size = this.shape.height * this.shape.width * this.shape.channels;
    if (length !== size) throw new DatasetError('ERR_DATASET_SHAPE', `${where}: ${length} bytes of pixels where ${size} were expected`);
    return size;
  }

  part(split: SplitName, name: string): Part {
    const p = new Part(split, name, join(this.tmp, 'parts', `${split}-${this.parts.length}`), this);
    this.parts.push(p);
    return p;
  }

  splitParts(split: SplitName): Part[] {
    return this.parts.filter((p) => p.split === split).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Removes everything written; the destination stays untouched. */
  abort(): void {
    for (const p of this.parts) {
      try {
        p.close();
      } catch {
        /* already closed */
      }
    }
    rmSync(this.tmp, { recursive: true, force: true });
  }

  /** Every record's label is one of the classes. @throws {DatasetError} naming the part and record. */
  private checkLabels(classes: number): void {
    for (const p of this.parts) {
      for (let i = 0; i < p.count; i++) {
        const l = p.labels[i]!;
        if (l < 0 || l >= classes) throw new DatasetError('ERR_DATASET_LABEL', `${p.name}: record ${i}: label ${l} is out of range 0-${classes - 1}`);
      }
    }
  }

  /**
   * Writes one split's images and labels (.npy) from `sources`, keeping the
   * records `keep` accepts (by index over all the sources); `stats` gathers
   * the per-channel statistics where given.
   */
  private writeSplit(split: SplitName, sources: { part: Part; keep: (globalIndex: number) => boolean }[], classes: number, o: FinalizeOptions, stats?: Stats): SplitInfo {
    const shape = this.shape!;
    const record = shape.height * shape.width * shape.channels;
    const imagesName = `${split}-images.npy`;
    const labelsName = `${split}-labels.npy`;
    const labels: number[] = [];
    const fd = openSync(join(this.tmp, imagesName), 'w');
    writeSync(fd, npyHeader('|u1', [0, shape.height, shape.width, shape.channels])); // rewritten with the count below
    const chunk = Buffer.alloc(record * 1024);
    let offset = 0;
    for (const { part, keep } of sources) {
      const src = openSync(part.path, 'r');
      for (let i = 0; i < part.count; i += 1024) {
        const n = Math.min(1024, part.count - i);
        readSync(src, chunk, 0, n * record, i * record);
        for (let k = 0; k < n; k++) {
          if (!keep(offset + i + k)) continue;
          const px = chunk.subarray(k * record, (k + 1) * record);
          writeSync(fd, px);
          stats?.add(px, shape.channels);
          labels.push(part.labels[i + k]!);
        }
      }
      offset += part.count;
      closeSync(src);
    }
    writeSync(fd, npyHeader('|u1', [labels.length, shape.height, shape.width, shape.channels]), 0, undefined, 0);
    closeSync(fd);
    const l32 = Int32Array.from(labels);
    writeFileAtomic(join(this.tmp, labelsName), [npyHeader('<i4', [l32.length]), new Uint8Array(l32.buffer)]);
    o.onProgress?.(`wrote ${split}: ${l32.length} images`);
    return { count: l32.length, perClass: countPerClass(l32, classes), images: imagesName, labels: labelsName };
  }

  /** Writes the splits and the manifest, then renames the staging folder into place. */
  finalize(o: FinalizeOptions): Manifest {
    const shape = this.shape;
    if (!shape) throw new DatasetError('ERR_DATASET_EMPTY', 'the source holds no images');
    for (const p of this.parts) p.close();
    const classes = o.classes.length;
    this.checkLabels(classes);
    const train = this.splitParts('train');
    const test = this.splitParts('test');
    const validation = this.splitParts('validation');
    if (train.length === 0) throw new DatasetError('ERR_DATASET_EMPTY', 'the source holds no training images');
    if (test.length === 0) throw new DatasetError('ERR_DATASET_EMPTY', 'the source holds no test images');
    const all = (parts: Part[]) => parts.map((part) => ({ part, keep: () => true }));
    // Destination of every training record: train, or held out for validation (stratified, seeded).
    const given = validation.length > 0;
    const trainLabels = concatLabels(train);
    const perClass = countPerClass(trainLabels, classes);
    perClass.forEach((n, c) => {
      if (n === 0) throw new DatasetError('ERR_DATASET_EMPTY', `class "${o.classes[c]}" has no training images`);
    });
    const held = given ? new Uint8Array(0) : heldOut(trainLabels, perClass, o);
    const stats = new Stats(shape.channels);
    const splits = {
      train: this.writeSplit('train', given ? all(train) : train.map((part) => ({ part, keep: (i: number) => held[i] === 0 })), classes, o, stats),
      validation: this.writeSplit('validation', given ? all(validation) : train.map((part) => ({ part, keep: (i: number) => held[i] === 1 })), classes, o),
      test: this.writeSplit('test', all(test), classes, o),
    };
    const manifest: Manifest = {
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      name: o.name,
      classes: o.classes,
      shape,
      splits,
      validation: given ? { source: 'given' } : { source: 'held-out', seed: o.seed, stratified: true, heldOut: o.holdOut },
      stats: stats.result(),
      source: o.source,
      createdAt: new Date().toISOString(),
    };
    writeFileAtomic(join(this.tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    rmSync(join(this.tmp, 'parts'), { recursive: true, force: true });
    if (existsSync(this.out)) {
      throw new DatasetError('ERR_DATASET_EXISTS', `${this.out} appeared while importing; the import is left in ${this.tmp}`);
    }
    renameSync(this.tmp, this.out);
    return manifest;
  }
}

/** Which training records (1) are held out for validation: `o.holdOut` of them, stratified by class, shuffled with `o.seed`. */
function heldOut(trainLabels: Int32Array, perClass: number[], o: FinalizeOptions): Uint8Array {
  const held = new Uint8Array(trainLabels.length);
  const take = stratifiedCounts(perClass, o.holdOut);
  const rng = createRng(o.seed);
  const byClass: number[][] = perClass.map(() => []);
  trainLabels.forEach((l, i) => {
    byClass[l]!.push(i);
  });
  byClass.forEach((idx, c) => {
    shuffle(idx, rng.fork(c));
    for (let k = 0; k < take[c]!; k++) held[idx[k]!] = 1;
  });
  return held;
}

function concatLabels(parts: Part[]): Int32Array {
  const total = parts.reduce((a, p) => a + p.count, 0);
  const out = new Int32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p.labels.subarray(0, p.count), o);
    o += p.count;
  }
  return out;
}

function countPerClass(labels: Int32Array, classes: number): number[] {
  const c = new Array<number>(classes).fill(0);
  for (const l of labels) c[l]!++;
  return c;
}

/** Per-class hold-out counts summing to `total`, proportional to class sizes (largest remainder). */
export function stratifiedCounts(perClass: number[], total: number): number[] {
  const n = perClass.reduce((a, b) => a + b, 0);
  if (total >= n) throw new DatasetError('ERR_DATASET_SPLIT', `cannot hold out ${total} validation images from ${n} training images`);
  const exact = perClass.map((c) => (total * c) / n);
  const take = exact.map(Math.floor);
  let left = total - take.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left === 0) break;
    take[i]!++;
    left--;
  }
  return take;
}

/** Per-channel mean and standard deviation, streamed. */
class Stats {
  private sum: number[];
  private sq: number[];
  private n = 0;
  constructor(channels: number) {
    this.sum = new Array<number>(channels).fill(0);
    this.sq = new Array<number>(channels).fill(0);
  }
  add(px: Uint8Array, channels: number): void {
    const s = this.sum;
    const q = this.sq;
    for (let c = 0; c < channels; c++) {
      let a = 0;
      let b = 0;
      for (let i = c; i < px.length; i += channels) {
        const v = px[i]!;
        a += v;
        b += v * v;
      }
      s[c]! += a;
      q[c]! += b;
    }
    this.n += px.length / channels;
  }
  result(): { mean: number[]; std: number[] } {
    const mean = this.sum.map((s) => s / this.n / 255);
    const std = this.sq.map((q, c) => Math.sqrt(Math.max(0, q / this.n / 65025 - mean[c]! * mean[c]!)));
    return { mean, std };
  }
}
