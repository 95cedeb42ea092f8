// A real (tiny) evolution whose experiment lives in PostgreSQL: `evonas
// evolve --store URL` with 2 local workers, one more `evonas worker URL`
// joined from another process with the dataset given by --data, `status`
// showing the workers alive by their heartbeats, `report URL --out`,
// export, predict and the dashboard by URL, and
// the password on no command line and in no output; and chaos: workers
// SIGKILLed and the server restarted during a real evolution. A real
// server, started for these tests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { importDataset } from '../src/data/import.js';
import { startDashboard } from '../src/server/dashboard.js';
import { PgStore } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { cifar10Folder } from './support/formats.js';
import { rng } from './support/helpers.js';
import { startPostgres } from './support/postgres.js';
import type { Postgres } from './support/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-pg-evolve-'));
const cache = join(root, 'cache');
let pg: Postgres;
before(async () => {
  pg = await startPostgres({ own: true }); // a test below restarts it
  await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
});
after(() => {
  pg?.stop();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const env = { EVONAS_HEARTBEAT_MS: '1000' };

describe('evolution in PostgreSQL', () => {
  it('evolve --store with 2 workers, a third joined by evonas worker; status, report --out; no password anywhere', async () => {
    const url = `${pg.url}?schema=exp1`;
    const evolving = runCli(['evolve', '--data', cache, '--store', url, '--population', '4', '--workers', '2', '--steps', '3', '--batch', '10', '--time-budget', '20s', '--seed', '3'], {
      env,
    });
    // Join once the experiment exists (its run state is written before the workers start).
    let joined: ReturnType<typeof runCli> | undefined;
    for (let i = 0; i < 100 && !joined; i++) {
      await sleep(200);
      const s = await PgStore.open(url);
      const run = await s.docs.read('run.json');
      await s.close();
      if (run) joined = runCli(['worker', url, '--id', '7', '--data', cache], { env });
    }
    assert.ok(joined, 'the experiment appeared');
    await sleep(6000);
    const commandLines = execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(' worker postgresql://'));
    assert.ok(commandLines.length >= 2, commandLines.join('\n'));
    for (const l of commandLines) if (!l.includes('--data')) assert.ok(!l.includes(pg.password), `a worker's command line shows the password: ${l}`);
    const live = await runCli(['status', url, '--json']);
    assert.equal(live.code, 0, live.stderr);
    const workers = JSON.parse(live.stdout).workers as { worker: string; host: string }[];
    assert.ok(workers.some((w) => w.worker.startsWith('w7-')) && workers.length >= 3, `workers alive: ${JSON.stringify(workers)}`);

    const [e, w] = await Promise.all([evolving, joined]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(w.code, 0, w.stderr);
    assert.match(e.stdout, /^evolving postgresql:\/\/evonas:\*\*\*@127\.0\.0\.1:\d+\/evonas\?schema=exp1: graph space/m);
    assert.match(e.stdout, /stopped: \d+ children trained, \d+ alive; best validation accuracy 0\.\d{4}/);

    const store = await PgStore.open(url);
    try {
      const all = await store.list();
      const children = all.filter((i) => i.parent !== null && i.fitness !== null);
      assert.ok(
        children.some((i) => i.worker.startsWith('w7-')),
        'the joined worker trained children',
      );
      assert.ok(children.some((i) => i.worker.startsWith('w0-')) && children.some((i) => i.worker.startsWith('w1-')), 'both local workers did');
      assert.deepEqual((await store.check()).problems, []);
    } finally {
      await store.close();
    }
    const s = await runCli(['status', url]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /workers alive: none/, 'every worker said it stopped');
    assert.match(s.stdout, /workers: 3 reports, [\d.]+% of their time training and evaluating/);

    const out = join(root, 'report');
    const refused = await runCli(['report', url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the experiment lives in a database; say where to write its report \(--out <folder>\)/);
    const r = await runCli(['report', url, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /best by validation: \S+ {2}validation 0\.\d{4} {2}test 0\.\d{4}/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.experiment, url.replace(pg.password, '***'));

    // export, predict and the dashboard by URL, with --data naming the dataset here.
    const onnx = join(root, 'best.onnx');
    const x = await runCli(['export', url, '--format', 'onnx', '--out', onnx, '--data', cache]);
    assert.equal(x.code, 0, x.stderr);
    assert.ok(existsSync(onnx));
    const image = join(root, 'green.png');
    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 20, g: 200, b: 40 } } })
      .png()
      .toFile(image);
    const viaEngine = await runCli(['predict', url, image, '--json', '--data', cache]);
    const viaOnnx = await runCli(['predict', onnx, image, '--json']);
    assert.equal(viaEngine.code, 0, viaEngine.stderr);
    const [pe, po] = [JSON.parse(viaEngine.stdout)[0].predictions[0], JSON.parse(viaOnnx.stdout)[0].predictions[0]];
    assert.equal(pe.class, po.class, 'the engine (by URL) and the exported model agree');
    assert.ok(Math.abs(pe.probability - po.probability) < 1e-4);
    const dashboard = await startDashboard(url, { port: 0 });
    let state: { experiment: string; individuals: number };
    try {
      state = (await (await fetch(`${dashboard.url}api/state`)).json()) as typeof state;
    } finally {
      await dashboard.close();
    }
    assert.equal(state.experiment, url.replace(pg.password, '***'));
    assert.equal(state.individuals, summary.individuals);
    for (const text of [
      e.stdout,
      e.stderr,
      w.stdout,
      w.stderr,
      live.stdout,
      s.stdout,
      r.stdout,
      r.stderr,
      x.stdout,
      viaEngine.stdout,
      readFileSync(join(out, 'index.html'), 'utf8'),
      JSON.stringify(summary),
    ])
      assert.ok(!text.includes(pg.password), 'the password is printed or written');
  });

  it('chaos: workers SIGKILLed again and again and the server restarted twice (-m immediate) during a real evolution', async () => {
    const url = `${pg.url}?schema=chaos`;
    const evolving = runCli(['evolve', '--data', cache, '--store', url, '--population', '4', '--workers', '2', '--steps', '3', '--batch', '10', '--time-budget', '30s'], {
      env: { EVONAS_PG_RETRY_MS: '60000' },
    });
    const random = rng(7);
    const pids = () =>
      execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(' worker postgresql://') && l.includes('schema=chaos'))
        .map((l) => Number(l.trim().split(/\s+/)[0]));
    let kills = 0;
    let restarts = 0;
    for (let round = 0; round < 12; round++) {
      await sleep(800 + 1200 * random());
      if (round === 4 || round === 8) {
        pg.ctl(['restart', '-m', 'immediate']);
        restarts++;
        continue;
      }
      const p = pids();
      if (p.length === 0) continue;
      process.kill(p[Math.floor(random() * p.length)]!, 'SIGKILL');
      kills++;
    }
    const e = await evolving;
    assert.equal(e.code, 0, e.stderr);
    assert.equal(restarts, 2);
    assert.ok(kills >= 6, `killed ${kills} workers`);
    assert.match(e.stderr, /worker \d exited \(SIGKILL\); restarting it/);
    assert.deepEqual(pids(), [], 'no worker left running');
    const store = await PgStore.open(url);
    try {
      assert.deepEqual((await store.check()).problems, []);
      const all = await store.list();
      const ids = new Set(all.map((i) => i.id));
      const children = all.filter((i) => i.parent !== null);
      assert.ok(children.filter((i) => i.fitness !== null).length > 4, `only ${children.length} children between the kills and restarts`);
      for (const c of children) assert.ok(ids.has(c.parent!), `${c.id}: its parent ${c.parent} is lost`);
      for (const i of all.filter((x) => x.hasWeights)) assert.ok((await store.readWeights(i.id)).length > 0, `${i.id}: weights half-written`);
      const alive = await store.aliveCount();
      // The set-point, give or take a birth or a kill per worker in flight, plus the finish's child (one per worker, no kill).
      assert.ok(alive >= 4 - 2 && alive <= 4 + 2 + 2, `population ${alive}, set-point 4, 2 workers`);
    } finally {
      await store.close();
    }
  });

  it('Genetic CNN generations in PostgreSQL: every slot trained, through a SIGKILLed worker; a missing experiment, a folder for --store, resume by URL', async () => {
    const url = `${pg.url}?schema=exp2`;
    const args = ['evolve', '--data', cache, '--store', url, '--space', 'stages', '--population', '4', '--generations', '2', '--steps', '4', '--batch', '10', '--workers', '2', '--seed', '5'];
    const genetic = runCli([...args, '--time-budget', '5m'], { env: { EVONAS_LEASE_MS: '3000' } });
    await sleep(2500);
    const p = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(' worker postgresql://') && l.includes('schema=exp2'))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
    if (p.length) process.kill(p[0]!, 'SIGKILL');
    const g = await genetic;
    assert.equal(g.code, 0, g.stderr);
    for (const t of ['000', '001', '002']) assert.match(g.stderr, new RegExp(`^${t} +\\d+\\.\\d\\d .* [01]-[01]{2} [01]-[01]{2}-[01]{3} [01]-[01]{2}-[01]{3}-[01]{4}$`, 'm'));
    const s = JSON.parse((await runCli(['status', url, '--json'])).stdout);
    assert.equal(s.generations.length, 3);
    assert.equal(s.alive, 4, 'the last generation');
    const store = await PgStore.open(url);
    try {
      assert.deepEqual((await store.check()).problems, []);
      const all = await store.list();
      for (let t = 0; t <= 2; t++) {
        const slots = all.filter((i) => i.generation === t).map((i) => i.slot);
        assert.deepEqual([...new Set(slots)].sort(), [0, 1, 2, 3], `generation ${t} has every slot`);
      }
    } finally {
      await store.close();
    }
    const r = await runCli(['report', url, '--out', join(root, 'genetic-report')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(root, 'genetic-report', 'summary.json'), 'utf8')).generations.length, 3);
    const none = await runCli(['evolve', '--resume', `${pg.url}?schema=nothing`]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /schema=nothing: no experiment here \(evonas evolve --store creates one\)/);
    const folder = await runCli(['evolve', '--data', cache, '--store', join(root, 'x')]);
    assert.equal(folder.code, 2, 'a usage error');
    assert.match(folder.stderr, /--store ".*x": expected a postgresql:\/\/ URL \(for a folder, use --out\)/);
    assert.equal(existsSync(join(root, 'x')), false);
    const resumed = await runCli(['evolve', '--resume', `${pg.url}?schema=exp1`, '--time-budget', '3s'], { env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /^resuming postgresql:\/\/evonas:\*\*\*@/m);
  });
});
