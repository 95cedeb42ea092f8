/**
 * The filesystem backend, as in the paper: one directory per individual under
 * population/, its state in the directory's name (<id>.alive, <id>.dead).
 * A birth is staged under tmp/ and renamed into place; a kill is the rename
 * <id>.alive -> <id>.dead, which exactly one caller wins (the other finds the
 * source gone: a conflict). No locks: only rename and exclusive create, so a
 * shared network filesystem works too. A dead individual's weights are
 * renamed into trash/ and deleted after a grace period; its record stays.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, StoreError } from './types.js';
import type { Individual, IndividualRecord, PopulationStore, StoreCheck } from './types.js';

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
const ENTRY = /^([a-z0-9][a-z0-9-]{0,63})\.(alive|dead)$/;
const RECORD = 'record.json';
const DEATH = 'death.json';
const WEIGHTS = 'weights.safetensors';

const gone = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

let sequence = 0;

/**
 * A new id, unique without coordination: time, this process's sequence
 * number, 48 random bits. Ids sort in birth order (within a millisecond too,
 * within a process), so a store listed by id is in the same order in two
 * runs of the same seeded experiment.
 */
export function newIndividualId(now = Date.now()): string {
  const seq = (sequence++ % 36 ** 4).toString(36).padStart(4, '0');
  return `${now.toString(36).padStart(9, '0')}-${seq}${randomBytes(6).toString('hex')}`;
}

async function writeDurable(path: string, chunks: (Uint8Array | string)[]): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    for (const c of chunks) await fh.write(typeof c === 'string' ? Buffer.from(c) : c);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class FileStore implements PopulationStore {
  readonly population: string;
  readonly tmp: string;
  readonly trash: string;

  constructor(readonly dir: string) {
    this.population = join(dir, 'population');
    this.tmp = join(dir, 'tmp');
    this.trash = join(dir, 'trash');
    for (const d of [this.population, this.tmp, this.trash]) mkdirSync(d, { recursive: true });
  }

  private path(id: string, state: 'alive' | 'dead'): string {
    return join(this.population, `${id}.${state}`);
  }

  async put(record: IndividualRecord, weights?: Uint8Array[]): Promise<void> {
    if (!ID.test(record.id)) throw new StoreError('ERR_STORE_ID', `Expected an id of lowercase letters, digits and dashes but received ${JSON.stringify(record.id)}`);
    if (!!weights !== record.hasWeights) throw new StoreError('ERR_STORE_RECORD', `${record.id}: hasWeights is ${record.hasWeights} but weights were${weights ? '' : ' not'} given`);
    const stage = join(this.tmp, `${record.id}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await mkdir(stage);
    try {
      if (weights) await writeDurable(join(stage, WEIGHTS), weights);
      await writeDurable(join(stage, RECORD), [JSON.stringify(record)]);
      // Fails (ENOTEMPTY/EEXIST) rather than replace when the id is taken.
      await rename(stage, this.path(record.id, 'alive'));
    } catch (e) {
      await rm(stage, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * Writes an individual as it was in another store (a dead one with its
   * time and killer), whole or not at all: for evonas store migrate.
   */
  async restore(i: Individual, weights?: Buffer): Promise<void> {
    const { state, diedAt, killedBy, ...record } = i;
    const stage = join(this.tmp, `${i.id}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await mkdir(stage);
    try {
      if (weights) await writeDurable(join(stage, WEIGHTS), [weights]);
      await writeDurable(join(stage, RECORD), [JSON.stringify({ ...record, hasWeights: weights !== undefined })]);
      if (state === 'dead') await writeDurable(join(stage, DEATH), [JSON.stringify({ diedAt, killedBy })]);
      await rename(stage, this.path(i.id, state));
    } catch (e) {
      await rm(stage, { recursive: true, force: true });
      throw e;
    }
  }

  async kill(id: string, by: string): Promise<'killed' | 'conflict'> {
    const dead = this.path(id, 'dead');
    try {
      await rename(this.path(id, 'alive'), dead);
    } catch (e) {
      if (gone(e)) return 'conflict';
      throw e;
    }
    // The kill is already done; the death note only adds when and by whom.
    const note = join(dead, `.${DEATH}.${randomBytes(4).toString('hex')}`);
    try {
      await writeDurable(note, [JSON.stringify({ diedAt: new Date().toISOString(), killedBy: by })]);
      await rename(note, join(dead, DEATH));
    } catch (e) {
      if (!gone(e)) throw e; // collected already: nothing to note
    }
    return 'killed';
  }

  /** Records are immutable once born, so each is read and parsed once per store object. */
  private readonly records = new Map<string, IndividualRecord>();
  private readonly deathNotes = new Map<string, { diedAt: string; killedBy: string }>();
  private readonly collected = new Set<string>();

  /** @param listed the state was just seen in a listing: a cached record is not checked again (a listing is a snapshot anyway). */
  private async read(id: string, state: 'alive' | 'dead', listed = false): Promise<Individual | undefined> {
    const dir = this.path(id, state);
    let record = this.records.get(id);
    try {
      if (record) {
        if (!listed) await stat(dir); // still in this state?
      } else {
        record = JSON.parse(await readFile(join(dir, RECORD), 'utf8')) as IndividualRecord;
        this.records.set(id, record);
      }
    } catch (e) {
      if (gone(e)) return undefined;
      throw new StoreError('ERR_STORE_RECORD', `${join(dir, RECORD)}: ${(e as Error).message}`);
    }
    const out: Individual = { ...record, state };
    if (state === 'dead') {
      if (record.hasWeights) {
        if (
          !this.collected.has(id) &&
          !(await stat(join(dir, WEIGHTS)).then(
            () => true,
            () => false,
          ))
        )
          this.collected.add(id);
        out.hasWeights = !this.collected.has(id);
      }
      let note = this.deathNotes.get(id);
      if (!note) {
        try {
          note = JSON.parse(await readFile(join(dir, DEATH), 'utf8')) as { diedAt: string; killedBy: string };
          this.deathNotes.set(id, note);
        } catch (e) {
          if (!gone(e)) throw e;
        }
      }
      if (note) Object.assign(out, note);
    }
    return out;
  }

  async get(id: string): Promise<Individual | undefined> {
    // Alive first: a kill moves alive to dead, never back.
    return (await this.read(id, 'alive')) ?? (await this.read(id, 'dead'));
  }

  private async entries(): Promise<{ id: string; state: 'alive' | 'dead' }[]> {
    const out: { id: string; state: 'alive' | 'dead' }[] = [];
    for (const name of await readdir(this.population)) {
      const m = ENTRY.exec(name);
      if (m) out.push({ id: m[1]!, state: m[2] as 'alive' | 'dead' });
    }
    // readdir's order is the filesystem's (a hash on ext4): sampling from it would not repeat.
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async aliveCount(): Promise<number> {
    return (await this.entries()).filter((e) => e.state === 'alive').length;
  }

  async list(filter: { state?: 'alive' | 'dead' } = {}): Promise<Individual[]> {
    const wanted = (await this.entries()).filter((e) => !filter.state || e.state === filter.state);
    const out: Individual[] = [];
    for (const e of wanted) {
      // An entry may move (killed) or vanish (collected) between the listing and the read.
      const ind = (await this.read(e.id, e.state, true)) ?? (e.state === 'alive' ? await this.read(e.id, 'dead') : undefined);
      if (ind && (!filter.state || ind.state === filter.state)) out.push(ind);
    }
    return out;
  }

  async sample(k: number, random: () => number): Promise<Individual[]> {
    const alive = (await this.entries()).filter((e) => e.state === 'alive').map((e) => e.id);
    const out: Individual[] = [];
    while (out.length < k && alive.length > 0) {
      const [id] = alive.splice(Math.floor(random() * alive.length), 1);
      const ind = await this.read(id!, 'alive');
      if (ind) out.push(ind); // killed meanwhile: no longer a candidate
    }
    return out;
  }

  async readWeights(id: string): Promise<Buffer> {
    for (const state of ['alive', 'dead'] as const) {
      try {
        return await readFile(join(this.path(id, state), WEIGHTS));
      } catch (e) {
        if (!gone(e)) throw e;
      }
    }
    throw new ConflictError(`individual ${id} has no weights any more (collected, or never had them)`);
  }

  async collectGarbage(graceMs: number, keep: ReadonlySet<string> = new Set()): Promise<string[]> {
    const now = Date.now();
    const collected: string[] = [];
    for (const e of await this.entries()) {
      if (e.state !== 'dead' || keep.has(e.id) || this.collected.has(e.id)) continue;
      const dir = this.path(e.id, 'dead');
      let died: number;
      let note = this.deathNotes.get(e.id);
      try {
        if (!note) {
          note = JSON.parse(await readFile(join(dir, DEATH), 'utf8')) as { diedAt: string; killedBy: string };
          this.deathNotes.set(e.id, note); // immutable once written: read once per store object
        }
        died = Date.parse(note.diedAt);
      } catch {
        try {
          died = (await stat(dir)).mtimeMs;
        } catch {
          continue;
        }
      }
      if (now - died < graceMs) continue;
      // The weights are the garbage; the record stays, for the history of the search.
      const doomed = join(this.trash, `${e.id}.${randomBytes(4).toString('hex')}.${WEIGHTS}`);
      try {
        await rename(join(dir, WEIGHTS), doomed);
      } catch (err) {
        if (!gone(err)) throw err;
        // Never had weights, or another collector took them: either way none to collect, now or later.
        this.collected.add(e.id);
        continue;
      }
      this.collected.add(e.id);
      await rm(doomed, { force: true });
      collected.push(e.id);
    }
    // Staging left by a worker that died mid-birth, and trash a collector left.
    for (const d of [this.tmp, this.trash]) {
      for (const name of await readdir(d)) {
        const p = join(d, name);
        try {
          if (now - (await stat(p)).mtimeMs >= graceMs) await rm(p, { recursive: true, force: true });
        } catch (err) {
          if (!gone(err)) throw err;
        }
      }
    }
    return collected;
  }

  async check(): Promise<StoreCheck> {
    const problems: string[] = [];
    const states = new Map<string, string[]>();
    for (const name of await readdir(this.population)) {
      const m = ENTRY.exec(name);
      if (!m) {
        problems.push(`population/${name}: not <id>.alive or <id>.dead`);
        continue;
      }
      states.set(m[1]!, [...(states.get(m[1]!) ?? []), m[2]!]);
    }
    let alive = 0;
    let dead = 0;
    for (const [id, s] of states) {
      if (s.length > 1) problems.push(`${id}: both alive and dead`);
      for (const state of s as ('alive' | 'dead')[]) {
        try {
          const ind = await this.read(id, state);
          if (!ind) problems.push(`${id}.${state}: no ${RECORD}`);
          else if (ind.id !== id) problems.push(`${id}.${state}: record names ${ind.id}`);
          else if (ind.hasWeights) await stat(join(this.path(id, state), WEIGHTS)).catch(() => problems.push(`${id}.${state}: ${WEIGHTS} missing`));
        } catch (e) {
          problems.push(`${id}.${state}: ${(e as Error).message}`);
        }
        if (state === 'alive') alive++;
        else dead++;
      }
    }
    return { alive, dead, problems };
  }
}

/** A record with fresh id and birth time; untrained and without weights unless `o` says otherwise. */
export function newRecord(o: Partial<IndividualRecord> & Pick<IndividualRecord, 'space' | 'dna' | 'worker'>): IndividualRecord {
  return {
    id: newIndividualId(),
    parent: null,
    bornAt: new Date().toISOString(),
    mutations: [],
    fitness: null,
    stepsTrained: 0,
    trainFlops: 0,
    validationFlops: 0,
    timing: { train: 0, evaluate: 0, store: 0, idle: 0 },
    hasWeights: false,
    ...o,
  };
}
