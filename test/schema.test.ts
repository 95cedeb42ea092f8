// One declaration per file: the JSON Schema `evonas schema` prints agrees
// with the checks evonas runs (ajv, an independent validator, accepts what
// evonas accepts and refuses what it refuses), and a dataset manifest is
// refused by the path of its bad field.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { DEFAULTS, readConfig, validateConfig, writeConfig } from '../src/evolution/config.js';
import type { ExperimentConfig } from '../src/evolution/config.js';
import { SPACE_REGISTRY, settingsOf } from '../src/spaces/index.js';
import { DatasetError, readManifest } from '../src/data/manifest.js';
import { runCli } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-schema-'));
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures');
after(() => rmSync(root, { recursive: true, force: true }));

const schemaOf = async (name: string) => {
  const r = await runCli(['schema', name]);
  assert.equal(r.code, 0, r.stderr);
  // biome-ignore lint/suspicious/noExplicitAny: a JSON Schema read back, probed field by field
  return JSON.parse(r.stdout) as Record<string, any>;
};

describe('evonas schema', () => {
  it("prints experiment.json's JSON Schema, which agrees with evonas's own checks", async () => {
    const s = await schemaOf('experiment');
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.additionalProperties, false);
    assert.equal(s.properties.stages.properties.genetic.additionalProperties, false, 'nested objects are strict too');
    assert.equal(s.properties.graph.properties.minChannels.default, 16, "each space's block, with its defaults");
    assert.equal(s.properties.population.default, DEFAULTS.population);
    assert.equal(s.required, undefined, 'data is required by the evaluator (else: data; then: benchmark)');
    assert.deepEqual(s.else.required, ['data']);
    const check = new Ajv2020({ strict: false }).compile(s);
    const configs: [unknown, boolean][] = [
      [{ data: '/d' }, true],
      [{ ...DEFAULTS, data: '/d' }, true],
      [{ data: '/d', space: 'stages', stages: { genetic: { pM: 0.5 }, nodes: [3, 4], widths: [8, 16] } }, true],
      [{ data: '/d', space: 'stages', stages: { genetic: { pm: 0.5 } } }, false],
      [{ data: '/d', genetic: { pM: 0.5 } }, false],
      [{ data: '/d', graph: { minChannels: 8 } }, true],
      [{ data: '/d', stages: { generations: 2 } }, false],
      [{ data: '/d', space: 'stages', graph: { minChannels: 8 } }, false],
      [{ data: '/d', version: 3 }, false],
      [{ data: '/d', population: 1 }, false],
      [{ data: '/d', schedule: { mutationRate: [{ from: 0, to: 9, k: 0 }] } }, false],
      [{ data: '/d', precision: 'fp16' }, false],
      [{ population: 10 }, false],
      [{ space: 'nb201', evaluator: 'table', benchmark: { path: '/t.csv', dataset: 'cifar10' } }, true],
      [{ space: 'nb201', evaluator: 'table' }, false],
      [{ space: 'nb201', evaluator: 'table', benchmark: { path: '/t.csv', dataset: 'cifar10', extra: 1 } }, false],
    ];
    for (const [c, ok] of configs) {
      let ours = true;
      try {
        validateConfig(c);
      } catch {
        ours = false;
      }
      assert.equal(ours, ok, `evonas on ${JSON.stringify(c)}`);
      assert.equal(check(c), ok, `the JSON Schema on ${JSON.stringify(c)}: ${JSON.stringify(check.errors)}`);
    }
  });

  it('reads a version 1 experiment.json as written before the spaces owned their settings', () => {
    const dir = join(root, 'v1');
    for (const space of ['graph', 'stages']) {
      mkdirSync(join(dir, space), { recursive: true });
      const old = readFileSync(join(fixtures, `experiment-v1-${space}.json`), 'utf8');
      writeFileSync(join(dir, space, 'experiment.json'), old);
      const c = readConfig(join(dir, space)) as ExperimentConfig & Record<string, unknown>;
      assert.equal(c.version, 2);
      const v1 = JSON.parse(old) as Record<string, unknown>;
      for (const k of ['minChannels', 'minLearningRate', 'mutationWeights', 'generations', 'epochs', 'learningRate', 'genetic']) assert.equal(c[k], undefined, `${k} moved`);
      assert.deepEqual(
        Object.keys(c).filter((k) => SPACE_REGISTRY.has(k)),
        [space],
        "only the experiment's space keeps settings",
      );
      const own = settingsOf(space, c) as Record<string, unknown>;
      if (space === 'graph') {
        assert.equal(own.minChannels, 8, "the file's value, not the default (16)");
        assert.deepEqual(own.mutationWeights, v1.mutationWeights);
      } else {
        assert.deepEqual([own.generations, own.epochs, own.learningRate, own.genetic, own.nodes], [v1.generations, v1.epochs, v1.learningRate, v1.genetic, (v1.stages as { nodes: number[] }).nodes]);
      }
      for (const k of ['population', 'workers', 'seed', 'stepsPerChild', 'schedule', 'finish']) assert.deepEqual(c[k], v1[k], k);
      // Written back, it is version 2 and reads the same.
      writeConfig(join(dir, space), c);
      assert.deepEqual(readConfig(join(dir, space)), c);
    }
    assert.throws(() => validateConfig({ data: '/d', version: 3 }), /version: an experiment of another evonas version \(this one reads versions 1 to 2\)/);
  });

  it("prints a dataset manifest's, and refuses an unknown name", async () => {
    const s = await schemaOf('manifest');
    assert.equal(s.properties.splits.properties.train.additionalProperties, false);
    const r = await runCli(['schema', 'population']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected one of experiment, manifest but found "population"/);
  });
});

describe('the dataset manifest', () => {
  const good = {
    format: 'evonas.dataset',
    version: 1,
    name: 'tiny',
    classes: ['a', 'b'],
    shape: { height: 4, width: 4, channels: 3 },
    splits: Object.fromEntries(['train', 'validation', 'test'].map((n) => [n, { count: 2, perClass: [1, 1], images: `${n}-images.npy`, labels: `${n}-labels.npy` }])),
    validation: { source: 'held-out', seed: 0, stratified: true, heldOut: 2 },
    stats: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] },
    source: { path: '/x', kind: 'folders', sha256: 'ab' },
    createdAt: '2026-11-23T00:00:00.000Z',
  };
  const write = (name: string, m: unknown) => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    return dir;
  };

  it('reads a good one and refuses a bad field by its path', () => {
    assert.equal(readManifest(write('good', good)).name, 'tiny');
    const cases: [unknown, RegExp, (string | number)[]][] = [
      [{ ...good, shape: { ...good.shape, width: 0 } }, /manifest\.json: shape\.width: expected a whole number >= 1 but found 0/, ['shape', 'width']],
      [{ ...good, splits: { ...good.splits, test: { ...good.splits.test, extra: 1 } } }, /splits\.test\.extra: unknown field \(known: count, perClass, images, labels\)/, ['splits', 'test', 'extra']],
      [{ ...good, version: 2 }, /version: expected 1 \(re-import with this evonas\) but found 2/, ['version']],
    ];
    for (const [i, [m, message, path]] of cases.entries()) {
      const dir = write(`bad-${i}`, m);
      assert.throws(
        () => readManifest(dir),
        (e: unknown) => e instanceof DatasetError && e.code === 'ERR_DATASET_MANIFEST' && message.test(e.message) && JSON.stringify(e.path) === JSON.stringify(path),
      );
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), m, 'nothing rewritten');
    }
  });
});
