// What the tests that register a space of their own share: its network (one
// convolution of `width` channels, global pooling, the classifier), and a
// temporary folder with a tiny CIFAR-10 cache, the space registered for the
// file's tests and removed after them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { importDataset } from '../../src/data/import.js';
import type { NetIR } from '../../src/net/ir.js';
import type { IOSpec } from '../../src/net/presets.js';
import { SPACE_REGISTRY } from '../../src/spaces/index.js';
import type { SearchSpace } from '../../src/spaces/index.js';
import { strict } from '../../src/util/schema.js';
import { cifar10Folder } from './formats.js';

/** What a test space without settings of its own declares: no settings, and children that train at 0.01. */
export const NO_SETTINGS = { settings: strict({}), training: () => ({ learningRate: 0.01 }) };

export function oneConvIR(width: number, io: IOSpec): NetIR {
  return {
    format: 'evonas.netir',
    version: 1,
    input: { channels: io.channels, height: io.height, width: io.width },
    classes: io.classes,
    nodes: [
      { id: 'c', op: 'conv2d', inputs: ['input'], channels: width, kernel: [3, 3] },
      { id: 'r', op: 'relu', inputs: ['c'] },
      { id: 'g', op: 'globalavgpool', inputs: ['r'] },
      { id: 'fc', op: 'dense', inputs: ['g'], units: io.classes },
    ],
  };
}

/** Registers `space` and imports a cache (40 images per training batch, 20 held out) before the file's tests; cleans both up after. */
export function useTestSpace(space: SearchSpace, prefix: string): { root: string; cache: string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const cache = join(root, 'cache');
  before(async () => {
    await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
    SPACE_REGISTRY.set(space.name, space);
  });
  after(() => {
    SPACE_REGISTRY.delete(space.name);
    rmSync(root, { recursive: true, force: true });
  });
  return { root, cache };
}
