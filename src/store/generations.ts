/**
 * The shared state of a generational run beside the population, in the
 * experiment's documents and leases, so that it lives wherever the
 * experiment does (a folder or PostgreSQL):
 *
 *   generations/<t>.plan.json    the plan of generation t, created once (exclusive create)
 *   generations/<t>.stats.json   the generation's statistics, once it is complete
 *   lease generation-<t>-<k>     who trains slot k of generation t
 *
 * A worker keeps its claim fresh while it trains; a claim older than the
 * lease belongs to a dead worker, and exactly one other worker may take it.
 */
import type { ExperimentDocs } from './docs.js';
import { StoreError } from './types.js';
import type { GenerationLog, Leases } from './types.js';

const number = (pattern: RegExp) => (names: string[]) =>
  names
    .map((n) => pattern.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
const plans = number(/^(\d+)\.plan\.json$/);
const statsFiles = number(/^(\d+)\.stats\.json$/);

export class GenerationLedger implements GenerationLog {
  constructor(
    private readonly docs: ExperimentDocs,
    private readonly leases: Leases,
  ) {}

  async latest(): Promise<number> {
    return plans(await this.docs.names('generations')).at(-1) ?? -1;
  }

  async readPlan<T>(t: number): Promise<T> {
    const plan = await this.docs.read<T>(`generations/${t}.plan.json`);
    if (plan === undefined) throw new StoreError('ERR_STORE', `generation ${t} has no plan`);
    return plan;
  }

  createPlan(t: number, plan: unknown): Promise<boolean> {
    return this.docs.create(`generations/${t}.plan.json`, plan);
  }

  claim(t: number, slot: number, worker: string, leaseMs: number): Promise<boolean> {
    return this.leases.claim(`generation-${t}-${slot}`, worker, leaseMs);
  }

  heartbeat(t: number, slot: number): Promise<void> {
    return this.leases.heartbeat(`generation-${t}-${slot}`);
  }

  release(t: number, slot: number, worker: string): Promise<void> {
    return this.leases.release(`generation-${t}-${slot}`, worker);
  }

  writeStats(t: number, stats: unknown): Promise<void> {
    return this.docs.write(`generations/${t}.stats.json`, stats);
  }

  async stats<T>(): Promise<T[]> {
    const out: T[] = [];
    for (const t of statsFiles(await this.docs.names('generations'))) out.push((await this.docs.read<T>(`generations/${t}.stats.json`))!);
    return out;
  }
}
