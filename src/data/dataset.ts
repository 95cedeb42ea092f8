/**
 * Opening a dataset cache for search. Only the train and validation splits
 * are reachable from here: the test split lives behind src/data/test-split.ts,
 * which the evolution and worker code may not import (test/boundaries.test.ts
 * enforces that).
 */
import { join } from 'node:path';
import { DatasetError, readManifest } from './manifest.js';
import type { Manifest, SplitName } from './manifest.js';
import { readNpy } from './npy.js';
import { createDataset } from '../engine/dataset.js';
import type { EngineDataset } from '../engine/dataset.js';

export interface SplitData {
  /** uint8 pixels, NHWC. */
  images: Uint8Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** @internal Reads one split's arrays and checks them against the manifest. */
export function loadSplit(dir: string, manifest: Manifest, split: SplitName): SplitData {
  const info = manifest.splits[split];
  const { height, width, channels } = manifest.shape;
  const images = readNpy(join(dir, info.images));
  const labels = readNpy(join(dir, info.labels));
  const expect = [info.count, height, width, channels].join(',');
  if (images.dtype !== '|u1' || images.shape.join(',') !== expect) {
    throw new DatasetError('ERR_DATASET_CORRUPT', `${join(dir, info.images)}: shape (${images.shape}) does not match the manifest (${expect})`);
  }
  if (labels.dtype !== '<i4' || labels.shape.join(',') !== String(info.count)) {
    throw new DatasetError('ERR_DATASET_CORRUPT', `${join(dir, info.labels)}: shape (${labels.shape}) does not match the manifest (${info.count})`);
  }
  return { images: images.data as Uint8Array, labels: labels.data as Int32Array, count: info.count, height, width, channels };
}

/** A dataset cache opened for search: train and validation only. */
export class SearchData {
  readonly manifest: Manifest;
  constructor(readonly dir: string) {
    this.manifest = readManifest(dir);
  }
  train(): SplitData {
    return loadSplit(this.dir, this.manifest, 'train');
  }
  validation(): SplitData {
    return loadSplit(this.dir, this.manifest, 'validation');
  }
}

/** @throws {DatasetError} when `dir` is not a valid cache. */
export function openDataset(dir: string): SearchData {
  return new SearchData(dir);
}

/** A split in native memory for the engine; `stats` (the training split's) standardize it, else its own are computed. */
export function engineDataset(split: SplitData, stats?: { mean: number[]; std: number[] }): EngineDataset {
  return createDataset({ images: split.images, labels: split.labels, height: split.height, width: split.width, channels: split.channels, ...stats });
}
