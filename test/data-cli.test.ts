import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cifar10Folder } from './support/formats.js';
import { runCli } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-datacli-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('evonas data (the command)', () => {
  it('imports, then shows counts, shape, statistics and checksum as text and JSON', async () => {
    const folder = cifar10Folder(join(root, 'src'), 20);
    const out = join(root, 'cache');
    const imp = await runCli(['data', 'import', folder, '--out', out, '--validation', '10']);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /10 classes, 32x32x3; train 30, validation 10, test 10/);
    const text = await runCli(['data', 'info', out]);
    assert.match(text.stdout, /airplane\s+\d+\s+\d+\s+1\n/);
    assert.match(text.stdout, /train mean {2}0\.\d{4}, 0\.\d{4}, 0\.\d{4}/);
    const json = JSON.parse((await runCli(['data', 'info', out, '--json'])).stdout);
    assert.equal(json.splits.train.count, 30);
    assert.equal(json.splits.test.perClass.truck, 1);
    assert.equal(json.trainStats.mean.length, 3);
    assert.match(json.source.sha256, /^[0-9a-f]{64}$/);
  });

  it('exits non-zero with the reason on bad input', async () => {
    let r = await runCli(['data', 'import', join(root, 'nothing-here'), '--out', join(root, 'x')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothing-here: no such file or folder/);
    r = await runCli(['data', 'import', root]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out <dir> is required/);
    r = await runCli(['data', 'import', root, '--out', join(root, 'y'), '--channels', '2']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Expected 1 or 3 for --channels but received "2"/);
    r = await runCli(['data', 'info', root]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not an evonas dataset: .*manifest\.json does not exist/);
  });
});
