/**
 * The test split. Only the final report of chosen models may read it; the
 * evolution and worker code may not import this module, directly or through
 * another (test/boundaries.test.ts fails the build when they do).
 */
import { readManifest } from './manifest.js';
import { loadSplit } from './dataset.js';
import type { SplitData } from './dataset.js';

/** Reads the test split of a dataset cache, for reporting. */
export function loadTestSplit(dir: string): SplitData {
  return loadSplit(dir, readManifest(dir), 'test');
}
