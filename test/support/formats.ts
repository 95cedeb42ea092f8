/** Builders of small files in the real dataset formats, for tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { create } from 'tar';

/** A pixel value that encodes which record, row, column and channel it is. */
export function pixel(record: number, y: number, x: number, c: number): number {
  return (record * 7 + y * 13 + x * 3 + c * 101) % 256;
}

/** CIFAR binary records: label byte(s) then planar R, G, B planes of 32x32. */
export function cifarRecords(labels: number[][], offset = 0): Buffer {
  const labelBytes = labels[0]!.length;
  const rec = labelBytes + 3072;
  const buf = Buffer.alloc(labels.length * rec);
  labels.forEach((ls, r) => {
    ls.forEach((l, k) => {
      buf[r * rec + k] = l;
    });
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) buf[r * rec + labelBytes + c * 1024 + y * 32 + x] = pixel(offset + r, y, x, c);
      }
    }
  });
  return buf;
}

/** Writes a CIFAR-10 binary release folder: 2 training batches and a test batch. */
export function cifar10Folder(dir: string, perBatch = 20): string {
  const root = join(dir, 'cifar-10-batches-bin');
  mkdirSync(root, { recursive: true });
  for (let b = 1; b <= 2; b++) {
    const labels = Array.from({ length: perBatch }, (_, i) => [(i + b) % 10]);
    writeFileSync(join(root, `data_batch_${b}.bin`), cifarRecords(labels, (b - 1) * perBatch));
  }
  writeFileSync(
    join(root, 'test_batch.bin'),
    cifarRecords(
      Array.from({ length: 10 }, (_, i) => [i]),
      1000,
    ),
  );
  writeFileSync(join(root, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  return root;
}

export async function tarGz(cwd: string, entries: string[], file: string, gzip = true): Promise<string> {
  await create({ gzip, file, cwd, portable: true }, entries);
  return file;
}

/** IDX: magic, big-endian dimensions, then the bytes. */
export function idx(dims: number[], body: Uint8Array, gz: boolean): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(0x0800 + dims.length, 0);
  dims.forEach((d, i) => {
    head.writeUInt32BE(d, 4 + 4 * i);
  });
  const raw = Buffer.concat([head, body]);
  return gz ? gzipSync(raw) : raw;
}

/** Lossless PNG of size h x w with `channels` channels whose pixels encode `record`. */
export async function png(record: number, h: number, w: number, channels: 1 | 3): Promise<Buffer> {
  const raw = Buffer.alloc(h * w * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) raw[(y * w + x) * channels + c] = pixel(record, y, x, c);
  const img = sharp(raw, { raw: { width: w, height: h, channels } });
  return (channels === 1 ? img.toColourspace('b-w') : img).png().toBuffer();
}

/**
 * A CIFAR-10 binary release whose classes a linear model can tell apart:
 * each class has its own mean colour, plus per-pixel noise.
 */
export function learnableCifar10Folder(dir: string, perBatch = 100, testCount = 100): string {
  const root = join(dir, 'cifar-10-batches-bin');
  mkdirSync(root, { recursive: true });
  const colour = (k: number, c: number) => [(k * 37) % 200, (k * 91) % 200, (k * 53) % 200][c]! + 28;
  const records = (n: number, offset: number) => {
    const buf = Buffer.alloc(n * 3073);
    for (let r = 0; r < n; r++) {
      const k = (offset + r) % 10;
      buf[r * 3073] = k;
      for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) buf[r * 3073 + 1 + c * 1024 + p] = colour(k, c) + (pixel(offset + r, p >> 5, p & 31, c) % 57) - 28;
    }
    return buf;
  };
  for (let b = 1; b <= 2; b++) writeFileSync(join(root, `data_batch_${b}.bin`), records(perBatch, (b - 1) * perBatch));
  writeFileSync(join(root, 'test_batch.bin'), records(testCount, 5000));
  writeFileSync(join(root, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  return root;
}
