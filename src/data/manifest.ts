/** The dataset cache's manifest: what a cache folder holds, in one small JSON file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EvonasError } from '../util/errors.js';
import { oneOf, parseWith, strict, whole } from '../util/schema.js';

export const DATASET_FORMAT = 'evonas.dataset';
export const DATASET_VERSION = 1;
export const MANIFEST = 'manifest.json';

export type SplitName = 'train' | 'validation' | 'test';
export const SPLITS: SplitName[] = ['train', 'validation', 'test'];

const split = strict({
  count: whole(0).describe('Images in the split.'),
  perClass: z.array(whole(0), { error: 'expected a list of counts' }).describe('Images per class, in class order.'),
  images: z.string({ error: 'expected a file name' }).describe('The images file (uint8 NHWC .npy), beside the manifest.'),
  labels: z.string({ error: 'expected a file name' }).describe('The labels file (uint8 .npy).'),
});

/** manifest.json, declared once: its type and its checks (evonas schema manifest gives its JSON Schema). */
export const ManifestSchema = strict({
  format: z.literal(DATASET_FORMAT, { error: `expected "${DATASET_FORMAT}"` }),
  version: z.literal(DATASET_VERSION, { error: `expected ${DATASET_VERSION} (re-import with this evonas)` }),
  name: z.string({ error: 'expected a name' }),
  classes: z.array(z.string(), { error: 'expected a non-empty list' }).min(1, { error: 'expected a non-empty list' }),
  shape: strict({ height: whole(1), width: whole(1), channels: whole(1) }),
  splits: strict({ train: split, validation: split, test: split }),
  validation: strict({
    source: oneOf(['held-out', 'given']),
    seed: whole(0).optional(),
    stratified: z.boolean().optional(),
    heldOut: whole(0).optional(),
  }).describe('How the validation split was made.'),
  stats: strict({ mean: z.array(z.number()), std: z.array(z.number()) }).describe('Per-channel mean and standard deviation of the training split, in units of pixel/255.'),
  source: strict({ path: z.string(), kind: z.string(), sha256: z.string() }),
  createdAt: z.string(),
});

export type Manifest = z.output<typeof ManifestSchema>;
export type SplitInfo = Manifest['splits'][SplitName];

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
  return parseWith(ManifestSchema, raw, (at, message) => new DatasetError('ERR_DATASET_MANIFEST', `${path}: ${message}`, at));
}
