// The download path, against a local HTTP server serving archives this test builds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { downloadDataset } from '../src/data/download.js';
import { DatasetError } from '../src/data/manifest.js';
import { cifar10Folder, tarGz } from './support/formats.js';
import { runCli } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-dl-'));
let archive: Buffer;
let base = '';
const requests: string[] = [];
const server = createServer((req, res) => {
  requests.push(req.url ?? '');
  if (req.url === '/mirror/cifar-10-binary.tar.gz') {
    res.writeHead(200, { 'content-length': archive.length });
    res.end(archive);
  } else if (req.url === '/moved/cifar-10-binary.tar.gz') {
    res.writeHead(302, { location: '/mirror/cifar-10-binary.tar.gz' });
    res.end();
  } else {
    res.writeHead(404);
    res.end();
  }
});

before(async () => {
  const src = join(root, 'src');
  cifar10Folder(src, 20);
  archive = readFileSync(await tarGz(src, ['cifar-10-batches-bin'], join(root, 'cifar-10-binary.tar.gz')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(root, { recursive: true, force: true });
});

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const leftovers = () => readdirSync(root).filter((f) => f.startsWith('.'));

describe('data download', () => {
  it('refuses an archive whose MD5 is not the published one, leaving nothing', async () => {
    const out = join(root, 'refused');
    const r = await runCli(['data', 'download', 'cifar10', '--out', out, '--mirror', `${base}/mirror`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[ERR_DATASET_CHECKSUM\] http:\/\/127\.0\.0\.1:\d+\/mirror\/cifar-10-binary\.tar\.gz: MD5 [0-9a-f]{32} does not match the published c32a1d4ab5d03f1284b67883e8d87530/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(leftovers(), []);
  });

  it('downloads (following a redirect), verifies and imports', async () => {
    const out = join(root, 'ok');
    const m = await downloadDataset('cifar10', {
      out,
      mirror: `${base}/moved/`,
      checksums: { 'cifar-10-binary.tar.gz': md5(archive) },
      validation: 10,
    });
    assert.equal(m.name, 'cifar10');
    assert.equal(m.source.kind, 'cifar10');
    assert.deepEqual([m.splits.train.count, m.splits.validation.count, m.splits.test.count], [30, 10, 10]);
    assert.ok(requests.includes('/moved/cifar-10-binary.tar.gz') && requests.includes('/mirror/cifar-10-binary.tar.gz'));
    assert.deepEqual(leftovers(), []);
  });

  it('reports an HTTP error and an unknown dataset clearly', async () => {
    const out = join(root, 'missing');
    await assert.rejects(downloadDataset('cifar10', { out, mirror: `${base}/nowhere` }), (e: unknown) => e instanceof DatasetError && /\/nowhere\/cifar-10-binary\.tar\.gz: HTTP 404/.test(e.message));
    await assert.rejects(downloadDataset('imagenet', { out }), /unknown dataset "imagenet"; expected one of cifar10, cifar100, mnist, fashion-mnist/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(leftovers(), []);
  });
});
