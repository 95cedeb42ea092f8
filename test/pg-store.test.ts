// The PostgreSQL store beyond the shared contract (store-contract.test.ts):
// bad URLs and refusing servers give one line that names the fault and
// never the password, a schema of a newer evonas is refused, and `evonas
// store migrate` copies an experiment to PostgreSQL and back unchanged. A
// real server, started for these tests.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EDGES, formatCell, NB201_OPS } from '../src/spaces/nb201/index.js';
import { FileStore, newRecord, parseStoreUrl, PgStore, redactUrl } from '../src/store/index.js';
import { runCli } from './support/cli.js';
import { startPostgres } from './support/postgres.js';
import type { Postgres } from './support/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-pg-'));
let pg: Postgres;
before(async () => {
  pg = await startPostgres();
});
after(() => {
  pg?.stop();
  rmSync(root, { recursive: true, force: true });
});

const env = { EVONAS_PG_RETRY_MS: '1500' }; // refusing servers are reported quickly in these tests

describe('PostgreSQL store: URLs and refusals', () => {
  it('parses the schema out of the URL and redacts the password everywhere', () => {
    const u = parseStoreUrl('postgresql://ann:s3cret@db.example:5433/lab?schema=exp_1&sslmode=require');
    assert.equal(u.schema, 'exp_1');
    assert.equal(u.redacted, 'postgresql://ann:***@db.example:5433/lab?schema=exp_1&sslmode=require');
    assert.doesNotMatch(u.connectionString, /schema=/);
    assert.match(u.connectionString, /sslmode=require/);
    assert.equal(redactUrl('postgres://ann@h/db'), 'postgres://ann@h/db');
    assert.throws(
      () => parseStoreUrl('postgresql://ann:s3cret@h:5432/?schema=x'),
      (e: Error) => /no database/.test(e.message) && !e.message.includes('s3cret'),
    );
    assert.throws(() => parseStoreUrl('postgresql://h/db?schema=Bad-Name'), /schema "Bad-Name" must be lowercase letters, digits and _/);
  });

  it('an unreachable server, a wrong password, a missing database and a user without CREATE: one line each, no password, exit 1, nothing created', async () => {
    const good = new URL(pg.url);
    const cases: [string, string, RegExp][] = [
      ['unreachable', `postgresql://evonas:${pg.password}@127.0.0.1:1/evonas?schema=a`, /127\.0\.0\.1:1\/evonas\?schema=a: migrate: connection refused/],
      ['wrong password', `postgresql://evonas:not-it@127.0.0.1:${good.port}/${pg.database}?schema=a`, /password authentication failed/],
      ['no database', `postgresql://evonas:${pg.password}@127.0.0.1:${good.port}/nodb?schema=a`, /database "nodb" does not exist/],
    ];
    const reader = `reader_${pg.database}`; // roles belong to the whole server, which other test files may share
    pg.sql(`CREATE ROLE ${reader} LOGIN PASSWORD 'reader-pw'; REVOKE CREATE ON DATABASE ${pg.database} FROM PUBLIC;`);
    cases.push(['no CREATE', `postgresql://${reader}:reader-pw@127.0.0.1:${good.port}/${pg.database}?schema=a`, new RegExp(`permission denied for database ${pg.database} \\(the user needs CREATE`)]);
    for (const [what, url, expected] of cases) {
      const r = await runCli(['store', 'check', url], { env });
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, expected, what);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
      for (const secret of [pg.password, 'not-it', 'reader-pw']) assert.ok(!r.stderr.includes(secret), `${what}: the password is printed`);
    }
    assert.equal(pg.sql(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'a'`).trim(), '0', 'nothing half-created');
  });

  it('makes its schema on first use and refuses one made by a newer evonas', async () => {
    const s = await PgStore.open(`${pg.url}?schema=newer`);
    await s.close();
    pg.sql('INSERT INTO newer.evonas_schema (version) VALUES (99)');
    await assert.rejects(PgStore.open(`${pg.url}?schema=newer`), /schema newer was made by a newer evonas \(version 99; this one reads up to 2\): upgrade evonas/);
  });

  it('upgrades a version-1 schema (no leases table) in place, keeping its population', async () => {
    const s = await PgStore.open(`${pg.url}?schema=old`);
    await s.put(newRecord({ worker: 'test', space: 'graph', dna: {} }));
    await s.close();
    pg.sql('DROP TABLE old.leases; DELETE FROM old.evonas_schema WHERE version = 2;'); // as evonas 1 left it
    const t = await PgStore.open(`${pg.url}?schema=old`);
    try {
      assert.equal(await t.aliveCount(), 1);
      assert.equal(await t.leases.claim('k', 'w', 60_000), true);
      assert.equal(pg.sql('SELECT max(version) FROM old.evonas_schema').trim(), '2');
    } finally {
      await t.close();
    }
  });
});

describe('evonas store migrate', () => {
  it('copies an experiment folder to PostgreSQL and back: the same individuals, weights, files and report', async () => {
    // A table-driven experiment (a real one, made in seconds), plus individuals with weights, some dead.
    const csv = join(root, 'table.csv');
    const lines = ['index,cell,cifar10_valid_12ep,cifar10_test_200ep'];
    for (let n = 0; n < 5 ** 6; n++) {
      const cell = formatCell(EDGES.map((_, e) => NB201_OPS[Math.floor(n / 5 ** e) % 5]!));
      lines.push(`${n},${cell},${(30 + (n % 61)).toFixed(2)},${(35 + (n % 61)).toFixed(2)}`);
    }
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const exp = join(root, 'exp');
    const evolve = await runCli([
      'evolve',
      '--space',
      'nb201',
      '--evaluator',
      'table',
      '--benchmark',
      csv,
      '--dataset',
      'cifar10',
      '--out',
      exp,
      '--max-children',
      '200',
      '--population',
      '20',
      '--workers',
      '4',
    ]);
    assert.equal(evolve.code, 0, evolve.stderr);
    const folder = new FileStore(exp);
    const weighted = newRecord({ worker: 'test', space: 'nb201', dna: { cell: formatCell(EDGES.map(() => 'skip_connect' as const)) }, fitness: 0.01, hasWeights: true });
    await folder.put(weighted, [Buffer.from('weights-bytes')]);
    await folder.kill(weighted.id, 'tester');
    const report = async (dir: string) => {
      const r = await runCli(['report', dir]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(readFileSync(join(dir, 'report', 'summary.json'), 'utf8'));
    };
    const before = await report(exp);

    const url = `${pg.url}?schema=migrated`;
    const there = await runCli(['store', 'migrate', exp, url]);
    assert.equal(there.code, 0, there.stderr);
    assert.match(there.stdout, /copied 221 individuals and \d+ files to postgresql:\/\/evonas:\*\*\*@/);
    assert.ok(!there.stdout.includes(pg.password));
    const check = await runCli(['store', 'check', url]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /: 20 alive, 201 dead, 0 problems/);
    // The report read straight from PostgreSQL picks the same best with the same test accuracy.
    const fromPg = await runCli(['report', url, '--out', join(root, 'pg-report')]);
    assert.equal(fromPg.code, 0, fromPg.stderr);
    const pgSummary = JSON.parse(readFileSync(join(root, 'pg-report', 'summary.json'), 'utf8'));
    assert.equal(pgSummary.best.id, before.best.id);
    assert.equal(pgSummary.best.testAccuracy, before.best.testAccuracy);
    assert.deepEqual(pgSummary.bestSoFar, before.bestSoFar);
    const again = await runCli(['store', 'migrate', exp, url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /schema migrated holds an experiment already/);

    const back = join(root, 'back');
    const home = await runCli(['store', 'migrate', url, back]);
    assert.equal(home.code, 0, home.stderr);
    const a = await new FileStore(exp).list();
    const b = await new FileStore(back).list();
    assert.deepEqual(b, a, 'every individual as it was: state, time of death, killer, record');
    assert.equal((await new FileStore(back).readWeights(weighted.id)).toString(), 'weights-bytes');
    for (const f of ['experiment.json', 'run.json', join('workers', 'simulated.json')])
      assert.deepEqual(JSON.parse(readFileSync(join(back, f), 'utf8')), JSON.parse(readFileSync(join(exp, f), 'utf8')), f);
    const after = await report(back);
    assert.equal(after.best.id, before.best.id);
    assert.equal(after.best.testAccuracy, before.best.testAccuracy);
    assert.deepEqual(after.bestSoFar, before.bestSoFar);

    const occupied = await runCli(['store', 'migrate', url, back]);
    assert.equal(occupied.code, 1);
    assert.match(occupied.stderr, /back: not empty/);
    assert.equal(existsSync(`${back}.partial-${process.pid}`), false);
  });
});
