/**
 * `evonas data import`: reads a source in any supported format into one
 * dataset cache. The format is recognised from the files themselves.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { DatasetError } from './manifest.js';
import type { Manifest } from './manifest.js';
import { CIFAR10_CLASSES, cifarFile, cifarMeta, parseNames, readCifarBatch } from './sources/cifar.js';
import type { CifarKind } from './sources/cifar.js';
import { FASHION_MNIST_CLASSES, idxFile, readIdxPair } from './sources/idx.js';
import type { IdxFile } from './sources/idx.js';
import { ImageReader, isImage } from './sources/images.js';
import { walkSource } from './sources/walk.js';
import { Staging } from './staging.js';

export interface ImportOptions {
  out: string;
  /** Dataset name for the manifest (default: from the source). */
  name?: string;
  /** Validation images held out of train (default 5,000 when train has 25,000 or more, else 10%). */
  validation?: number;
  seed?: number;
  /** CIFAR-100: coarse (20) labels instead of fine (100). */
  coarse?: boolean;
  /** Image folders: resize to size x size. */
  size?: number;
  /** Image folders: force 1 or 3 channels. */
  channels?: 1 | 3;
  /** A file with one class name per line, in label order. */
  classesFile?: string;
  onProgress?: (p: { bytes: number; totalBytes: number }) => void;
  onMessage?: (m: string) => void;
}

type Kind = 'cifar10' | 'cifar100' | 'idx' | 'images';

/** Keeps an IDX file until its partner (images or labels) arrives, then reads the pair and frees the bytes. */
function takeIdx(staging: Staging, idx: Map<string, { where: string; data: Buffer }>, f: IdxFile, where: string, data: Buffer, classes: number): void {
  const key = `${f.split}-${f.what}`;
  if (idx.has(key)) throw new DatasetError('ERR_DATASET_SOURCE', `${where}: a second ${f.split} ${f.what} file`);
  idx.set(key, { where, data });
  const partner = idx.get(`${f.split}-${f.what === 'images' ? 'labels' : 'images'}`);
  if (partner) {
    const [im, lb] = f.what === 'images' ? [idx.get(key)!, partner] : [partner, idx.get(key)!];
    readIdxPair(staging, im, lb, f.split, classes);
    idx.set(key, { where, data: Buffer.alloc(0) }); // keep the marker, free the bytes
    idx.set(`${f.split}-${f.what === 'images' ? 'labels' : 'images'}`, { where: partner.where, data: Buffer.alloc(0) });
  }
}

/** What the source's kind says the classes are called (a --classes file first). @throws {DatasetError} when an IDX source lacks a file. */
async function classNames(
  kind: Kind,
  source: string,
  o: ImportOptions,
  seen: { names: Partial<Record<'labels' | 'fine' | 'coarse', string[]>>; idx: Map<string, unknown>; classesFile: string[] | undefined; images: ImageReader },
): Promise<string[]> {
  const { names, idx, classesFile, images } = seen;
  switch (kind) {
    case 'cifar10':
      return classesFile ?? names.labels ?? CIFAR10_CLASSES;
    case 'cifar100': {
      const n = o.coarse ? 20 : 100;
      return classesFile ?? (o.coarse ? names.coarse : names.fine) ?? Array.from({ length: n }, (_, i) => `class_${i}`);
    }
    case 'idx': {
      for (const split of ['train', 'test']) {
        for (const what of ['images', 'labels']) {
          if (!idx.has(`${split}-${what}`))
            throw new DatasetError('ERR_DATASET_SOURCE', `${source}: no ${split} ${what} file (expected ${split === 'train' ? 'train' : 't10k'}-${what}-idx${what === 'images' ? 3 : 1}-ubyte[.gz])`);
        }
      }
      return classesFile ?? (/fashion/i.test(o.name ?? source) ? FASHION_MNIST_CLASSES : Array.from({ length: 10 }, (_, i) => String(i)));
    }
    case 'images':
      return images.finish(classesFile);
  }
}

/**
 * Imports `source` (a folder or .tar/.tar.gz) into a new cache folder `o.out`.
 * Nothing is left at `o.out` when it fails.
 * @throws {DatasetError} naming the file, record and reason.
 */
export async function importDataset(source: string, o: ImportOptions): Promise<Manifest> {
  const staging = new Staging(o.out);
  try {
    let kind: Kind | undefined;
    const setKind = (k: Kind, where: string) => {
      if (kind && kind !== k) throw new DatasetError('ERR_DATASET_SOURCE', `${source}: mixes ${kind} and ${k} files (${where})`);
      kind = k;
    };
    const names: Partial<Record<'labels' | 'fine' | 'coarse', string[]>> = {};
    const idx = new Map<string, { where: string; data: Buffer }>();
    const classesFile = o.classesFile ? parseNames(readFileSync(o.classesFile)) : undefined;
    if (classesFile && classesFile.length === 0) throw new DatasetError('ERR_DATASET_CLASSES', `${o.classesFile}: no class names`);
    const images = new ImageReader(staging, source, { size: o.size, channels: o.channels });

    const sha256 = await walkSource(
      source,
      async (e) => {
        const where = `${source}:${e.path}`;
        if (!e.data) return images.directory(e.path);
        const c = cifarFile(e.path);
        if (c) {
          setKind(c.kind, where);
          return readCifarBatch(staging, where, e.data, c.kind as CifarKind, c.split, { coarse: !!o.coarse });
        }
        const meta = cifarMeta(e.path);
        if (meta) {
          names[meta] = parseNames(e.data);
          return;
        }
        const f = idxFile(e.path);
        if (f) {
          setKind('idx', where);
          takeIdx(staging, idx, f, where, e.data, classesFile?.length ?? 10);
          return;
        }
        if (isImage(e.path)) {
          setKind('images', where);
          return images.image(e.path, e.data);
        }
      },
      (bytes, totalBytes) => o.onProgress?.({ bytes, totalBytes }),
    );

    if (!kind) throw new DatasetError('ERR_DATASET_SOURCE', `${source}: no CIFAR batches, IDX files or images found`);
    const classes = await classNames(kind, source, o, { names, idx, classesFile, images });
    const trainCount = staging.splitParts('train').reduce((a, p) => a + p.count, 0);
    const holdOut = o.validation ?? (trainCount >= 25000 ? 5000 : Math.max(1, Math.round(trainCount * 0.1)));
    o.onMessage?.(`read ${kind} source: ${trainCount} training images; holding out ${holdOut} for validation`);
    return staging.finalize({
      name: o.name ?? (kind === 'images' || kind === 'idx' ? basename(source).replace(/\.(tar\.gz|tgz|tar)$/i, '') : kind),
      classes,
      holdOut,
      seed: o.seed ?? 0,
      source: { path: source, kind, sha256 },
      onProgress: o.onMessage,
    });
  } catch (e) {
    staging.abort();
    throw e;
  }
}
