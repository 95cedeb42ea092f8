import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDataset } from '../src/data/dataset.js';
import { importDataset } from '../src/data/import.js';
import { DatasetError } from '../src/data/manifest.js';
import { readNpy } from '../src/data/npy.js';
import { loadTestSplit } from '../src/data/test-split.js';
import { cifar10Folder, cifarRecords, idx, pixel, png, tarGz } from './support/formats.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-data-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(root, `${name}-${n++}`);

/** Expected HWC bytes of each record, keyed by content. */
function expected(records: number[], h: number, w: number, c: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    const px = Buffer.alloc(h * w * c);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) px[(y * w + x) * c + k] = pixel(r, y, x, k);
    m.set(px.toString('hex'), r);
  }
  return m;
}

/** Maps each image of a split back to its record id; fails on any image that is no record's exact pixels. */
function recordsOf(images: Uint8Array, count: number, exp: Map<string, number>): number[] {
  const size = images.length / count;
  return Array.from({ length: count }, (_, i) => {
    const key = Buffer.from(images.subarray(i * size, (i + 1) * size)).toString('hex');
    const r = exp.get(key);
    assert.ok(r !== undefined, `image ${i} matches no source record exactly`);
    return r;
  });
}

async function rejects(p: Promise<unknown>, code: string, pattern: RegExp, out: string) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
  assert.equal(existsSync(out), false, 'no cache may be left behind');
  assert.deepEqual(
    readdirSync(root).filter((f) => f.includes('.partial-') || f.includes('.download-')),
    [],
    'no temporary folder may be left behind',
  );
}

describe('data import: CIFAR binary', () => {
  it('reads CIFAR-10 (folder and .tar.gz) with exact pixels (planar RGB -> HWC), labels and a stratified hold-out', async () => {
    const src = fresh('c10src');
    const folder = cifar10Folder(src, 20);
    const archive = await tarGz(src, ['cifar-10-batches-bin'], join(src, 'cifar-10-binary.tar.gz'));
    for (const source of [folder, archive]) {
      const out = fresh('c10');
      const m = await importDataset(source, { out, validation: 10, seed: 3 });
      assert.deepEqual(m.classes.slice(0, 3), ['airplane', 'automobile', 'bird']);
      assert.deepEqual([m.splits.train.count, m.splits.validation.count, m.splits.test.count], [30, 10, 10]);
      assert.equal(m.validation.source, 'held-out');
      const exp = expected(
        Array.from({ length: 40 }, (_, i) => i),
        32,
        32,
        3,
      );
      const data = openDataset(out);
      const tr = data.train();
      const va = data.validation();
      const trainIds = recordsOf(tr.images, tr.count, exp);
      const valIds = recordsOf(va.images, va.count, exp);
      assert.deepEqual(
        [...trainIds, ...valIds].sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, i) => i),
      );
      // label of record r in batch b (1-based) was (i + b) % 10 with i = r - 20(b-1)
      const labelOf = (r: number) => ((r % 20) + Math.floor(r / 20) + 1) % 10;
      trainIds.forEach((r, i) => {
        assert.equal(tr.labels[i], labelOf(r));
      });
      valIds.forEach((r, i) => {
        assert.equal(va.labels[i], labelOf(r));
      });
      // training order follows the batches' order
      assert.deepEqual(
        trainIds,
        [...trainIds].sort((a, b) => a - b),
      );
      // each class loses validation images in proportion (4 per class -> 1 held out)
      assert.deepEqual(m.splits.validation.perClass, Array(10).fill(1));
      const te = loadTestSplit(out);
      assert.deepEqual(
        recordsOf(
          te.images,
          te.count,
          expected(
            Array.from({ length: 10 }, (_, i) => 1000 + i),
            32,
            32,
            3,
          ),
        ),
        Array.from({ length: 10 }, (_, i) => 1000 + i),
      );
      assert.deepEqual(
        Array.from(te.labels),
        Array.from({ length: 10 }, (_, i) => i),
      );
      assert.match(m.source.sha256, /^[0-9a-f]{64}$/);
    }
  });

  it('gives the same split for the same seed and another for another seed', async () => {
    const folder = cifar10Folder(fresh('c10seed'), 20);
    const ids = async (seed: number) => {
      const out = fresh('seed');
      await importDataset(folder, { out, validation: 10, seed });
      const va = openDataset(out).validation();
      return recordsOf(
        va.images,
        va.count,
        expected(
          Array.from({ length: 40 }, (_, i) => i),
          32,
          32,
          3,
        ),
      );
    };
    assert.deepEqual(await ids(1), await ids(1));
    assert.notDeepEqual(await ids(1), await ids(2));
  });

  it('reads CIFAR-100 fine labels by default and coarse ones on request', async () => {
    const dir = join(fresh('c100src'), 'cifar-100-binary');
    mkdirSync(dir, { recursive: true });
    const labels = Array.from({ length: 200 }, (_, i) => [i % 20, (i * 3) % 100]);
    writeFileSync(join(dir, 'train.bin'), cifarRecords(labels));
    writeFileSync(join(dir, 'test.bin'), cifarRecords(labels.slice(0, 5), 500));
    writeFileSync(join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'));
    writeFileSync(join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `coarse${i}`).join('\n'));
    const fine = await importDataset(dir, { out: fresh('fine'), validation: 20 });
    assert.equal(fine.classes.length, 100);
    assert.equal(fine.classes[7], 'fine7');
    const coarseOut = fresh('coarse');
    const coarse = await importDataset(dir, { out: coarseOut, validation: 20, coarse: true });
    assert.equal(coarse.classes.length, 20);
    const te = loadTestSplit(coarseOut);
    assert.deepEqual(Array.from(te.labels), [0, 1, 2, 3, 4]);
  });

  it('refuses a truncated batch, naming the file, record and byte offset', async () => {
    const src = fresh('trunc');
    const folder = cifar10Folder(src, 20);
    truncateSync(join(folder, 'data_batch_2.bin'), 3073 * 7 + 100);
    const out = fresh('trunc-out');
    await rejects(importDataset(folder, { out }), 'ERR_DATASET_CORRUPT', /data_batch_2\.bin: truncated record 7 at byte offset 21511/, out);
  });

  it('refuses a label out of range, naming the record', async () => {
    const folder = cifar10Folder(fresh('badlabel'), 20);
    const f = join(folder, 'data_batch_1.bin');
    const buf = readFileSync(f);
    buf[3073 * 5] = 12;
    writeFileSync(f, buf);
    const out = fresh('badlabel-out');
    await rejects(importDataset(folder, { out }), 'ERR_DATASET_LABEL', /data_batch_1\.bin: record 5 \(byte offset 15365\): label 12 is out of range 0-9/, out);
  });

  it('refuses a corrupt or truncated archive', async () => {
    const src = fresh('corrupt');
    cifar10Folder(src, 20);
    const archive = await tarGz(src, ['cifar-10-batches-bin'], join(src, 'c.tar.gz'));
    const bytes = readFileSync(archive);
    const cut = join(src, 'cut.tar.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    let out = fresh('cut-out');
    await rejects(importDataset(cut, { out }), 'ERR_DATASET_CORRUPT', /cut\.tar\.gz: corrupt or truncated archive/, out);
    const garbled = Buffer.from(bytes);
    for (let i = 100; i < 400; i++) garbled[i] = (garbled[i]! * 7 + 1) & 255;
    const bad = join(src, 'bad.tar.gz');
    writeFileSync(bad, garbled);
    out = fresh('bad-out');
    await rejects(importDataset(bad, { out }), 'ERR_DATASET_CORRUPT', /bad\.tar\.gz: corrupt or truncated archive/, out);
  });

  it('refuses an output folder that exists, touching nothing', async () => {
    const folder = cifar10Folder(fresh('exists'), 20);
    const out = fresh('exists-out');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    await assert.rejects(importDataset(folder, { out }), (e: unknown) => e instanceof DatasetError && e.code === 'ERR_DATASET_EXISTS' && e.message.includes(out));
    assert.equal(readFileSync(join(out, 'keep.txt'), 'utf8'), 'mine');
  });
});

describe('data import: IDX (MNIST style)', () => {
  for (const gz of [true, false]) {
    it(`reads ${gz ? 'gzipped' : 'plain'} IDX files with exact pixels and labels`, async () => {
      const dir = fresh('idx');
      mkdirSync(dir);
      const mk = (count: number, offset: number) => {
        const body = new Uint8Array(count * 28 * 28);
        for (let r = 0; r < count; r++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) body[(r * 28 + y) * 28 + x] = pixel(offset + r, y, x, 0);
        return body;
      };
      const sfx = gz ? '.gz' : '';
      writeFileSync(join(dir, `train-images-idx3-ubyte${sfx}`), idx([30, 28, 28], mk(30, 0), gz));
      writeFileSync(
        join(dir, `train-labels-idx1-ubyte${sfx}`),
        idx(
          [30],
          Uint8Array.from({ length: 30 }, (_, i) => i % 10),
          gz,
        ),
      );
      writeFileSync(join(dir, `t10k-images-idx3-ubyte${sfx}`), idx([10, 28, 28], mk(10, 100), gz));
      writeFileSync(
        join(dir, `t10k-labels-idx1-ubyte${sfx}`),
        idx(
          [10],
          Uint8Array.from({ length: 10 }, (_, i) => 9 - i),
          gz,
        ),
      );
      const out = fresh('idx-out');
      const m = await importDataset(dir, { out, validation: 10 });
      assert.deepEqual(m.shape, { height: 28, width: 28, channels: 1 });
      assert.deepEqual(m.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      const d = openDataset(out);
      const tr = d.train();
      const exp = expected(
        Array.from({ length: 30 }, (_, i) => i),
        28,
        28,
        1,
      );
      recordsOf(tr.images, tr.count, exp).forEach((r, i) => {
        assert.equal(tr.labels[i], r % 10);
      });
      const te = loadTestSplit(out);
      assert.deepEqual(
        recordsOf(
          te.images,
          te.count,
          expected(
            Array.from({ length: 10 }, (_, i) => 100 + i),
            28,
            28,
            1,
          ),
        ),
        Array.from({ length: 10 }, (_, i) => 100 + i),
      );
      assert.deepEqual(Array.from(te.labels), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    });
  }

  it('refuses a bad magic number and a truncated file', async () => {
    const dir = fresh('idxbad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx([30, 28, 28], new Uint8Array(30 * 784), false).subarray(0, 5000));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([30], new Uint8Array(30), false));
    let out = fresh('idxbad-out');
    await rejects(importDataset(dir, { out }), 'ERR_DATASET_CORRUPT', /train-images-idx3-ubyte: truncated: dimensions 30x28x28 need 23520 bytes after byte offset 16 but 4984 remain/, out);
    const labels = idx([30], new Uint8Array(30), false);
    labels.writeUInt32BE(0x0d03, 0);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), idx([30, 28, 28], new Uint8Array(30 * 784), false));
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), labels);
    out = fresh('idxbad-out');
    await rejects(importDataset(dir, { out }), 'ERR_DATASET_CORRUPT', /train-labels-idx1-ubyte: expected IDX magic 0x00000801/, out);
  });
});

describe('data import: image folders', () => {
  async function imageTree(dir: string, spec: Record<string, Record<string, number>>, h = 8, w = 8, channels: 1 | 3 = 3): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    let r = 0;
    for (const [split, classes] of Object.entries(spec)) {
      for (const [cls, count] of Object.entries(classes)) {
        mkdirSync(join(dir, split, cls), { recursive: true });
        for (let i = 0; i < count; i++) {
          writeFileSync(join(dir, split, cls, `${String(i).padStart(3, '0')}.png`), await png(r, h, w, channels));
          ids.set(`${split}/${cls}/${i}`, r++);
        }
      }
    }
    return ids;
  }

  it('reads <split>/<class>/<image> folders and archives with exact pixels, classes sorted by name', async () => {
    const src = fresh('imgs');
    await imageTree(join(src, 'pets'), { train: { zebra: 6, cat: 6, dog: 6 }, test: { cat: 2, dog: 2, zebra: 2 } });
    const archive = await tarGz(src, ['pets'], join(src, 'pets.tar'), false);
    for (const source of [join(src, 'pets'), archive]) {
      const out = fresh('imgs-out');
      const m = await importDataset(source, { out, validation: 3 });
      assert.deepEqual(m.classes, ['cat', 'dog', 'zebra']);
      assert.deepEqual(m.splits.validation.perClass, [1, 1, 1]);
      const d = openDataset(out);
      const tr = d.train();
      // records 0-5 zebra, 6-11 cat, 12-17 dog in the order written
      const cls = (r: number) => (r < 6 ? 2 : r < 12 ? 0 : 1);
      const exp = expected(
        Array.from({ length: 18 }, (_, i) => i),
        8,
        8,
        3,
      );
      recordsOf(tr.images, tr.count, exp).forEach((r, i) => {
        assert.equal(tr.labels[i], cls(r));
      });
      const te = loadTestSplit(out);
      assert.equal(te.count, 6);
    }
  });

  it('takes a given validation split, a classes file, and resizes with --size', async () => {
    const src = fresh('imgs2');
    await imageTree(src, { train: { a: 3, b: 3 }, val: { a: 1, b: 1 }, test: { a: 1, b: 1 } }, 10, 12);
    const classes = join(fresh('cls'), 'classes.txt');
    mkdirSync(join(classes, '..'), { recursive: true });
    writeFileSync(classes, 'b\na\n');
    const out = fresh('imgs2-out');
    const m = await importDataset(src, { out, classesFile: classes, size: 6 });
    assert.deepEqual(m.classes, ['b', 'a']);
    assert.equal(m.validation.source, 'given');
    assert.deepEqual([m.splits.train.count, m.splits.validation.count], [6, 2]);
    assert.deepEqual(m.shape, { height: 6, width: 6, channels: 3 });
    assert.deepEqual(Array.from(openDataset(out).train().labels), [1, 1, 1, 0, 0, 0]);
  });

  it('refuses mixed sizes (with the sizes seen), mixed channels, an undecodable image and an empty class folder', async () => {
    let src = fresh('mixed');
    await imageTree(src, { train: { a: 2 }, test: { a: 1 } });
    writeFileSync(join(src, 'train', 'a', '009.png'), await png(50, 9, 9, 3));
    let out = fresh('mixed-out');
    await rejects(importDataset(src, { out }), 'ERR_DATASET_SHAPE', /images differ in size or channels: 8x8x3 \(first .*00[0-8]\.png\), 9x9x3 \(first .*009\.png\); pass --size N/, out);

    src = fresh('chan');
    await imageTree(src, { train: { a: 2 }, test: { a: 1 } });
    writeFileSync(join(src, 'train', 'a', '009.png'), await png(50, 8, 8, 1));
    out = fresh('chan-out');
    await rejects(importDataset(src, { out }), 'ERR_DATASET_SHAPE', /8x8x1/, out);
    const ok = await importDataset(src, { out, channels: 3, validation: 1 });
    assert.equal(ok.shape.channels, 3);

    src = fresh('broken');
    await imageTree(src, { train: { a: 2 }, test: { a: 1 } });
    writeFileSync(join(src, 'train', 'a', '005.png'), Buffer.from('not a png at all'));
    out = fresh('broken-out');
    await rejects(importDataset(src, { out }), 'ERR_DATASET_DECODE', /train\/a\/005\.png: cannot decode image/, out);

    src = fresh('empty');
    await imageTree(src, { train: { a: 2, b: 2 }, test: { a: 1 } });
    mkdirSync(join(src, 'train', 'c'));
    out = fresh('empty-out');
    await rejects(importDataset(src, { out }), 'ERR_DATASET_EMPTY', /train\/c: empty class folder/, out);
  });
});

describe('the cache files', () => {
  it('are .npy arrays that match the manifest', async () => {
    const folder = cifar10Folder(fresh('npy'), 20);
    const out = fresh('npy-out');
    const m = await importDataset(folder, { out, validation: 10 });
    const images = readNpy(join(out, m.splits.train.images));
    assert.deepEqual(images.shape, [30, 32, 32, 3]);
    assert.equal(images.dtype, '|u1');
    const raw = readFileSync(join(out, m.splits.train.images));
    assert.equal(raw.subarray(1, 6).toString(), 'NUMPY');
    assert.match(raw.subarray(10, 128).toString('latin1'), /'descr': '\|u1', 'fortran_order': False, 'shape': \(30, 32, 32, 3\)/);
  });
});
