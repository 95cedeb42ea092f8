// Seeds as a dimension: evonas sweep runs one tiny evolution per seed, reports
// their spread, stops on Ctrl-C and resumes with the time left; report and
// compare read sweeps; evolve --stagnation frees a stalled run by itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importDataset } from '../src/data/import.js';
import type { ReportSummary } from '../src/report/build.js';
import type { SweepManifest, SweepSummary } from '../src/report/sweep.js';
import { cifar10Folder } from './support/formats.js';
import { EVONAS, runCli } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-sweep-'));
const cache = join(root, 'cache');
before(async () => {
  await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
});
after(() => rmSync(root, { recursive: true, force: true }));

const tiny = ['--population', '3', '--workers', '1', '--threads', '1', '--steps', '3', '--batch', '10'];
const json = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

describe('evonas sweep', () => {
  it('runs one evolution per seed and reports the mean and spread of the best-by-validation test accuracies', async () => {
    const out = join(root, 'sweep-a');
    const r = await runCli(['sweep', '--seeds', '1,2', '--out', out, '--data', cache, ...tiny, '--max-children', '8', '--time-budget', '5m']);
    assert.equal(r.code, 0, r.stderr);
    const s = json<SweepSummary>(join(out, 'report', 'summary.json'));
    assert.deepEqual(
      s.seeds.map((x) => x.seed),
      [1, 2],
    );
    for (const x of s.seeds) {
      const own = json<ReportSummary>(join(out, x.experiment, 'report', 'summary.json'));
      assert.equal(x.testAccuracy, own.best.testAccuracy, `seed ${x.seed}: the seed's own report`);
      assert.equal(json<{ seed: number }>(join(out, x.experiment, 'experiment.json')).seed, x.seed);
    }
    const [a, b] = s.seeds.map((x) => x.testAccuracy) as [number, number];
    assert.ok(Math.abs(s.testAccuracy.mean - (a + b) / 2) < 1e-12);
    assert.ok(Math.abs(s.testAccuracy.std - Math.abs(a - b) / Math.SQRT2) < 1e-12);
    assert.equal(s.testAccuracy.min, Math.min(a, b));
    assert.match(r.stdout.trim().split('\n').at(-1)!, /^test accuracy over 2 seeds: mean 0\.\d{4} ± 0\.\d{4} \(min 0\.\d{4}, max 0\.\d{4}, 2 seeds\)$/);
    for (const f of ['sweep.html', 'index.html', 'compare.png']) assert.ok(existsSync(join(out, 'report', f)), f);
    assert.ok(json<SweepManifest>(join(out, 'sweep.json')).runs.every((x) => x.state === 'done'));

    const rep = await runCli(['report', out]);
    assert.equal(rep.code, 0, rep.stderr);
    assert.match(rep.stdout, /^1 +0\.\d{4} +0\.\d{4}/m);
    assert.match(rep.stdout, /^2 +0\.\d{4} +0\.\d{4}/m);
    const cmp = await runCli(['compare', out, '--out', join(root, 'cmp')]);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /^sweep-a: final best-so-far test accuracy mean 0\.\d{4} \(range .*, 2 runs\)$/m);
  });

  it('refuses bad input naming it, writing nothing', async () => {
    const out = join(root, 'bad');
    const cases: [string[], RegExp][] = [
      [['--seeds', '1,x'], /Expected comma-separated whole numbers for --seeds but received "1,x"/],
      [['--seeds', '1,1'], /--seeds repeats a seed/],
      [['--seeds', '1', '--seed', '4'], /--seed is set per run by the sweep/],
      [['--seeds', '1', '--population', '1'], /--population/],
      [['--seeds', '1', '--algorithm', 'hill-climb'], /algorithm: the graph space takes tournament, aging, random but found "hill-climb"/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['sweep', '--out', out, '--data', cache, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message);
      assert.equal(existsSync(out), false, `${args.join(' ')} wrote ${out}`);
    }
    const again = await runCli(['sweep', '--resume', join(root, 'nothing-here')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /holds no sweep/);
  });

  it('stops on Ctrl-C and resumes the run in flight with the time it had left, then the rest', async () => {
    const out = join(root, 'sweep-b');
    const child = spawn(process.execPath, [EVONAS, 'sweep', '--seeds', '3,4', '--out', out, '--data', cache, ...tiny, '--time-budget', '14s']);
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', () => {});
    await new Promise<void>((res) => {
      const t = setInterval(() => {
        if (stdout.includes('evolving')) {
          clearInterval(t);
          setTimeout(() => {
            child.kill('SIGINT');
            res();
          }, 3000);
        }
      }, 100);
    });
    const code = await new Promise<number | null>((res) => child.on('close', res));
    assert.equal(code, 130, stdout);
    assert.match(stdout, /continue with: evonas sweep --resume/);
    assert.deepEqual(
      json<SweepManifest>(join(out, 'sweep.json')).runs.map((r) => r.state),
      ['running', 'pending'],
    );
    const resumed = await runCli(['sweep', '--resume', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming .*seed-3/);
    assert.match(resumed.stdout, /evolving .*seed-4/);
    assert.deepEqual(
      json<SweepSummary>(join(out, 'report', 'summary.json')).seeds.map((x) => x.seed),
      [3, 4],
    );
    const extra = await runCli(['sweep', '--resume', out, '--population', '5']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /--resume takes no settings but --population/);
  });
});

describe('evonas evolve --stagnation', () => {
  it('notices a stalled best, applies the remedies by itself, and the report marks them', async () => {
    const exp = join(root, 'stalled');
    const r = await runCli(['evolve', '--data', cache, '--out', exp, ...tiny, '--time-budget', '12s', '--seed', '2', '--stagnation', '2s']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /stagnation at \d+ s: no new best by validation since \d+ s \(0\.\d{4}\); 5 mutations per child until \d+ s and every individual's weights reset/);
    const rep = await runCli(['report', exp]);
    assert.equal(rep.code, 0, rep.stderr);
    const s = json<ReportSummary>(join(exp, 'report', 'summary.json'));
    assert.ok(s.stagnation!.length >= 1);
    assert.ok(s.stagnation!.every((e, i) => e.index === i && e.at - Math.max(e.bestAt, i ? s.stagnation![i - 1]!.at : 0) >= 2));
    // A reset retrains the living from scratch: children of the initial-training kind after the first event.
    const first = s.stagnation![0]!.at;
    const store = (await import('../src/store/index.js')).FileStore;
    const all = await new store(exp).list();
    const started = Date.parse(json<{ startedAt: string }>(join(exp, 'run.json')).startedAt);
    assert.ok(
      all.some((i) => (Date.parse(i.bornAt) - started) / 1000 > first && (i.mutations as { detail?: { weightReset?: number } }[])[0]?.detail?.weightReset === 1),
      'an individual retrained after the reset',
    );
    const bad = await runCli(['evolve', '--data', cache, '--out', join(root, 'bad-stall'), '--stagnation-remedy', 'both']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--stagnation-remedy needs --stagnation <window>/);
  });
});
