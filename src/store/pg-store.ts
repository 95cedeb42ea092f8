/**
 * The population in PostgreSQL: one schema per experiment, chosen by a URL
 * (postgresql://user@host:5432/db?schema=exp1), so that workers on any host
 * that reaches the server share one population. The contract is the
 * filesystem store's (test/store-contract.test.ts runs both):
 * - a birth is one INSERT of the record and its weights (bytea): whole or absent;
 * - a kill is an UPDATE ... WHERE alive that exactly one caller wins;
 * - sampling draws from the alive ids in id order with the caller's random
 *   numbers, as the filesystem store does, so a seeded run repeats on both;
 * - garbage collection clears dead weights past the grace period, keeping
 *   the records (history) and the weights the report needs.
 * Connection loss is expected: each call retries with backoff until the
 * server is back (EVONAS_PG_RETRY_MS, default 5 minutes), and a birth or
 * kill whose answer was lost is recognised on retry, so nothing is counted
 * twice. The password never leaves this module: messages name the URL
 * redacted.
 */
import pg from 'pg';
import { EvonasError } from '../util/errors.js';
import { ConflictError, StoreError } from './types.js';
import type { ExperimentDocs } from './docs.js';
import type { Individual, IndividualRecord, Leases, PopulationStore, StoreCheck } from './types.js';

/** The schema version this evonas writes; a newer one in the database is refused. */
export const PG_SCHEMA_VERSION = 2;

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface StoreUrl {
  /** What pg connects with: the URL without evonas's own parameter (schema). */
  connectionString: string;
  schema: string;
  /** The URL with any password replaced by ***, for every message. */
  redacted: string;
}

/** Whether `s` names a PostgreSQL store rather than a folder. */
export function isStoreUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//.test(s);
}

/** `url` with its password (if any) replaced by ***. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

/**
 * Parses postgresql://[user[:password]@][host][:port]/database[?schema=name&...].
 * Anything missing from the URL comes from the standard PG* variables (PGHOST, PGUSER, PGPASSWORD, PGSSLMODE...), as for psql.
 * @throws {EvonasError} ERR_STORE_URL naming what is wrong (never the password).
 */
export function parseStoreUrl(url: string): StoreUrl {
  const redacted = redactUrl(url);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EvonasError('ERR_STORE_URL', `${redacted}: not a URL (expected postgresql://user@host:5432/database?schema=name)`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database && !process.env.PGDATABASE) throw new EvonasError('ERR_STORE_URL', `${redacted}: no database (expected postgresql://user@host:5432/database?schema=name, or PGDATABASE)`);
  const schema = u.searchParams.get('schema') ?? 'evonas';
  if (!SCHEMA_NAME.test(schema)) throw new EvonasError('ERR_STORE_URL', `${redacted}: schema ${JSON.stringify(schema)} must be lowercase letters, digits and _ (starting with a letter or _)`);
  u.searchParams.delete('schema');
  return { connectionString: u.toString(), schema, redacted };
}

/** Errors after which the same call may succeed: the server or the connection went away, or is starting. */
function transient(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  const message = (e as Error).message ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '53300'].includes(code) ||
    code.startsWith('08') ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)/i.test(
      message,
    )
  );
}

/** A one-line reason for a PostgreSQL failure, naming the server and never the password. */
function explain(e: unknown, where: string): string {
  const err = e as { code?: string; message?: string };
  const reason =
    err.code === '28P01'
      ? 'password authentication failed (check the user and PGPASSWORD)'
      : err.code === '3D000'
        ? `${err.message} (create it, or name another in the URL)`
        : err.code === '42501'
          ? `${err.message} (the user needs CREATE on the database, or a schema made for it)`
          : err.code === 'ECONNREFUSED'
            ? 'connection refused (is the server running and listening there?)'
            : (err.message ?? String(e));
  return `${where}: ${reason.replace(/postgres(ql)?:\/\/[^\s]*/g, (m) => redactUrl(m))}`;
}

interface Row {
  id: string;
  record: IndividualRecord;
  alive: boolean;
  died_at: string | null;
  killed_by: string | null;
  has_weights: boolean;
}

function individual(r: Row): Individual {
  return {
    ...r.record,
    state: r.alive ? 'alive' : 'dead',
    hasWeights: r.has_weights,
    ...(r.died_at ? { diedAt: r.died_at } : {}),
    ...(r.killed_by ? { killedBy: r.killed_by } : {}),
  };
}

export class PgStore implements PopulationStore {
  private readonly q: string;

  private constructor(
    private readonly pool: pg.Pool,
    readonly url: StoreUrl,
    private readonly retryMs: number,
  ) {
    this.q = `"${url.schema}"`;
  }

  /**
   * Connects (retrying while the server is unreachable for `retryMs`) and
   * makes the schema on first use.
   * @throws {EvonasError} ERR_STORE naming the server and the reason: wrong password, no such database, no permission, a schema of a newer evonas.
   */
  static async open(url: string, o: { retryMs?: number; poolSize?: number } = {}): Promise<PgStore> {
    const u = parseStoreUrl(url);
    const pool = new pg.Pool({ connectionString: u.connectionString, max: o.poolSize ?? 4, connectionTimeoutMillis: 10_000 });
    // A client whose connection drops emits 'error' (idle or between calls): the call in flight fails and is
    // retried, and the pool replaces the client, so the event itself needs no handling beyond not being unhandled.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    const store = new PgStore(pool, u, o.retryMs ?? Number(process.env.EVONAS_PG_RETRY_MS ?? 300_000));
    try {
      await store.migrate();
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
    return store;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `f`, retrying with backoff while the server is away; other failures are reported at once. */
  private async retry<T>(what: string, f: (attempt: number) => Promise<T>): Promise<T> {
    const until = Date.now() + this.retryMs;
    for (let attempt = 0, wait = 100; ; attempt++, wait = Math.min(wait * 2, 5000)) {
      try {
        return await f(attempt);
      } catch (e) {
        if (e instanceof EvonasError) throw e;
        if (!transient(e) || Date.now() + wait > until) throw new StoreError('ERR_STORE', explain(e, `${this.url.redacted}: ${what}`));
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, values);
  }

  /** Creates the schema and its tables on first use, under an advisory lock so that many workers starting at once make them once. */
  private async migrate(): Promise<void> {
    await this.retry('migrate', async () => {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`evonas:${this.url.schema}`]);
        const exists = await c.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'evonas_schema'`, [this.url.schema]);
        if (exists.rowCount) {
          const v = (await c.query<{ version: number }>(`SELECT max(version) AS version FROM ${this.q}.evonas_schema`)).rows[0]?.version ?? 0;
          if (v > PG_SCHEMA_VERSION)
            throw new EvonasError(
              'ERR_STORE_VERSION',
              `${this.url.redacted}: schema ${this.url.schema} was made by a newer evonas (version ${v}; this one reads up to ${PG_SCHEMA_VERSION}): upgrade evonas`,
            );
        } else {
          await c.query(`CREATE SCHEMA IF NOT EXISTS ${this.q}`);
          await c.query(`CREATE TABLE ${this.q}.evonas_schema (version integer NOT NULL, written_at timestamptz NOT NULL DEFAULT now())`);
          await c.query(`CREATE TABLE ${this.q}.individuals (
            id text COLLATE "C" PRIMARY KEY,
            record jsonb NOT NULL,
            alive boolean NOT NULL DEFAULT true,
            died_at text,
            killed_by text,
            has_weights boolean NOT NULL,
            weights bytea,
            CHECK (has_weights = (weights IS NOT NULL))
          )`);
          await c.query(`CREATE INDEX individuals_alive ON ${this.q}.individuals (id) WHERE alive`);
          await c.query(`CREATE TABLE ${this.q}.meta (key text PRIMARY KEY, value jsonb NOT NULL)`);
        }
        const v = exists.rowCount ? ((await c.query<{ version: number }>(`SELECT max(version) AS version FROM ${this.q}.evonas_schema`)).rows[0]?.version ?? 0) : 0;
        if (v < 2) {
          // Version 2: leases (who trains an initial individual), held by server time so that hosts' clocks do not matter.
          await c.query(`CREATE TABLE ${this.q}.leases (key text PRIMARY KEY, worker text NOT NULL, token text NOT NULL, beat timestamptz NOT NULL, released boolean NOT NULL DEFAULT false)`);
          await c.query(`INSERT INTO ${this.q}.evonas_schema (version) VALUES ($1)`, [PG_SCHEMA_VERSION]);
        }
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        c.release();
      }
    });
  }

  async put(record: IndividualRecord, weights?: Uint8Array[]): Promise<void> {
    if (!ID.test(record.id)) throw new StoreError('ERR_STORE_ID', `Expected an id of lowercase letters, digits and dashes but received ${JSON.stringify(record.id)}`);
    if (!!weights !== record.hasWeights) throw new StoreError('ERR_STORE_RECORD', `${record.id}: hasWeights is ${record.hasWeights} but weights were${weights ? '' : ' not'} given`);
    const data = weights ? Buffer.concat(weights) : null;
    const json = JSON.stringify(record);
    await this.retry(`birth of ${record.id}`, async (attempt) => {
      try {
        await this.query(`INSERT INTO ${this.q}.individuals (id, record, has_weights, weights) VALUES ($1, $2, $3, $4)`, [record.id, json, record.hasWeights, data]);
      } catch (e) {
        if ((e as { code?: string }).code !== '23505') throw e;
        // A retry of a birth whose answer was lost finds its own record: born once.
        if (attempt > 0) {
          const same = await this.query<{ same: boolean }>(`SELECT record = $2::jsonb AS same FROM ${this.q}.individuals WHERE id = $1`, [record.id, json]);
          if (same.rows[0]?.same) return;
        }
        throw new StoreError('ERR_STORE_EXISTS', `${record.id}: an individual of this id exists already (EEXIST)`);
      }
    });
  }

  async kill(id: string, by: string): Promise<'killed' | 'conflict'> {
    const diedAt = new Date().toISOString();
    return this.retry(`kill of ${id}`, async (attempt) => {
      const r = await this.query(`UPDATE ${this.q}.individuals SET alive = false, died_at = $2, killed_by = $3 WHERE id = $1 AND alive`, [id, diedAt, by]);
      if (r.rowCount === 1) return 'killed';
      if (attempt === 0) return 'conflict';
      // A retry of a kill whose answer was lost: ours if the death is ours, to the millisecond.
      const mine = await this.query(`SELECT 1 FROM ${this.q}.individuals WHERE id = $1 AND NOT alive AND died_at = $2 AND killed_by = $3`, [id, diedAt, by]);
      return mine.rowCount === 1 ? 'killed' : 'conflict';
    });
  }

  async sample(k: number, random: () => number): Promise<Individual[]> {
    // The filesystem store's draws: each picks from the alive ids not drawn yet, in id order.
    const alive = (await this.retry('sample', () => this.query<{ id: string }>(`SELECT id FROM ${this.q}.individuals WHERE alive ORDER BY id`))).rows.map((r) => r.id);
    const picked: string[] = [];
    while (picked.length < k && alive.length > 0) picked.push(alive.splice(Math.floor(random() * alive.length), 1)[0]!);
    if (picked.length === 0) return [];
    const rows = (await this.retry('sample', () => this.query<Row>(`SELECT id, record, alive, died_at, killed_by, has_weights FROM ${this.q}.individuals WHERE id = ANY($1) AND alive`, [picked])))
      .rows;
    const byId = new Map(rows.map((r) => [r.id, individual(r)]));
    return picked.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : [])); // killed meanwhile: no longer a candidate
  }

  async get(id: string): Promise<Individual | undefined> {
    const r = await this.retry('get', () => this.query<Row>(`SELECT id, record, alive, died_at, killed_by, has_weights FROM ${this.q}.individuals WHERE id = $1`, [id]));
    return r.rows[0] && individual(r.rows[0]);
  }

  async list(filter: { state?: 'alive' | 'dead' } = {}): Promise<Individual[]> {
    const where = filter.state ? `WHERE alive = ${filter.state === 'alive'}` : '';
    const r = await this.retry('list', () => this.query<Row>(`SELECT id, record, alive, died_at, killed_by, has_weights FROM ${this.q}.individuals ${where} ORDER BY id`));
    return r.rows.map(individual);
  }

  async aliveCount(): Promise<number> {
    const r = await this.retry('count', () => this.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.q}.individuals WHERE alive`));
    return Number(r.rows[0]!.n);
  }

  async readWeights(id: string): Promise<Buffer> {
    const r = await this.retry(`weights of ${id}`, () => this.query<{ weights: Buffer | null }>(`SELECT weights FROM ${this.q}.individuals WHERE id = $1`, [id]));
    const w = r.rows[0]?.weights;
    if (!w) throw new ConflictError(`${id} has no weights (gone, collected, or never had any)`);
    return w;
  }

  async collectGarbage(graceMs: number, keep: ReadonlySet<string> = new Set()): Promise<string[]> {
    const before = new Date(Date.now() - graceMs).toISOString();
    const r = await this.retry('garbage collection', () =>
      this.query<{ id: string }>(`UPDATE ${this.q}.individuals SET weights = NULL, has_weights = false WHERE NOT alive AND has_weights AND died_at < $1 AND NOT (id = ANY($2)) RETURNING id`, [
        before,
        [...keep],
      ]),
    );
    return r.rows.map((x) => x.id);
  }

  async check(): Promise<StoreCheck> {
    const r = await this.retry('check', () =>
      this.query<{ id: string; alive: boolean; record_id: string | null; has_weights: boolean; died_at: string | null }>(
        `SELECT id, alive, record->>'id' AS record_id, has_weights, died_at FROM ${this.q}.individuals ORDER BY id`,
      ),
    );
    const problems: string[] = [];
    let alive = 0;
    for (const x of r.rows) {
      if (x.alive) alive++;
      if (x.record_id !== x.id) problems.push(`${x.id}: its record names ${JSON.stringify(x.record_id)}`);
      if (!x.alive && !x.died_at) problems.push(`${x.id}: dead without a time of death`);
    }
    return { alive, dead: r.rows.length - alive, problems };
  }

  /** The experiment's documents (experiment.json, run.json, events/..., workers/...) in the meta table, by path. */
  readonly docs: ExperimentDocs = {
    read: (path) => this.readMeta(path),
    write: (path, value) => this.writeMeta(path, value),
    create: async (path, value) => {
      const r = await this.retry(`create ${path}`, async (attempt) => {
        const json = JSON.stringify(value);
        const r = await this.query(`INSERT INTO ${this.q}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [path, json]);
        if (r.rowCount === 1 || attempt === 0) return r.rowCount === 1;
        // A retry whose first answer was lost finds its own document.
        return (await this.query<{ same: boolean }>(`SELECT value = $2::jsonb AS same FROM ${this.q}.meta WHERE key = $1`, [path, json])).rows[0]?.same === true;
      });
      return r;
    },
    list: async <T>(prefix: string) => {
      const r = await this.retry(`list ${prefix}`, () => this.query<{ key: string; value: T }>(`SELECT key, value FROM ${this.q}.meta WHERE starts_with(key, $1) ORDER BY key`, [`${prefix}/`]));
      return r.rows.filter((x) => !x.key.slice(prefix.length + 1).includes('/')).map((x) => x.value);
    },
    names: async (prefix: string) => {
      const r = await this.retry(`list ${prefix}`, () => this.query<{ key: string }>(`SELECT key FROM ${this.q}.meta WHERE starts_with(key, $1) ORDER BY key`, [`${prefix}/`]));
      return r.rows.map((x) => x.key.slice(prefix.length + 1)).filter((n) => !n.includes('/'));
    },
  };

  /**
   * Leases in the leases table: a claim is a row this worker's token holds,
   * taken over only when released or when its beat (server time) is older
   * than the lease; exactly one of several claimants' upserts wins.
   */
  readonly leases: Leases = (() => {
    const held = new Map<string, string>();
    return {
      claim: async (key: string, worker: string, leaseMs: number) => {
        const token = `${worker}-${Math.random().toString(36).slice(2)}`;
        const mine = await this.retry(`claim ${key}`, async (attempt) => {
          const r = await this.query(
            `INSERT INTO ${this.q}.leases AS l (key, worker, token, beat) VALUES ($1, $2, $3, clock_timestamp())
             ON CONFLICT (key) DO UPDATE SET worker = EXCLUDED.worker, token = EXCLUDED.token, beat = EXCLUDED.beat, released = false
             WHERE l.released OR l.beat < clock_timestamp() - make_interval(secs => $4::float8 / 1000)`,
            [key, worker, token, leaseMs],
          );
          if (r.rowCount === 1 || attempt === 0) return r.rowCount === 1;
          // A retry whose first answer was lost: the token tells whether the row is ours.
          return (await this.query(`SELECT 1 FROM ${this.q}.leases WHERE key = $1 AND token = $2`, [key, token])).rowCount === 1;
        });
        if (mine) held.set(key, token);
        return mine;
      },
      holds: async (key: string) => {
        const token = held.get(key);
        if (!token) return false;
        return (await this.retry(`lease ${key}`, () => this.query(`SELECT 1 FROM ${this.q}.leases WHERE key = $1 AND token = $2 AND NOT released`, [key, token]))).rowCount === 1;
      },
      heartbeat: async (key: string) => {
        const token = held.get(key);
        if (token) await this.retry(`heartbeat ${key}`, () => this.query(`UPDATE ${this.q}.leases SET beat = clock_timestamp() WHERE key = $1 AND token = $2`, [key, token]));
      },
      release: async (key: string) => {
        const token = held.get(key);
        if (!token) return;
        held.delete(key);
        await this.retry(`release ${key}`, () => this.query(`UPDATE ${this.q}.leases SET released = true WHERE key = $1 AND token = $2`, [key, token]));
      },
      done: async (key: string) => {
        held.delete(key);
      },
    };
  })();

  /** The experiment's own files kept beside the population (experiment.json, run.json): by key. */
  async readMeta<T>(key: string): Promise<T | undefined> {
    const r = await this.retry(`read ${key}`, () => this.query<{ value: T }>(`SELECT value FROM ${this.q}.meta WHERE key = $1`, [key]));
    return r.rows[0]?.value;
  }

  async writeMeta(key: string, value: unknown): Promise<void> {
    await this.retry(`write ${key}`, () => this.query(`INSERT INTO ${this.q}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [key, JSON.stringify(value)]));
  }

  /** Whether the schema holds nothing yet (no individual, no file). */
  async empty(): Promise<boolean> {
    const r = await this.retry('count', () => this.query<{ n: string }>(`SELECT (SELECT count(*) FROM ${this.q}.individuals) + (SELECT count(*) FROM ${this.q}.meta) AS n`));
    return Number(r.rows[0]!.n) === 0;
  }

  /** The experiment's files kept beside the population (experiment.json, run.json, events...), by relative path. */
  async files(): Promise<Map<string, unknown>> {
    const r = await this.retry('files', () => this.query<{ key: string; value: unknown }>(`SELECT key, value FROM ${this.q}.meta ORDER BY key`));
    return new Map(r.rows.map((x) => [x.key, x.value]));
  }

  /**
   * Writes an experiment copied from another store in one transaction: its
   * files and each individual as it was (dead ones with their time and
   * killer). All of it or, on any failure, nothing.
   */
  async importExperiment(files: Map<string, unknown>, individuals: AsyncIterable<{ individual: Individual; weights?: Buffer }>): Promise<number> {
    const c = await this.pool.connect();
    let n = 0;
    try {
      await c.query('BEGIN');
      for (const [key, value] of files) await c.query(`INSERT INTO ${this.q}.meta (key, value) VALUES ($1, $2)`, [key, JSON.stringify(value)]);
      for await (const { individual: i, weights } of individuals) {
        const { state, diedAt, killedBy, ...record } = i;
        await c.query(`INSERT INTO ${this.q}.individuals (id, record, alive, died_at, killed_by, has_weights, weights) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
          i.id,
          JSON.stringify({ ...record, hasWeights: weights !== undefined }),
          state === 'alive',
          diedAt ?? null,
          killedBy ?? null,
          weights !== undefined,
          weights ?? null,
        ]);
        n++;
      }
      await c.query('COMMIT');
      return n;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      if (e instanceof EvonasError) throw e;
      throw new StoreError('ERR_STORE', explain(e, `${this.url.redacted}: copy`));
    } finally {
      c.release();
    }
  }
}
