// The store contract, run against every backend (the filesystem, and memory for in-process simulations).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { FileStore, historyKeepers, MemoryStore, newRecord, PgStore, TimedStore } from '../src/store/index.js';
import { startPostgres } from './support/postgres.js';
import type { Postgres } from './support/postgres.js';
import { selectionFitness } from '../src/evolution/selection.js';
import { hashStagesDNA, randomStagesDNA, zeroDNA } from '../src/spaces/stages/index.js';
import type { IndividualRecord, PopulationStore } from '../src/store/index.js';
import { createRng } from '../src/util/rng.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function record(over: Partial<IndividualRecord> = {}): IndividualRecord {
  return newRecord({ worker: 'test', space: 'graph', dna: { x: 1 }, fitness: 0.5, ...over });
}

// PostgreSQL: a real server, started for these tests (test/support/postgres.ts).
let server: Postgres | undefined;
const opened: PgStore[] = [];
before(async () => {
  server = await startPostgres();
});
after(async () => {
  for (const s of opened) await s.close();
  server?.stop();
});
async function pgStore(schema: string): Promise<PgStore> {
  const s = await PgStore.open(`${server!.url}?schema=${schema}`);
  opened.push(s);
  return s;
}

/**
 * `location` is where other processes open the backend (a folder or a URL;
 * '' for memory, which lives in one process); `dir` is the folder of a
 * filesystem backend, for tests that damage its files.
 */
const backends: [string, () => Promise<{ store: PopulationStore; location: string; dir?: string }>][] = [
  ['memory', async () => ({ store: new MemoryStore(), location: '' })],
  [
    'filesystem',
    async () => {
      const dir = join(root, `fs-${n++}`);
      return { store: new FileStore(dir), location: dir, dir };
    },
  ],
  [
    'filesystem behind TimedStore',
    async () => {
      const dir = join(root, `timed-${n++}`);
      return { store: new TimedStore(new FileStore(dir)), location: dir, dir };
    },
  ],
  [
    'postgresql',
    async () => {
      const schema = `contract_${n++}`;
      return { store: await pgStore(schema), location: `${server!.url}?schema=${schema}` };
    },
  ],
];

for (const [name, make] of backends) {
  describe(`store contract: ${name}`, () => {
    it('a birth appears alive and complete, with its weights', async () => {
      const { store } = await make();
      const r = record({ hasWeights: true, fitness: 0.7 });
      await store.put(r, [Buffer.from('abc'), Buffer.from('def')]);
      assert.deepEqual(await store.get(r.id), { ...r, state: 'alive' });
      assert.equal((await store.readWeights(r.id)).toString(), 'abcdef');
      assert.equal(await store.aliveCount(), 1);
      assert.deepEqual(
        (await store.list()).map((i) => i.id),
        [r.id],
      );
      assert.equal(await store.get('nobody-0'), undefined);
      if (store instanceof TimedStore) assert.ok(store.seconds > 0, 'time in store calls is counted');
    });

    it('refuses a second birth of one id, a bad id and a record that lies about weights', async () => {
      const { store } = await make();
      const r = record();
      await store.put(r);
      await assert.rejects(store.put(r), /ENOTEMPTY|EEXIST/); // the filesystem's rename refusal, or the same word from memory
      await assert.rejects(store.put(record({ id: '../escape' })), /Expected an id of lowercase letters, digits and dashes/);
      await assert.rejects(store.put(record({ hasWeights: true })), /hasWeights is true but weights were not given/);
      assert.equal(await store.aliveCount(), 1);
    });

    it('a kill happens once: the second killer gets a conflict', async () => {
      const { store } = await make();
      const r = record();
      await store.put(r);
      assert.equal(await store.kill(r.id, 'w1'), 'killed');
      assert.equal(await store.kill(r.id, 'w2'), 'conflict');
      const dead = await store.get(r.id);
      assert.equal(dead?.state, 'dead');
      assert.equal(dead?.killedBy, 'w1');
      assert.ok(Date.parse(dead!.diedAt!) <= Date.now());
      assert.equal(await store.aliveCount(), 0);
      assert.equal((await store.list({ state: 'dead' })).length, 1);
    });

    it('racing kills from many async callers: exactly one wins each individual', async () => {
      const { store } = await make();
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const r = record();
        await store.put(r);
        ids.push(r.id);
      }
      const outcomes = await Promise.all(ids.flatMap((id) => Array.from({ length: 4 }, (_, k) => store.kill(id, `c${k}`).then((o) => ({ id, o })))));
      const wins = outcomes.filter((x) => x.o === 'killed').map((x) => x.id);
      assert.deepEqual(wins.sort(), [...ids].sort(), 'every id killed exactly once');
      assert.equal(outcomes.filter((x) => x.o === 'conflict').length, 60);
    });

    it('racing kills from many processes: exactly one wins each individual', { skip: name === 'memory' && 'a memory store lives in one process' }, async () => {
      const { store, location } = await make();
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const r = record();
        await store.put(r);
        ids.push(r.id);
      }
      const script = `import { closeStore, openStore } from ${JSON.stringify(join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'store', 'index.js'))};
        const s = await openStore(process.argv[1]); const won = [];
        for (const id of process.argv[2].split(',')) if ((await s.kill(id, 'p' + process.pid)) === 'killed') won.push(id);
        await closeStore(s);
        process.stdout.write(JSON.stringify(won));`;
      const runs = await Promise.all(
        Array.from(
          { length: 6 },
          () =>
            new Promise<string[]>((res, rej) => {
              const c = spawn(process.execPath, ['--input-type=module', '-e', script, location, ids.join(',')]);
              let out = '';
              c.stdout.on('data', (d) => (out += d));
              c.on('error', rej);
              c.on('close', () => res(JSON.parse(out) as string[]));
            }),
        ),
      );
      const wins = runs.flat().sort();
      assert.deepEqual(wins, [...ids].sort(), 'every id killed exactly once');
      assert.equal((await store.list({ state: 'dead' })).length, 30);
    });

    it('sample gives distinct alive individuals, uniformly', async () => {
      const { store } = await make();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = record();
        await store.put(r);
        ids.push(r.id);
      }
      await store.kill(ids[0]!, 'w');
      const rng = createRng(3);
      const counts = new Map<string, number>();
      for (let i = 0; i < 600; i++) {
        const s = await store.sample(2, () => rng.next());
        assert.equal(s.length, 2);
        assert.notEqual(s[0]!.id, s[1]!.id);
        for (const x of s) {
          assert.equal(x.state, 'alive');
          counts.set(x.id, (counts.get(x.id) ?? 0) + 1);
        }
      }
      assert.equal(counts.has(ids[0]!), false);
      for (const id of ids.slice(1)) assert.ok(counts.get(id)! > 180 && counts.get(id)! < 300, `${id}: ${counts.get(id)}`);
      assert.equal((await store.sample(10, () => rng.next())).length, 5);
    });

    it('garbage collection removes only the dead past their grace, and stale staging', async () => {
      const { store } = await make();
      const a = record({ hasWeights: true });
      const b = record();
      const c = record();
      await store.put(a, [Buffer.from('w')]);
      await store.put(b);
      await store.put(c);
      await store.kill(a.id, 'w');
      assert.deepEqual(await store.collectGarbage(60_000), [], 'within its grace period');
      const held = await store.readWeights(a.id); // a child takes what it needs before the parent can go
      assert.deepEqual(await store.collectGarbage(0, new Set([a.id])), [], 'kept for the report');
      assert.equal((await store.get(a.id))?.hasWeights, true);
      assert.deepEqual(await store.collectGarbage(0), [a.id]);
      assert.deepEqual(await store.collectGarbage(0), [], 'collected once');
      assert.equal(held.toString(), 'w');
      const after = await store.get(a.id);
      assert.equal(after?.state, 'dead', 'the record stays, as history');
      assert.equal(after?.hasWeights, false);
      await assert.rejects(store.readWeights(a.id), { name: 'ConflictError' });
      assert.deepEqual((await store.check()).problems, []);
      assert.equal(await store.aliveCount(), 2);
    });

    it('check finds a clean store clean, and reports damage', async () => {
      const { store, dir } = await make();
      const r = record();
      await store.put(r);
      await store.kill(r.id, 'w');
      await store.put(record());
      assert.deepEqual(await store.check(), { alive: 1, dead: 1, problems: [] });
      if (dir) {
        mkdirSync(join(dir, 'population', 'stray'));
        const broken = record();
        await store.put(broken);
        writeFileSync(join(dir, 'population', `${broken.id}.alive`, 'record.json'), '{ half');
        const report = await store.check();
        assert.equal(report.problems.length, 2);
        assert.match(report.problems.join('\n'), /population\/stray: not <id>\.alive or <id>\.dead/);
        assert.match(report.problems.join('\n'), new RegExp(`${broken.id}\\.alive: .*record\\.json`));
      }
    });
  });
}

/**
 * The hammer: 16 processes x 8 async workers make `perProc` reproductions
 * each against one store. With `restarts`, the PostgreSQL server is killed
 * (pg_ctl restart -m immediate) that many times while they run: workers
 * retry, and every birth and kill still happens exactly once.
 */
async function hammer(kind: 'filesystem' | 'postgresql', perProc: number, restarts = 0): Promise<void> {
  const dir = join(root, `hammer-${kind}-${restarts}`);
  // A server it restarts is its own: the run's shared one also serves other test files.
  const own = kind === 'postgresql' && restarts > 0 ? await startPostgres({ own: true }) : undefined;
  const pg = own ?? server!;
  const store = kind === 'filesystem' ? new FileStore(dir) : own ? await PgStore.open(`${pg.url}?schema=hammer_${restarts}`) : await pgStore(`hammer_${restarts}`);
  try {
    await hammerOn(pg, store, dir, kind, perProc, restarts);
  } finally {
    if (own) {
      await (store as PgStore).close();
      own.stop();
    }
  }
}

async function hammerOn(pg: Postgres, store: FileStore | PgStore, dir: string, kind: 'filesystem' | 'postgresql', perProc: number, restarts: number): Promise<void> {
  const location = kind === 'filesystem' ? dir : `${pg.url}?schema=hammer_${restarts}`;
  const initial: string[] = [];
  for (let i = 0; i < 40; i++) {
    const r = record({ hasWeights: true, fitness: i / 100 });
    await store.put(r, [Buffer.from(`w${i}`)]);
    initial.push(r.id);
  }
  const script = join(dirname(fileURLToPath(import.meta.url)), 'support', 'store-hammer.js');
  const procs = 16;
  const chaos = (async () => {
    for (let r = 0; r < restarts; r++) {
      await new Promise((res) => setTimeout(res, 2500));
      pg.ctl(['restart', '-m', 'immediate']);
    }
  })();
  const results = await Promise.all(
    Array.from(
      { length: procs },
      (_, p) =>
        new Promise<{ born: string[]; killed: string[]; collected: string[]; conflicts: number }>((res, rej) => {
          const c = spawn(process.execPath, [script, location, String(perProc), '8', '40', String(p + 1)]);
          let out = '';
          let err = '';
          c.stdout.on('data', (d) => (out += d));
          c.stderr.on('data', (d) => (err += d));
          c.on('error', rej);
          c.on('close', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`hammer ${p} exited ${code}: ${err}`))));
        }),
    ),
  );
  await chaos;
  const born = results.flatMap((r) => r.born);
  const killed = results.flatMap((r) => r.killed);
  const collected = results.flatMap((r) => r.collected);
  assert.equal(born.length, procs * perProc);
  assert.equal(new Set(born).size, born.length, 'no id born twice');
  assert.equal(new Set(killed).size, killed.length, 'no individual killed twice');
  assert.equal(new Set(collected).size, collected.length, 'no individual collected twice');
  const report = await store.check();
  assert.deepEqual(report.problems, []);
  const alive = new Set((await store.list({ state: 'alive' })).map((i) => i.id));
  const dead = new Set((await store.list({ state: 'dead' })).map((i) => i.id));
  // Conservation: every individual is alive or dead - exactly one of them; only the dead lose their weights.
  for (const id of [...initial, ...born]) {
    const where = [alive.has(id), dead.has(id)].filter(Boolean).length;
    assert.equal(where, 1, `${id} is in ${where} places`);
    if (collected.includes(id)) assert.ok(dead.has(id), `${id}: weights collected while alive`);
    assert.equal(alive.has(id), !killed.includes(id), `${id}: alive exactly when nobody killed it`);
  }
  assert.equal(alive.size, initial.length + born.length - killed.length);
  assert.ok(Math.abs(alive.size - 40) <= procs * 8, `population ${alive.size} far from its set-point`);
  if (kind === 'filesystem') assert.deepEqual(readdirSync(join(dir, 'tmp')), [], 'no half-written birth left');
}

describe('store concurrency', () => {
  // Births per process. Every step of the folder store lists the population directory, dead included, so the folder
  // hammer's time grows with the square of its births (10,000 took 7.6 min on 2 cores). The races are the same at any
  // count: 16 processes of 8 workers; HAMMER_BIRTHS=625 runs the full 10,000. Scale itself is bench:store's.
  const births = Number(process.env.HAMMER_BIRTHS ?? 100);
  it(`filesystem: 16 processes x 8 async workers, ${16 * births} reproductions: nothing lost, duplicated or half-written`, () => hammer('filesystem', births));
  it(`postgresql: the same, ${16 * births * 2} reproductions against one server`, () => hammer('postgresql', 2 * births));
  it('postgresql: the same while the server is killed and restarted twice', () => hammer('postgresql', 2 * births, 2));
});

describe('historyKeepers', () => {
  it('keeps every best-so-far at its birth and the top individuals', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const rows = [
      { id: 'a', bornAt: at(1), fitness: 0.3 },
      { id: 'b', bornAt: at(2), fitness: 0.2 },
      { id: 'c', bornAt: at(3), fitness: 0.5 },
      { id: 'd', bornAt: at(4), fitness: 0.5 },
      { id: 'e', bornAt: at(5), fitness: null },
      { id: 'f', bornAt: at(6), fitness: 0.6 },
      { id: 'g', bornAt: at(7), fitness: 0.4 },
    ];
    assert.deepEqual([...historyKeepers(rows, 0)].sort(), ['a', 'c', 'f'], 'a tie does not set a record');
    assert.deepEqual([...historyKeepers(rows, 3)].sort(), ['a', 'c', 'd', 'f']);
  });

  it("keeps the weights the report will choose: Genetic CNN's mean over duplicate bits", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const twice = zeroDNA([3]);
    let other = randomStagesDNA([3], createRng(1));
    for (let seed = 2; hashStagesDNA(other) === hashStagesDNA(twice); seed++) other = randomStagesDNA([3], createRng(seed));
    const rows = [
      { id: 'x', bornAt: at(1), fitness: 0.9, space: 'stages', dna: twice }, // lucky
      { id: 'y', bornAt: at(2), fitness: 0.1, space: 'stages', dna: twice }, // the same bits again: mean 0.5
      { id: 'z', bornAt: at(3), fitness: 0.6, space: 'stages', dna: other }, // the report's best
    ];
    const f = selectionFitness(rows);
    assert.deepEqual([f.get('x'), f.get('z')], [0.5, 0.6]);
    assert.deepEqual([...historyKeepers(rows, 1)].sort(), ['x'], "by raw fitness the report's best would lose its weights");
    assert.deepEqual([...historyKeepers(rows, 1, f)].sort(), ['x', 'z']);
  });
});
