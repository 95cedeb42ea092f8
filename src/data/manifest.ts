/** The dataset cache's manifest: what a cache folder holds, in one small JSON file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EvonasError } from '../util/errors.js';

export const DATASET_FORMAT = 'evonas.dataset';
export const DATASET_VERSION = 1;
export const MANIFEST = 'manifest.json';

export type SplitName = 'train' | 'validation' | 'test';
export const SPLITS: SplitName[] = ['train', 'validation', 'test'];

export interface SplitInfo {
  count: number;
  /** Images per class, in class order. */
  perClass: number[];
  images: string;
  labels: string;
}

export interface Manifest {
  format: typeof DATASET_FORMAT;
  version: typeof DATASET_VERSION;
  name: string;
  classes: string[];
  shape: { height: number; width: number; channels: number };
  splits: Record<SplitName, SplitInfo>;
  /** How the validation split was made. */
  validation: { source: 'held-out' | 'given'; seed?: number; stratified?: boolean; heldOut?: number };
  /** Per-channel mean and standard deviation of the training split, in units of pixel/255. */
  stats: { mean: number[]; std: number[] };
  source: { path: string; kind: string; sha256: string };
  createdAt: string;
}

export class DatasetError extends EvonasError {}

/** @throws {DatasetError} naming the file and the field at fault. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DatasetError('ERR_DATASET_MISSING', `${dir} is not an evonas dataset: ${path} does not exist`);
    throw new DatasetError('ERR_DATASET_MANIFEST', `${path}: ${err.message}`);
  }
  const m = raw as Manifest;
  const bad = (field: string, why: string): never => {
    throw new DatasetError('ERR_DATASET_MANIFEST', `${path}: ${field}: ${why}`);
  };
  if (m?.format !== DATASET_FORMAT) bad('format', `expected "${DATASET_FORMAT}" but found ${JSON.stringify(m?.format)}`);
  if (m.version !== DATASET_VERSION) bad('version', `expected ${DATASET_VERSION} but found ${JSON.stringify(m.version)} (re-import with this evonas)`);
  if (!Array.isArray(m.classes) || m.classes.length === 0) bad('classes', 'expected a non-empty list');
  for (const k of ['height', 'width', 'channels'] as const) {
    if (!Number.isInteger(m.shape?.[k]) || m.shape[k] <= 0) bad(`shape.${k}`, 'expected a positive integer');
  }
  for (const s of SPLITS) {
    const info = m.splits?.[s];
    if (!info || !Number.isInteger(info.count) || typeof info.images !== 'string') bad(`splits.${s}`, 'missing or malformed');
  }
  return m;
}
