// One error shape: every error evonas raises on purpose is an EvonasError
// with a stable code and a path to what was at fault.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../src/cli/args.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readConfig, validateConfig } from '../src/evolution/config.js';
import { analyze, NetIRError } from '../src/net/analyze.js';
import { ConflictError } from '../src/store/index.js';
import { DNAError, validateDNA } from '../src/spaces/graph/index.js';
import { EvonasError, pathOf } from '../src/util/errors.js';
import { netir } from './support/helpers.js';

const caught = (f: () => unknown): EvonasError => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EvonasError, `${String(e)} is not an EvonasError`);
    return e;
  }
  assert.fail('nothing thrown');
};

describe('errors', () => {
  it('carry a code and a path, and keep their class names', () => {
    const c = caught(() => validateConfig({ data: '/d', space: 'stages', stages: { genetic: { pm: 0.5 } } }));
    assert.ok(c instanceof ConfigError);
    assert.deepEqual([c.code, c.path, c.name], ['ERR_CONFIG', ['stages', 'genetic', 'pm'], 'ConfigError']);
    const n = caught(() => analyze(netir([{ id: 'c', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [2, 2] }])));
    assert.ok(n instanceof NetIRError);
    assert.deepEqual([n.code, n.path], ['ERR_NETIR_INVALID', ['nodes', 0, 'kernel', 0]]);
    const d = caught(() => validateDNA({ format: 'evonas.graph-dna', version: 1, learningRate: -1, vertices: [], edges: [], nextId: 0 }));
    assert.ok(d instanceof DNAError);
    assert.equal(d.code, 'ERR_DNA_INVALID');
    assert.deepEqual([new ConflictError('x').code, new CliError('x').code, new CliError('x', 1).code], ['ERR_STORE_CONFLICT', 'ERR_USAGE', 'ERR_INPUT']);
  });

  it("a stored experiment's bad field is refused with the file's name and the field's path", () => {
    const dir = mkdtempSync(join(tmpdir(), 'evonas-errors-'));
    try {
      writeFileSync(join(dir, 'experiment.json'), JSON.stringify({ format: 'evonas.experiment', version: 2, data: '/d', space: 'stages', stages: { genetic: { pm: 0.5 } } }));
      const e = caught(() => readConfig(dir));
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(e.path, ['stages', 'genetic', 'pm']);
      assert.match(e.message, new RegExp(`^${join(dir, 'experiment.json')}: stages\\.genetic\\.pm: unknown field`));
      const none = caught(() => readConfig(join(dir, 'nothing')));
      assert.deepEqual(none.path, [join(dir, 'nothing', 'experiment.json')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pathOf splits dotted and indexed paths', () => {
    assert.deepEqual(pathOf('nodes[3].kernel[0]'), ['nodes', 3, 'kernel', 0]);
    assert.deepEqual(pathOf('schedule.mutationRate[0].k'), ['schedule', 'mutationRate', 0, 'k']);
    assert.deepEqual(pathOf('data'), ['data']);
  });
});
