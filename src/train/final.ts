/**
 * What training a final model takes, whichever model it is (a fixed-network
 * baseline, Genetic CNN's wider retraining): fit with validation along the
 * way, refuse a diverged run, read the test split once, and save the weights
 * with what they are and a result.json beside them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineDataset } from '../engine/dataset.js';
import { fit } from '../engine/fit.js';
import type { FitOptions, FitResult } from '../engine/fit.js';
import type { Net } from '../engine/net.js';
import { saveSafetensors } from '../engine/safetensors.js';
import { EvonasError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';

/**
 * Fits `net` on `o.data`, evaluating on `o.validation` as it goes.
 * @returns the fit and the validation accuracy at its end (measured now if the fit's last evaluation is not).
 * @throws {EvonasError} ERR_TRAINING when training diverges (a non-finite loss).
 */
export async function fitFinal(net: Net, o: FitOptions & { validation: EngineDataset }): Promise<{ r: FitResult; validationAccuracy: number }> {
  const r = await fit(net, o);
  if (!r.ok) throw new EvonasError('ERR_TRAINING', `training failed: ${r.failure}`);
  return { r, validationAccuracy: (r.validation ?? (await net.evaluate(o.validation))).accuracy };
}

/** Evaluates `net` on the test split, once, and frees the split. */
export async function testOnce(net: Net, test: EngineDataset): Promise<{ accuracy: number; count: number }> {
  try {
    const t = await net.evaluate(test);
    return { accuracy: t.accuracy, count: t.count };
  } finally {
    test.dispose();
  }
}

/** Writes `out`/weights.safetensors (with `metadata`, each value JSON) and `out`/result.json. */
export function saveFinal(out: string, net: Net, metadata: Record<string, unknown>, result: object): void {
  mkdirSync(out, { recursive: true });
  saveSafetensors(join(out, 'weights.safetensors'), net.weights(), Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, JSON.stringify(v)])));
  writeFileAtomic(join(out, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
}
