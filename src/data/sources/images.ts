/**
 * Folders (or archives) of images laid out <split>/<class>/<image>, decoded
 * with sharp. Up to 16 images decode at once; each is written at its own
 * index, so the cache keeps the source's order.
 */
import sharp from 'sharp';
import { DatasetError } from '../manifest.js';
import type { SplitName } from '../manifest.js';
import type { Part, Staging } from '../staging.js';

const IMAGE = /\.(jpe?g|png|webp)$/i;
const SPLIT_NAMES: Record<string, SplitName> = { train: 'train', test: 'test', validation: 'validation', val: 'validation', valid: 'validation' };
const IN_FLIGHT = 16;
// Small images decode fastest one libvips thread each, many at a time, with no
// operation cache: libvips' own threading costs more than it saves here.
sharp.concurrency(1);
sharp.cache(false);

export function isImage(path: string): boolean {
  return IMAGE.test(path);
}

export interface ImageOptions {
  /** Resize every image to size x size (cover, centred); otherwise all must share one size. */
  size?: number;
  /** Force 1 (grayscale) or 3 (RGB) channels; otherwise all must share one count. */
  channels?: 1 | 3;
}

/** Collects images by split and class while the source streams past. */
export class ImageReader {
  /** Class names in order of first appearance; labels are remapped to the final order later. */
  readonly seen: string[] = [];
  private readonly classIndex = new Map<string, number>();
  private readonly parts = new Map<SplitName, Part>();
  private readonly next = new Map<SplitName, number>();
  private readonly classDirs = new Set<string>();
  private readonly filled = new Set<string>();
  private readonly sizes = new Map<string, string>();
  private pending = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(
    private readonly staging: Staging,
    private readonly source: string,
    private readonly o: ImageOptions,
  ) {}

  /** <split>/<class> of a path, from its last components; undefined when it has no such layout. */
  private place(path: string, isDir: boolean): { split: SplitName; cls: string } | undefined {
    const parts = path.split('/');
    const [s, c] = isDir ? parts.slice(-2) : parts.slice(-3, -1);
    const split = s ? SPLIT_NAMES[s.toLowerCase()] : undefined;
    return split && c ? { split, cls: c } : undefined;
  }

  directory(path: string): void {
    const p = this.place(path, true);
    if (p) this.classDirs.add(`${p.split}/${p.cls}`);
  }

  /** Schedules one image; resolves when there is room for another. */
  async image(path: string, data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    const p = this.place(path, false);
    const where = `${this.source}:${path}`;
    if (!p) throw new DatasetError('ERR_DATASET_LAYOUT', `${where}: expected images under <split>/<class>/ with split train, validation or test`);
    let label = this.classIndex.get(p.cls);
    if (label === undefined) {
      label = this.seen.length;
      this.seen.push(p.cls);
      this.classIndex.set(p.cls, label);
    }
    this.filled.add(`${p.split}/${p.cls}`);
    let part = this.parts.get(p.split);
    if (!part) {
      part = this.staging.part(p.split, 'images');
      this.parts.set(p.split, part);
    }
    const index = this.next.get(p.split) ?? 0;
    this.next.set(p.split, index + 1);
    const job = this.decode(where, data).then(({ pixels, shape }) => {
      const key = `${shape.height}x${shape.width}x${shape.channels}`;
      // Decodes finish in any order: keep the earliest file per size, so the message is stable.
      const known = this.sizes.get(key);
      if (known === undefined || where < known) this.sizes.set(key, where);
      if (this.sizes.size > 1) {
        const seen = [...this.sizes]
          .sort((a, b) => (a[1] < b[1] ? -1 : 1))
          .map(([k, f]) => `${k} (first ${f})`)
          .join(', ');
        throw new DatasetError('ERR_DATASET_SHAPE', `${where}: images differ in size or channels: ${seen}; pass --size N to resize them all, or --channels 1|3`);
      }
      this.staging.setShape(shape, where);
      part!.put(index, pixels, label!, where);
    });
    const tracked = job
      .catch((e: Error) => {
        this.failure ??= e;
      })
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
    if (this.pending.size >= IN_FLIGHT) await Promise.race(this.pending);
    if (this.failure) throw this.failure;
  }

  private async decode(where: string, data: Buffer) {
    try {
      let img = sharp(data, { failOn: 'error' });
      // sharp would turn grayscale into RGB on output; keep the source's count unless told.
      const meta = await img.metadata();
      const colour = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0) >= 3 ? 3 : 1;
      const channels = this.o.channels ?? colour;
      img = img.removeAlpha();
      if (this.o.size) img = img.resize(this.o.size, this.o.size, { fit: 'cover' });
      img = channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
      const { data: pixels, info } = await img.raw().toBuffer({ resolveWithObject: true });
      return { pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length), shape: { height: info.height, width: info.width, channels: info.channels } };
    } catch (e) {
      throw new DatasetError('ERR_DATASET_DECODE', `${where}: cannot decode image: ${(e as Error).message}`);
    }
  }

  /** Waits for every decode; checks for empty class folders; returns the final class order and label map. */
  async finish(classesFile?: string[]): Promise<string[]> {
    await Promise.all(this.pending);
    if (this.failure) throw this.failure;
    for (const dir of this.classDirs) {
      if (!this.filled.has(dir)) throw new DatasetError('ERR_DATASET_EMPTY', `${this.source}:${dir}: empty class folder`);
    }
    const classes = classesFile ?? [...this.seen].sort();
    const missing = this.seen.filter((c) => !classes.includes(c));
    if (missing.length) throw new DatasetError('ERR_DATASET_CLASSES', `classes file lacks ${missing.map((m) => `"${m}"`).join(', ')}, found in ${this.source}`);
    const map = this.seen.map((c) => classes.indexOf(c));
    for (const part of this.parts.values()) {
      for (let i = 0; i < part.count; i++) part.labels[i] = map[part.labels[i]!]!;
    }
    return classes;
  }
}

/**
 * Decodes one image to `height` x `width` x `channels` bytes (HWC), resizing
 * (cover, centred) only when its size differs, as a model's input needs.
 * @throws {DatasetError} naming `where` when it cannot be decoded.
 */
export async function decodeImageAs(where: string, data: Buffer, o: { height: number; width: number; channels: number }): Promise<Uint8Array> {
  try {
    let img = sharp(data, { failOn: 'error' }).removeAlpha();
    const meta = await sharp(data).metadata();
    if (meta.width !== o.width || meta.height !== o.height) img = img.resize(o.width, o.height, { fit: 'cover' });
    img = o.channels === 1 ? img.toColourspace('b-w') : img.toColourspace('srgb');
    const { data: pixels, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== o.channels) throw new Error(`decoded ${info.channels} channels, expected ${o.channels}`);
    return new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length);
  } catch (e) {
    throw new DatasetError('ERR_DATASET_DECODE', `${where}: cannot decode image: ${(e as Error).message}`);
  }
}
