// Workers on a real one-node Slurm cluster (started by the test, as root:
// slurmd must be) against a real PostgreSQL store: `evonas evolve
// --prepare` makes the experiment, `evonas slurm` submits a job array of
// workers, status shows them alive with their job, they train children and
// stop at the experiment's deadline, or early on scancel. Also what needs
// no cluster: the script --dry-run prints, and refusals.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importDataset } from '../src/data/import.js';
import { PgStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { cifar10Folder } from './support/formats.js';
import { startPostgres } from './support/postgres.js';
import type { Postgres } from './support/postgres.js';
import { slurmUnavailable, startSlurm } from './support/slurm.js';
import type { SlurmCluster } from './support/slurm.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-slurm-test-'));
const cache = join(root, 'cache');
let pg: Postgres;
before(async () => {
  pg = await startPostgres();
  await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
});
after(() => {
  pg?.stop();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tiny = ['--population', '4', '--steps', '3', '--batch', '10', '--threads', '1'];

describe('evonas slurm', () => {
  it('--dry-run prints the job array with no password in it; bad options and a passed deadline are refused', async () => {
    const url = `${pg.url}?schema=dry`;
    const prepared = await runCli(['evolve', '--data', cache, '--store', url, ...tiny, '--prepare', '--time-budget', '10m']);
    assert.equal(prepared.code, 0, prepared.stderr);
    assert.match(prepared.stdout, /^prepared postgresql:\/\/evonas:\*\*\*@.*; no workers started$/m);
    const r = await runCli(['slurm', url, '--workers', '3', '--time', '1:00:00', '--partition', 'gpu', '--gpus-per-worker', '1', '--data', cache, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    for (const line of ['#SBATCH --array=0-2', '#SBATCH --cpus-per-task=1', '#SBATCH --time=1:00:00', '#SBATCH --partition=gpu', '#SBATCH --gres=gpu:1', '#SBATCH --job-name=evonas-dry'])
      assert.ok(r.stdout.split('\n').includes(line), `${line} in\n${r.stdout}`);
    assert.match(r.stdout, /^exec '.*node' '.*bin\/evonas' worker 'postgresql:\/\/evonas@127\.0\.0\.1:\d+\/\w+\?schema=dry' --id \$\(\(1000 \+ SLURM_ARRAY_TASK_ID\)\) --data '.*cache'$/m);
    assert.ok(!r.stdout.includes(pg.password), 'the password is in the script');
    const bad = await runCli(['slurm', url, '--workers', '2', '--time', 'soon', '--dry-run']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--time: expected Slurm's form \(minutes, H:MM:SS or D-HH:MM:SS\) but found "soon"/);
    const none = await runCli(['slurm', url, '--dry-run']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--workers N is required/);
    const passed = join(root, 'passed');
    assert.equal((await runCli(['evolve', '--data', cache, '--out', passed, ...tiny, '--prepare', '--time-budget', '1s'])).code, 0);
    await sleep(1100);
    const late = await runCli(['slurm', passed, '--workers', '1', '--dry-run']);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /passed: its deadline \(.*\) has passed; give --time-budget to set a new one/);
    const nosbatch = await runCli(['slurm', passed, '--workers', '1', '--time-budget', '1m'], { env: { PATH: '/nonexistent' } });
    assert.equal(nosbatch.code, 1);
    assert.match(nosbatch.stderr, /sbatch: not found \(is this a Slurm login node\? is Slurm on the PATH\?\)/);
  });

  const why = slurmUnavailable();
  it('a job array of workers on a one-node cluster trains children in PostgreSQL and stops at the deadline', { skip: why ?? false }, async () => {
    let cluster: SlurmCluster | undefined;
    try {
      cluster = await startSlurm();
      const url = `${pg.url}?schema=cluster`;
      const prepared = await runCli(['evolve', '--data', cache, '--store', url, ...tiny, '--prepare', '--time-budget', '10m']);
      assert.equal(prepared.code, 0, prepared.stderr);
      const submitted = await runCli(['slurm', url, '--workers', '2', '--cpus-per-worker', '1', '--time-budget', '25s', '--log-dir', join(root, 'logs')], {
        env: { ...cluster.env, EVONAS_HEARTBEAT_MS: '1000' },
      });
      assert.equal(submitted.code, 0, `${submitted.stderr}\n${cluster.logs()}`);
      const job = /^submitted job (\d+): 2 workers until /m.exec(submitted.stdout)?.[1];
      assert.ok(job, submitted.stdout);
      let seen: { worker: string; job?: string }[] = [];
      for (let i = 0; i < 40 && seen.length < 2; i++) {
        await sleep(500);
        const s = await runCli(['status', url, '--json']);
        seen = JSON.parse(s.stdout).workers;
      }
      assert.deepEqual(seen.map((w) => w.job).sort(), [`${job}_0`, `${job}_1`], `workers alive: ${JSON.stringify(seen)}\n${cluster.logs()}`);
      // The deadline ends them: the array leaves the queue without a scancel.
      let queued = '';
      for (let i = 0; i < 90; i++) {
        queued = cluster.run('squeue', ['-h', '-j', job!, '-o', '%i %T']).trim();
        if (!queued) break;
        await sleep(1000);
      }
      assert.equal(queued, '', 'the workers stopped at the deadline');
      const store = await PgStore.open(url);
      try {
        const children = (await store.list()).filter((i) => i.fitness !== null);
        assert.ok(children.some((i) => i.worker.startsWith('w1000-')) && children.some((i) => i.worker.startsWith('w1001-')), 'both array tasks trained');
        assert.deepEqual((await store.check()).problems, []);
        assert.ok(await store.docs.read(`slurm/${job}.json`), 'the job is recorded in the experiment');
      } finally {
        await store.close();
      }
      const s = await runCli(['status', url]);
      assert.match(s.stdout, /workers alive: none/);

      // scancel stops them early: SIGTERM, each drops its child in flight and says it stopped.
      const again = await runCli(['slurm', url, '--workers', '2', '--cpus-per-worker', '1', '--time-budget', '5m', '--first-id', '2000', '--log-dir', join(root, 'logs')], {
        env: { ...cluster.env, EVONAS_HEARTBEAT_MS: '1000' },
      });
      assert.equal(again.code, 0, again.stderr);
      const second = /^submitted job (\d+)/m.exec(again.stdout)![1]!;
      for (let i = 0; i < 40; i++) {
        await sleep(500);
        if (JSON.parse((await runCli(['status', url, '--json'])).stdout).workers.length === 2) break;
      }
      cluster.run('scancel', [second]);
      for (let i = 0; i < 60; i++) {
        queued = cluster.run('squeue', ['-h', '-j', second, '-o', '%i %T']).trim();
        if (!queued) break;
        await sleep(500);
      }
      assert.equal(queued, '', 'scancel ended the array');
      const after = JSON.parse((await runCli(['status', url, '--json'])).stdout);
      assert.deepEqual(after.workers, [], 'both reported that they stopped');
      const check = await PgStore.open(url);
      try {
        assert.deepEqual((await check.check()).problems, [], 'nothing half-written');
      } finally {
        await check.close();
      }
    } finally {
      cluster?.stop();
    }
  });
});
