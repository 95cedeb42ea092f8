/**
 * A population store in this process's memory: the contract of the
 * filesystem store (test/store-contract.test.ts runs both), for runs that
 * need no other process to see them and must be fast: the simulated
 * workers of a table-driven search (bench:nb201 runs hundreds of thousands
 * of steps). Listed in id order like the filesystem store, and it samples
 * with the same draws, so a seeded run makes the same individuals on both.
 */
import { ConflictError, StoreError } from './types.js';
import type { Individual, IndividualRecord, PopulationStore, StoreCheck } from './types.js';

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
}

/** Index of `id` in the sorted `ids`, or where it would go. */
function position(ids: string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryStore implements PopulationStore {
  private readonly individuals = new Map<string, Individual>();
  private readonly weights = new Map<string, Buffer>();
  /** Alive ids, sorted: what sample draws from, in the filesystem store's order. */
  private readonly alive: string[] = [];

  async put(record: IndividualRecord, weights?: Uint8Array[]): Promise<void> {
    if (!ID.test(record.id)) throw new StoreError('ERR_STORE_ID', `Expected an id of lowercase letters, digits and dashes but received ${JSON.stringify(record.id)}`);
    if (record.hasWeights !== (weights !== undefined)) throw new StoreError('ERR_STORE_RECORD', `${record.id}: hasWeights is ${record.hasWeights} but weights were${weights ? '' : ' not'} given`);
    if (this.individuals.has(record.id)) throw new StoreError('ERR_STORE_EXISTS', `${record.id}: an individual of this id exists already (EEXIST)`);
    // A frozen copy: a caller's later change reaches nothing stored, and what is read back cannot be changed (nor needs copying).
    this.individuals.set(record.id, deepFreeze({ ...structuredClone(record), state: 'alive' }));
    if (weights) this.weights.set(record.id, Buffer.concat(weights));
    this.alive.splice(position(this.alive, record.id), 0, record.id);
  }

  async kill(id: string, by: string): Promise<'killed' | 'conflict'> {
    const i = this.individuals.get(id);
    if (i?.state !== 'alive') return 'conflict';
    this.individuals.set(id, Object.freeze({ ...i!, state: 'dead' as const, diedAt: new Date().toISOString(), killedBy: by }));
    this.alive.splice(position(this.alive, id), 1);
    return 'killed';
  }

  async sample(k: number, random: () => number): Promise<Individual[]> {
    // The filesystem store's draws: each picks from the ids not drawn yet, in order.
    const left = [...this.alive];
    const out: Individual[] = [];
    while (out.length < k && left.length > 0) {
      const [id] = left.splice(Math.floor(random() * left.length), 1);
      out.push(this.individuals.get(id!)!);
    }
    return out;
  }

  async get(id: string): Promise<Individual | undefined> {
    return this.individuals.get(id);
  }

  async list(filter: { state?: 'alive' | 'dead' } = {}): Promise<Individual[]> {
    const ids = filter.state === 'alive' ? this.alive : [...this.individuals.keys()].sort();
    return ids.map((id) => this.individuals.get(id)!).filter((i) => !filter.state || i.state === filter.state);
  }

  async aliveCount(): Promise<number> {
    return this.alive.length;
  }

  async readWeights(id: string): Promise<Buffer> {
    const w = this.weights.get(id);
    if (!w) throw new ConflictError(`${id} has no weights (gone, collected, or never had any)`);
    return Buffer.from(w);
  }

  async collectGarbage(graceMs: number, keep: ReadonlySet<string> = new Set()): Promise<string[]> {
    const now = Date.now();
    const collected: string[] = [];
    for (const [id, i] of this.individuals) {
      if (i.state !== 'dead' || keep.has(id) || !this.weights.has(id) || now - Date.parse(i.diedAt!) < graceMs) continue;
      this.weights.delete(id);
      this.individuals.set(id, Object.freeze({ ...i, hasWeights: false }));
      collected.push(id);
    }
    return collected;
  }

  async check(): Promise<StoreCheck> {
    const problems: string[] = [];
    let alive = 0;
    for (const [id, i] of this.individuals) {
      if (i.state === 'alive') alive++;
      if (i.hasWeights !== this.weights.has(id)) problems.push(`${id}: hasWeights is ${i.hasWeights} but the weights are ${this.weights.has(id) ? 'there' : 'missing'}`);
    }
    if (alive !== this.alive.length) problems.push(`alive index holds ${this.alive.length} ids for ${alive} alive individuals`);
    return { alive, dead: this.individuals.size - alive, problems };
  }
}
