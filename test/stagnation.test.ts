// Noticing a trapped population: when an event fires, what it adds to the
// schedule, that two workers record one event once, and sweep statistics.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../src/evolution/config.js';
import { mutationsPerChild, resetSinceBirth } from '../src/evolution/schedule.js';
import { FolderDocs } from '../src/store/docs.js';
import { detectStagnation, StagnationLog, validateStagnation, withRemedies } from '../src/evolution/stagnation.js';
import type { StagnationPolicy } from '../src/evolution/stagnation.js';
import { spread } from '../src/report/sweep.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-stagnation-'));
after(() => rmSync(root, { recursive: true, force: true }));

const start = Date.parse('2026-01-01T00:00:00Z');
const born = (id: string, seconds: number, fitness: number | null) => ({ id, bornAt: new Date(start + seconds * 1000).toISOString(), fitness });
const policy: StagnationPolicy = { window: 60, remedy: 'both', k: 4, duration: 20 };

describe('stagnation', () => {
  it('fires once the best by validation is older than the window, then gives each remedy a window', () => {
    const pop = [born('a', 1, 0.3), born('b', 10, 0.5), born('c', 50, 0.49), born('d', 65, 0.5)]; // d ties b: not a new best
    assert.equal(detectStagnation(policy, pop, start, 69, []), undefined, 'best (b, 10 s) is 59 s old');
    const e = detectStagnation(policy, pop, start, 70, [])!;
    assert.deepEqual(e, { index: 0, at: 70, bestAt: 10, bestValidation: 0.5, remedy: 'both', mutationRate: { from: 70, to: 90, k: 4 }, weightReset: 70 });
    assert.equal(detectStagnation(policy, pop, start, 129, [e]), undefined, 'the remedy has until 130 s');
    assert.equal(detectStagnation(policy, pop, start, 130, [e])!.index, 1);
    assert.equal(detectStagnation(policy, [...pop, born('e', 100, 0.6)], start, 130, [e]), undefined, 'a new best at 100 s');
    assert.equal(detectStagnation(policy, [born('x', 0, null)], start, 500, []), undefined, 'nothing evaluated yet');
  });

  it('adds the remedies to the schedule: the raised rate for its period, the reset for every lineage born before it', () => {
    const e = detectStagnation({ window: 60, remedy: 'both' }, [born('b', 10, 0.5)], start, 100, [])!;
    const s = withRemedies({ mutationRate: [{ from: 0, to: 30, k: 3 }] }, [e]);
    assert.equal(mutationsPerChild(s, 10), 3);
    assert.equal(mutationsPerChild(s, 99), 1);
    assert.equal(mutationsPerChild(s, 100), 5, 'default k');
    assert.equal(mutationsPerChild(s, 129), 5, 'default duration: half the window');
    assert.equal(mutationsPerChild(s, 130), 1);
    assert.equal(resetSinceBirth(s, 90, 101), true);
    assert.equal(resetSinceBirth(s, 100, 120), false, 'born at the reset');
    const onlyRate = detectStagnation({ window: 60, remedy: 'mutation-rate' }, [born('b', 10, 0.5)], start, 100, [])!;
    assert.equal(onlyRate.weightReset, undefined);
    assert.deepEqual(withRemedies({}, [onlyRate]).weightResets, []);
    assert.equal(detectStagnation({ window: 60, remedy: 'weight-reset' }, [born('b', 10, 0.5)], start, 100, [])!.mutationRate, undefined);
  });

  it('records each event once, whichever worker sees it first', async () => {
    const log = new StagnationLog(new FolderDocs(join(root, 'exp')));
    const e = detectStagnation(policy, [born('b', 10, 0.5)], start, 80, [])!;
    assert.equal(await log.record(e), true);
    assert.equal(await log.record({ ...e, at: 81 }), false, 'the second worker loses');
    assert.deepEqual(await log.list(), [e]);
  });

  it('refuses a bad policy naming the field', () => {
    assert.throws(() => validateStagnation({ window: 0, remedy: 'both' }), /window: expected a number > 0 but found 0/);
    assert.throws(() => validateStagnation({ window: 5, remedy: 'pray' as never }), /remedy: expected one of mutation-rate, weight-reset, both but found "pray"/);
    assert.throws(() => validateStagnation({ window: 5, remedy: 'both', k: 1 }), /k: expected a whole number >= 2/);
    assert.throws(() => validateConfig({ data: '/d', stagnation: { window: 5, remedy: 'x' } }), /stagnation\.remedy: expected one of mutation-rate, weight-reset, both but found "x"/);
    assert.throws(() => validateConfig({ data: '/d', stagnation: { window: 5, remedy: 'both', windw: 3 } }), /stagnation\.windw: unknown field \(known: window, remedy, k, duration\)/);
    assert.throws(
      () => validateConfig({ data: '/d', space: 'stages', algorithm: 'generational', stagnation: { window: 5, remedy: 'both' } }),
      /stagnation: applies to steady-state spaces only \(the stages space is generational/,
    );
    assert.equal(validateConfig({ data: '/d' }).stagnation, null, 'off unless asked for');
  });

  it('spread: mean, sample standard deviation, min and max', () => {
    assert.deepEqual(spread([0.5]), { n: 1, mean: 0.5, std: 0, min: 0.5, max: 0.5 });
    const s = spread([0.6, 0.7, 0.8]);
    assert.ok(Math.abs(s.mean - 0.7) < 1e-12 && Math.abs(s.std - 0.1) < 1e-12);
    assert.equal(s.min, 0.6);
    assert.equal(s.max, 0.8);
    assert.throws(() => spread([]), /at least one value/);
  });
});
