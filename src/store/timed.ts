/** A store wrapper that adds up the wall time spent in store calls. */
import type { Individual, IndividualRecord, PopulationStore, StoreCheck } from './types.js';

export class TimedStore implements PopulationStore {
  /** Seconds spent in store calls so far. */
  seconds = 0;
  constructor(private readonly inner: PopulationStore) {}

  private async time<T>(p: () => Promise<T>): Promise<T> {
    const t = process.hrtime.bigint();
    try {
      return await p();
    } finally {
      this.seconds += Number(process.hrtime.bigint() - t) / 1e9;
    }
  }

  put(record: IndividualRecord, weights?: Uint8Array[]): Promise<void> {
    return this.time(() => this.inner.put(record, weights));
  }
  kill(id: string, by: string): Promise<'killed' | 'conflict'> {
    return this.time(() => this.inner.kill(id, by));
  }
  sample(k: number, random: () => number): Promise<Individual[]> {
    return this.time(() => this.inner.sample(k, random));
  }
  get(id: string): Promise<Individual | undefined> {
    return this.time(() => this.inner.get(id));
  }
  list(filter?: { state?: 'alive' | 'dead' }): Promise<Individual[]> {
    return this.time(() => this.inner.list(filter));
  }
  aliveCount(): Promise<number> {
    return this.time(() => this.inner.aliveCount());
  }
  readWeights(id: string): Promise<Buffer> {
    return this.time(() => this.inner.readWeights(id));
  }
  collectGarbage(graceMs: number, keep?: ReadonlySet<string>): Promise<string[]> {
    return this.time(() => this.inner.collectGarbage(graceMs, keep));
  }
  check(): Promise<StoreCheck> {
    return this.inner.check();
  }
}
