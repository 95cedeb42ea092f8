/**
 * `evonas data download`: fetches an official release from its canonical
 * address, checks the published MD5, then imports it. A mirror may replace
 * the base address (a local copy, or a test server).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { basename, dirname, join, resolve } from 'node:path';
import { importDataset } from './import.js';
import type { ImportOptions } from './import.js';
import { DatasetError } from './manifest.js';
import type { Manifest } from './manifest.js';

export interface Release {
  /** Base address; each file's URL is base + file. */
  base: string;
  /** File name -> published MD5. */
  files: Record<string, string>;
  name: string;
}

export const RELEASES: Record<string, Release> = {
  cifar10: { name: 'cifar10', base: 'https://www.cs.toronto.edu/~kriz/', files: { 'cifar-10-binary.tar.gz': 'c32a1d4ab5d03f1284b67883e8d87530' } },
  cifar100: { name: 'cifar100', base: 'https://www.cs.toronto.edu/~kriz/', files: { 'cifar-100-binary.tar.gz': '03b5dce01913d631647c71ecec9e9cb8' } },
  mnist: {
    name: 'mnist',
    base: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    files: {
      'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    },
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    base: 'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    files: {
      'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    },
  },
};

export interface DownloadOptions extends Omit<ImportOptions, 'name'> {
  /** Replaces the release's base address. */
  mirror?: string;
  /** Replaces published checksums (for a mirror that repackages), by file name. */
  checksums?: Record<string, string>;
  onDownload?: (p: { file: string; bytes: number; totalBytes: number }) => void;
}

function fetchTo(url: string, dest: string, onBytes: (n: number, total: number) => void, redirects = 5): Promise<string> {
  return new Promise((res, rej) => {
    const client = url.startsWith('https:') ? https : url.startsWith('http:') ? http : undefined;
    if (!client) return rej(new DatasetError('ERR_DATASET_DOWNLOAD', `${url}: only http and https addresses are supported`));
    const req = client.get(url, (r) => {
      if (r.statusCode && r.statusCode >= 300 && r.statusCode < 400 && r.headers.location && redirects > 0) {
        r.resume();
        return fetchTo(new URL(r.headers.location, url).toString(), dest, onBytes, redirects - 1).then(res, rej);
      }
      if (r.statusCode !== 200) {
        r.resume();
        return rej(new DatasetError('ERR_DATASET_DOWNLOAD', `${url}: HTTP ${r.statusCode}`));
      }
      const total = Number(r.headers['content-length'] ?? 0);
      const md5 = createHash('md5');
      const out = createWriteStream(dest);
      let n = 0;
      r.on('data', (c: Buffer) => {
        md5.update(c);
        n += c.length;
        onBytes(n, total);
      });
      r.on('error', (e) => rej(new DatasetError('ERR_DATASET_DOWNLOAD', `${url}: ${e.message}`)));
      r.pipe(out);
      out.on('finish', () => {
        if (total && n !== total) return rej(new DatasetError('ERR_DATASET_DOWNLOAD', `${url}: connection closed after ${n} of ${total} bytes`));
        res(md5.digest('hex'));
      });
      out.on('error', (e) => rej(e));
    });
    req.on('error', (e) => rej(new DatasetError('ERR_DATASET_DOWNLOAD', `${url}: ${e.message}`)));
  });
}

/**
 * Downloads a release, verifies it and imports it into `o.out`.
 * @throws {DatasetError} on an unknown name, a failed download or a checksum mismatch; nothing is left behind.
 */
export async function downloadDataset(name: string, o: DownloadOptions): Promise<Manifest> {
  const release = RELEASES[name];
  if (!release) throw new DatasetError('ERR_DATASET_DOWNLOAD', `unknown dataset "${name}"; expected one of ${Object.keys(RELEASES).join(', ')}`);
  const out = resolve(o.out);
  const dir = join(dirname(out), `.${basename(out)}.download-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const base = o.mirror ? (o.mirror.endsWith('/') ? o.mirror : `${o.mirror}/`) : release.base;
    for (const [file, published] of Object.entries(release.files)) {
      const url = base + file;
      const part = join(dir, `${file}.part`);
      const got = await fetchTo(url, part, (bytes, totalBytes) => o.onDownload?.({ file, bytes, totalBytes }));
      const want = o.checksums?.[file] ?? published;
      if (got !== want) {
        throw new DatasetError('ERR_DATASET_CHECKSUM', `${url}: MD5 ${got} does not match the published ${want}; the download was discarded`);
      }
      renameSync(part, join(dir, file));
    }
    const files = Object.keys(release.files);
    const source = files.length === 1 ? join(dir, files[0]!) : dir;
    return await importDataset(source, { ...o, name: release.name });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
