// Genetic CNN's transfer step in-process: a stages run's best, trained again
// wider from scratch, evaluated on validation and test, written to disk.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { importDataset } from '../src/data/import.js';
import { validateConfig, writeConfig } from '../src/evolution/config.js';
import { retrain } from '../src/train/retrain.js';
import { EvonasError } from '../src/util/errors.js';
import { startRun } from '../src/worker/supervisor.js';
import { runWorker } from '../src/worker/worker.js';
import { cifar10Folder } from './support/formats.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-retrain-'));
const cache = join(root, 'cache');
const exp = join(root, 'exp');
before(async () => {
  await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
  mkdirSync(exp);
  writeConfig(exp, validateConfig({ data: cache, space: 'stages', stages: { generations: 0 }, population: 2, workers: 1, threadsPerWorker: 1, stepsPerChild: 2, batchSize: 10, seed: 3 }));
  await startRun(exp, 120_000);
  await runWorker({ location: exp, id: 0 }); // generation 0: two individuals
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('retrain', () => {
  it('trains the best structure wider from scratch and tests it once', async () => {
    const starts: { params: number; steps: number }[] = [];
    const r = await retrain(exp, { widths: [4, 6, 8], fc: 16, epochs: 1, threads: 1, batchSize: 10, onStart: (s) => starts.push(s) });
    assert.ok(r);
    const n = openDataset(cache).train().labels.length;
    assert.deepEqual([r.widths, r.fc, r.steps], [[4, 6, 8], 16, Math.ceil(n / 10)], `one epoch of ${n} training images in batches of 10`);
    assert.equal(starts[0]!.params, r.params);
    for (const a of [r.validationAccuracy, r.testAccuracy]) assert.ok(a >= 0 && a <= 1);
    assert.ok(existsSync(join(r.out, 'weights.safetensors')));
    assert.equal(JSON.parse(readFileSync(join(r.out, 'result.json'), 'utf8')).params, r.params);
    const wider = await retrain(exp, { widths: [8, 12, 16], fc: 16, epochs: 1, threads: 1, batchSize: 10 });
    assert.ok(wider!.params > r.params, 'wider stages have more parameters');
  });

  it('refuses bad settings naming them, and a graph experiment', async () => {
    await assert.rejects(retrain(exp, { widths: [4, 4], epochs: 1 }), (e: unknown) => e instanceof EvonasError && e.code === 'ERR_INPUT' && /widths: expected 3 whole numbers >= 1/.test(e.message));
    await assert.rejects(retrain(exp, { id: 'nobody', widths: [4, 4, 4], epochs: 1 }), /no individual "nobody"/);
    await assert.rejects(retrain(exp, { widths: [4, 4, 4], epochs: 0 }), /epochs: expected a number > 0/);
  });
});
