/**
 * IDX files (MNIST, Fashion-MNIST): a big-endian magic (0x0803 for uint8
 * images with 3 dimensions, 0x0801 for uint8 labels), the dimensions, then
 * the data. Gzipped files are inflated first.
 */
import { gunzipSync } from 'node:zlib';
import { DatasetError } from '../manifest.js';
import type { Staging } from '../staging.js';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface IdxFile {
  split: 'train' | 'test';
  what: 'images' | 'labels';
}

export function idxFile(path: string): IdxFile | undefined {
  const name = path.split('/').pop()!;
  const m = /^(train|t10k)-(images|labels)[.-]idx[13]-ubyte(\.gz)?$/.exec(name);
  if (!m) return undefined;
  return { split: m[1] === 'train' ? 'train' : 'test', what: m[2] as 'images' | 'labels' };
}

interface Parsed {
  dims: number[];
  body: Buffer;
}

function parse(where: string, raw: Buffer, dimsExpected: number): Parsed {
  let data = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      data = gunzipSync(raw);
    } catch (e) {
      throw new DatasetError('ERR_DATASET_CORRUPT', `${where}: corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (data.length < 4 + 4 * dimsExpected) throw new DatasetError('ERR_DATASET_CORRUPT', `${where}: too short for an IDX header (${data.length} bytes)`);
  const magic = data.readUInt32BE(0);
  if (magic >>> 8 !== 0x08 || (magic & 0xff) !== dimsExpected) {
    throw new DatasetError('ERR_DATASET_CORRUPT', `${where}: expected IDX magic 0x0000080${dimsExpected} (uint8, ${dimsExpected} dimensions) but found 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const dims = Array.from({ length: dimsExpected }, (_, i) => data.readUInt32BE(4 + 4 * i));
  const bodyStart = 4 + 4 * dimsExpected;
  const need = dims.reduce((a, b) => a * b, 1);
  if (data.length - bodyStart < need) {
    throw new DatasetError('ERR_DATASET_CORRUPT', `${where}: truncated: dimensions ${dims.join('x')} need ${need} bytes after byte offset ${bodyStart} but ${data.length - bodyStart} remain`);
  }
  return { dims, body: data.subarray(bodyStart, bodyStart + need) };
}

/** Pairs images and labels of one split and writes them. */
export function readIdxPair(staging: Staging, images: { where: string; data: Buffer }, labels: { where: string; data: Buffer }, split: 'train' | 'test', classes: number): void {
  const im = parse(images.where, images.data, 3);
  const lb = parse(labels.where, labels.data, 1);
  const [n, h, w] = im.dims as [number, number, number];
  if (lb.dims[0] !== n) {
    throw new DatasetError('ERR_DATASET_CORRUPT', `${labels.where}: holds ${lb.dims[0]} labels but ${images.where} holds ${n} images`);
  }
  staging.setShape({ height: h, width: w, channels: 1 }, images.where);
  const part = staging.part(split, images.where);
  const size = h * w;
  for (let i = 0; i < n; i++) {
    const label = lb.body[i]!;
    if (label >= classes) {
      throw new DatasetError('ERR_DATASET_LABEL', `${labels.where}: record ${i} (byte offset ${8 + i}): label ${label} is out of range 0-${classes - 1}`);
    }
    part.add(im.body.subarray(i * size, (i + 1) * size), label, `${images.where} image ${i}`);
  }
}
