import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { importDataset } from '../src/data/import.js';
import { loadSafetensors } from '../src/engine/safetensors.js';
import { learningRateAt } from '../src/engine/fit.js';
import { cifar10Folder } from './support/formats.js';
import { runCli } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-train-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('evonas train', () => {
  it('trains a preset on a cache, reports validation and test accuracy, writes weights and result', async () => {
    const cache = join(root, 'cache');
    await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
    const out = join(root, 'run');
    const r = await runCli(['train', '--data', cache, '--net', 'small', '--steps', '30', '--batch', '10', '--test', '--out', out, '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /done after 30 steps in \d+ s: validation accuracy 0\.\d{4}/);
    assert.match(r.stdout, /test accuracy [01]\.\d{4} \(10 images\)/);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    assert.equal(result.steps, 30);
    assert.ok(result.validationAccuracy >= 0 && result.validationAccuracy <= 1);
    const w = loadSafetensors(join(out, 'weights.safetensors'));
    assert.deepEqual(w.tensors.get('c1.weight')!.shape, [32, 3, 3, 3]);
    assert.equal(JSON.parse(w.metadata.netir!).nodes.length, 9);
  });

  it('refuses an unknown net and a missing --data', async () => {
    let r = await runCli(['train', '--data', join(root, 'cache'), '--net', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /"nope" is neither a preset \(initial, small, resnet20\) nor a readable NetIR file/);
    r = await runCli(['train']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--data <cache> is required/);
    assert.equal(existsSync(join(root, 'nope')), false);
  });

  it('uses a cosine schedule with linear warm-up', () => {
    const o = { learningRate: 0.1, schedule: 'cosine' as const, warmupSteps: 10, steps: 110 };
    assert.equal(learningRateAt(o, 0), 0.01);
    assert.equal(learningRateAt(o, 9), 0.1);
    assert.ok(Math.abs(learningRateAt(o, 60) - 0.05) < 1e-12);
    assert.ok(learningRateAt(o, 110) < 1e-12);
    assert.equal(learningRateAt({ learningRate: 0.1, steps: 5 }, 3), 0.1);
  });
});
