// evonas as a library: the example drives an evolution from TypeScript with
// its own callback; evolve() refuses a bad configuration before writing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { collectImages, ConfigError, evolve, exportModel, importDataset, predict, status } from '../src/index.js';
import { cifar10Folder, png } from './support/formats.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-library-'));
const cache = join(root, 'cache');
before(async () => {
  await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('the library', () => {
  it('runs the example: an evolution watched through onIndividual, then its report', () => {
    const example = fileURLToPath(new URL('../examples/evolve.js', import.meta.url));
    const dir = join(root, 'example');
    const r = spawnSync(process.execPath, [example, cache, dir, '6'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const bests = [...r.stdout.matchAll(/^new best: \S+ validation (0\.\d{4})/gm)].map((m) => Number(m[1]));
    assert.ok(bests.length >= 1, r.stdout);
    for (let k = 1; k < bests.length; k++) assert.ok(bests[k]! > bests[k - 1]!, `bests not increasing: ${bests.join(', ')}`);
    const children = Number(/^evolved: (\d+) children, \d+ alive$/m.exec(r.stdout)?.[1]);
    assert.ok(children > 0, r.stdout);
    const best = /^best by validation \S+: validation (0\.\d{4}), test 0\.\d{4}, \d+ parameters$/m.exec(r.stdout);
    assert.ok(best, r.stdout);
    assert.equal(Number(best[1]), bests.at(-1), 'the report picks the last best the callback saw');
  });

  it('evolve() refuses a bad configuration naming the field, writing nothing; resumes without one', async () => {
    const dir = join(root, 'bad');
    await assert.rejects(
      evolve(dir, { config: { data: cache, population: 1 }, budgetMs: 1000 }),
      (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG' && /^population: /.test(e.message),
    );
    assert.equal(existsSync(dir), false);
    await assert.rejects(evolve(join(root, 'none'), { budgetMs: 1000 }), /no experiment here/);
    const again = await evolve(join(root, 'example'), { budgetMs: 2000 });
    assert.ok(again.children > 0);
  });

  it('gives the status, exports the best and predicts with it, in process, as the commands do', async () => {
    const dir = join(root, 'example');
    const s = await status(dir);
    assert.ok(s.trained >= 1 && s.best, JSON.stringify(s));
    assert.equal(s.algorithm, 'tournament');
    const out = join(root, 'best.onnx');
    const e = await exportModel(dir, { format: 'onnx', out });
    assert.equal(e.individuals[0]!.id, s.best.id, 'the best by validation');
    assert.equal(statSync(out).size, e.bytes);
    await assert.rejects(
      exportModel(dir, { format: 'onnx', out: join(root, 'x.onnx'), id: 'nobody' }),
      (err: unknown) => err instanceof Error && (err as { code?: string }).code === 'ERR_INPUT' && /no individual "nobody"/.test(err.message),
    );
    assert.equal(existsSync(join(root, 'x.onnx')), false);
    const images = join(root, 'images');
    mkdirSync(images);
    for (const r of [0, 1, 2]) writeFileSync(join(images, `${r}.png`), await png(r, 32, 32, 3));
    const files = collectImages([images]);
    assert.equal(files.length, 3);
    const engine = await predict(dir, files, { top: 10 });
    const onnx = await predict(out, files, { top: 10 });
    for (const [i, p] of engine.entries()) {
      assert.equal(p.predictions.length, 10);
      for (const q of p.predictions) assert.ok(Math.abs(q.probability - onnx[i]!.predictions.find((o) => o.class === q.class)!.probability) < 1e-4, `${p.file} ${q.class}`);
    }
  });
});
