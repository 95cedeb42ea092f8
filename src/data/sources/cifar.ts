/**
 * The official CIFAR-10 and CIFAR-100 binary releases. A record is one label
 * byte (CIFAR-100: coarse then fine) and 3072 pixel bytes stored planar:
 * 1024 red, 1024 green, 1024 blue, each row-major 32x32. The cache is HWC.
 */
import { DatasetError } from '../manifest.js';
import type { Staging } from '../staging.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const PIXELS = 3072;

export type CifarKind = 'cifar10' | 'cifar100';

/** Which split a CIFAR file holds, or undefined when the file is not a CIFAR batch. */
export function cifarFile(path: string): { kind: CifarKind; split: 'train' | 'test' } | undefined {
  const name = path.split('/').pop()!;
  if (/^data_batch_\d+\.bin$/.test(name)) return { kind: 'cifar10', split: 'train' };
  if (name === 'test_batch.bin') return { kind: 'cifar10', split: 'test' };
  if (name === 'train.bin') return { kind: 'cifar100', split: 'train' };
  if (name === 'test.bin') return { kind: 'cifar100', split: 'test' };
  return undefined;
}

export function cifarMeta(path: string): 'labels' | 'fine' | 'coarse' | undefined {
  const name = path.split('/').pop()!;
  if (name === 'batches.meta.txt') return 'labels';
  if (name === 'fine_label_names.txt') return 'fine';
  if (name === 'coarse_label_names.txt') return 'coarse';
  return undefined;
}

export function parseNames(data: Buffer): string[] {
  return data
    .toString('utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Writes one batch file's records into a part; checks every record. */
export function readCifarBatch(staging: Staging, where: string, data: Buffer, kind: CifarKind, split: 'train' | 'test', o: { coarse: boolean }): void {
  const labelBytes = kind === 'cifar100' ? 2 : 1;
  const record = labelBytes + PIXELS;
  const whole = Math.floor(data.length / record);
  if (data.length % record !== 0) {
    throw new DatasetError('ERR_DATASET_CORRUPT', `${where}: truncated record ${whole} at byte offset ${whole * record} (records are ${record} bytes; the file has ${data.length})`);
  }
  const classes = kind === 'cifar10' ? 10 : o.coarse ? 20 : 100;
  staging.setShape({ height: 32, width: 32, channels: 3 }, where);
  const part = staging.part(split, where);
  const hwc = new Uint8Array(PIXELS);
  for (let r = 0; r < whole; r++) {
    const at = r * record;
    const label = kind === 'cifar10' ? data[at]! : data[at + (o.coarse ? 0 : 1)]!;
    if (label >= classes) {
      throw new DatasetError('ERR_DATASET_LABEL', `${where}: record ${r} (byte offset ${at}): label ${label} is out of range 0-${classes - 1}`);
    }
    const px = at + labelBytes;
    for (let i = 0; i < 1024; i++) {
      hwc[i * 3] = data[px + i]!;
      hwc[i * 3 + 1] = data[px + 1024 + i]!;
      hwc[i * 3 + 2] = data[px + 2048 + i]!;
    }
    part.add(hwc, label, `${where} record ${r}`);
  }
}
