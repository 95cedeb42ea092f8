// Devices as this build and this machine have them: a CPU build refuses
// CUDA by naming the build; a CUDA build on a machine with no GPU (npm run
// check:cuda-build) refuses it by naming the machine; either way before
// anything is written, in TypeScript and in the addon alike.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cudaVersion, cudnnVersion } from '../src/cli/info.js';
import { importDataset } from '../src/data/import.js';
import { assertDevice, workerDevice } from '../src/engine/devices.js';
import { loadNative } from '../src/engine/native.js';
import { compile } from '../src/engine/net.js';
import { EvonasError } from '../src/util/errors.js';
import { runCli } from './support/cli.js';
import { cifar10Folder } from './support/formats.js';
import { netir } from './support/helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'evonas-devices-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const info = loadNative().info();
const dense = netir([{ id: 'd', op: 'dense', inputs: ['input'], units: 3 }], { classes: 3 });

/** train and evolve with --device cuda: refused with `reason`, exit 1, nothing written. */
async function refusedByCli(reason: RegExp): Promise<void> {
  const t = await runCli(['train', '--data', join(tmp, 'no-cache'), '--device', 'cuda']);
  assert.equal(t.code, 1);
  assert.match(t.stderr, reason);
  const cache = join(tmp, 'cache');
  if (!existsSync(cache)) await importDataset(cifar10Folder(join(tmp, 'cifar'), 20), { out: cache, validation: 10 });
  const out = join(tmp, 'gpu-run');
  const e = await runCli(['evolve', '--data', cache, '--out', out, '--device', 'cuda', '--workers-per-gpu', '2']);
  assert.equal(e.code, 1);
  assert.match(e.stderr, reason);
  assert.equal(existsSync(out), false, 'nothing written');
  const bad = await runCli(['evolve', '--data', cache, '--out', out, '--device', 'gpu0']);
  assert.match(bad.stderr, /device: expected cpu, cuda or cuda:N but found "gpu0"/);
}

describe('devices on a build without CUDA', { skip: info.cudaBuilt ? 'this build has CUDA' : false }, () => {
  it('the addon says what it loaded and that it has no CUDA', () => {
    assert.equal(info.cudaBuilt, false);
    assert.ok(existsSync(info.libtorchPath), info.libtorchPath);
    assert.match(info.libtorchPath, /libtorch/);
  });

  it('refuses cuda with the reason, in TypeScript and in the addon alike', () => {
    assert.throws(
      () => assertDevice('cuda'),
      (e: unknown) => e instanceof EvonasError && e.code === 'ERR_DEVICE' && /built against a libtorch without CUDA/.test(e.message),
    );
    assert.throws(() => assertDevice('tpu'), /expected cpu, cuda or cuda:N/);
    assert.doesNotThrow(() => assertDevice('cpu'));
    assert.throws(() => assertDevice('cuda:1', { cudaBuilt: true, cudaDevices: 1, libtorchPath: 'x' }), /only 1 CUDA device is visible/);
    assert.throws(() => assertDevice('cuda', { cudaBuilt: true, cudaDevices: 0, libtorchPath: 'x' }), /no CUDA device is visible/);
    assert.throws(() => compile(dense, { device: 'cuda:0' }), /cuda:0: this evonas was built against a libtorch without CUDA/);
  });

  it('train and evolve refuse --device cuda before writing anything; info says why', async () => {
    await refusedByCli(/device cuda: this evonas was built against a libtorch without CUDA/);
    const j = JSON.parse((await runCli(['info', '--json'])).stdout);
    assert.deepEqual([j.cudaBuilt, j.cudnn, j.libtorchPath], [false, null, info.libtorchPath]);
  });
});

describe('devices on a CUDA build where no GPU is visible', { skip: !info.cudaBuilt ? 'this build has no CUDA' : info.cudaDevices > 0 ? 'a GPU is visible' : false }, () => {
  it('the addon says CUDA is compiled in, with its runtime and cuDNN, and that no GPU is visible', () => {
    assert.deepEqual([info.cudaBuilt, info.cuda, info.cudaDevices], [true, false, 0]);
    assert.ok(info.cudaRuntime !== undefined && info.cudaRuntime >= 11000, `CUDA runtime ${info.cudaRuntime}`);
    assert.ok(info.cudnn !== undefined && info.cudnn > 0, `cuDNN ${info.cudnn}`);
  });

  it('refuses cuda because no device is visible, not because of the build, in TypeScript and in the addon', () => {
    assert.throws(() => assertDevice('cuda'), /device cuda: no CUDA device is visible/);
    assert.throws(
      () => compile(dense, { device: 'cuda:0' }),
      (e: unknown) => /cuda:0: no CUDA device is visible/.test(String(e)) && !/without CUDA/.test(String(e)),
    );
  });

  it('train and evolve refuse --device cuda with "no CUDA device is visible"; info names the runtime', async () => {
    await refusedByCli(/device cuda: no CUDA device is visible/);
    const j = JSON.parse((await runCli(['info', '--json'])).stdout);
    assert.deepEqual([j.cudaBuilt, j.cuda, j.cudaDevices, j.cudaRuntime, j.cudnn], [true, false, 0, cudaVersion(info.cudaRuntime!), cudnnVersion(info.cudnn!)]);
  });
});

describe('devices', () => {
  it('spreads workers over the visible GPUs, K per GPU', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((id) => workerDevice('cuda', id, 2, 2)),
      ['cuda:0', 'cuda:0', 'cuda:1', 'cuda:1', 'cuda:0', 'cuda:0'],
    );
    assert.deepEqual(
      [0, 1].map((id) => workerDevice('cuda:3', id, 1, 4)),
      ['cuda:3', 'cuda:3'],
    );
    assert.equal(workerDevice('cpu', 7, 1, 0), 'cpu');
  });

  it('reads CUDA and cuDNN version numbers', () => {
    assert.deepEqual([cudaVersion(12040), cudaVersion(13000), cudnnVersion(8902), cudnnVersion(90100), cudnnVersion(92400)], ['12.4', '13.0', '8.9.2', '9.1.0', '9.24.0']);
  });
});
