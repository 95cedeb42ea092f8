// A real PostgreSQL server for the tests: Debian's, started in a temporary
// folder on a free port of 127.0.0.1 with password authentication, as the
// unprivileged `postgres` user when the tests run as root (the server
// refuses root), stopped and removed by stop(). `npm test` starts one for the
// whole run (scripts/run-tests.mjs) and passes it in EVONAS_TEST_PG; each
// test file then gets a database of its own on it, dropped by stop(). A test
// that restarts its server asks for one of its own.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface Postgres {
  /** postgresql://evonas:<password>@127.0.0.1:<port>/<database> */
  url: string;
  /** The database `url` names: this caller's own. */
  database: string;
  port: number;
  password: string;
  /** Runs a server command (pg_ctl ...) as the server's user: only on a server of one's own. */
  ctl(args: string[]): void;
  /** Runs SQL as the superuser, in this caller's database unless told. */
  sql(text: string, database?: string): string;
  stop(): void;
  /** A server of one's own: what EVONAS_TEST_PG holds to share it. */
  shared?: string;
}

/** The folder of Debian's PostgreSQL programs (the newest installed), or undefined. */
export function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const v = readdirSync(base)
    .filter((d) => existsSync(join(base, d, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return v && join(base, v, 'bin');
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** What a server started for a whole run passes to the test files (EVONAS_TEST_PG, as JSON). */
interface SharedServer {
  dir: string;
  port: number;
  password: string;
}

let databases = 0;

/** A database of its own on the run's server. */
function onShared(s: SharedServer): Postgres {
  const bin = postgresBin()!;
  const root = userInfo().uid === 0;
  const psql = (text: string, database: string) => {
    const args = ['-h', s.dir, '-p', String(s.port), '-U', 'evonas', '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atc', text];
    const r = root ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, 'psql'), ...args], { encoding: 'utf8' }) : spawnSync(join(bin, 'psql'), args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${text} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const database = `t${process.pid}_${databases++}`;
  psql(`CREATE DATABASE ${database}`, 'postgres');
  return {
    url: `postgresql://evonas:${s.password}@127.0.0.1:${s.port}/${database}`,
    database,
    port: s.port,
    password: s.password,
    ctl() {
      throw new Error('the run shares one server: ask startPostgres({ own: true }) for a server to restart');
    },
    sql: (text, db = database) => psql(text, db),
    stop() {
      psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`, 'postgres');
    },
  };
}

/** A database on the run's server, or (`own`, or no server for the run) a server of one's own. */
export async function startPostgres(o: { own?: boolean } = {}): Promise<Postgres> {
  const shared = process.env.EVONAS_TEST_PG;
  if (shared && !o.own) return onShared(JSON.parse(shared) as SharedServer);
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (bash scripts/setup.sh installs Debian postgresql)');
  const root = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'evonas-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  if (root) {
    const pgUser = execFileSync('id', ['-u', 'postgres']).toString().trim();
    const pgGroup = execFileSync('id', ['-g', 'postgres']).toString().trim();
    chownSync(dir, Number(pgUser), Number(pgGroup));
    chownSync(join(dir, 'pwfile'), Number(pgUser), Number(pgGroup));
  }
  chmodSync(dir, 0o700);
  const as = (cmd: string, args: string[]) => {
    const r = root ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8' }) : spawnSync(join(bin, cmd), args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  as('initdb', ['-D', data, '-U', 'evonas', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${join(dir, 'pwfile')}`, '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const ctl = (args: string[]) => {
    as('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', ...args]);
  };
  ctl(['-o', `-p ${port} -k ${dir} -h 127.0.0.1 -c fsync=off -c max_connections=300`, 'start']);
  const sql = (text: string, database = 'evonas') => as('psql', ['-h', dir, '-p', String(port), '-U', 'evonas', '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atc', text]);
  sql('CREATE DATABASE evonas', 'postgres');
  return {
    url: `postgresql://evonas:${password}@127.0.0.1:${port}/evonas`,
    database: 'evonas',
    /** For EVONAS_TEST_PG: how the test files reach this server. */
    shared: JSON.stringify({ dir, port, password } satisfies SharedServer),
    port,
    password,
    ctl,
    sql,
    stop() {
      try {
        ctl(['stop', '-m', 'fast']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
