/**
 * The shared state of a generational run beside the population store, on the
 * same filesystem and with the same two primitives (exclusive create and
 * rename), so that workers on several hosts coordinate without a lock:
 *
 *   generations/<t>.plan.json    the plan of generation t, created once (a hard link fails if it exists)
 *   generations/leases/<t>-<k>/  the claims on slot k of generation t (LeaseClaims)
 *   generations/<t>.stats.json   the generation's statistics, once it is complete
 *
 * A worker keeps its claim fresh while it trains; a claim older than the
 * lease belongs to a dead worker, and exactly one other worker may take it.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileExclusive, writeFileAtomic } from '../util/fs.js';
import { LeaseClaims } from './claims.js';
import type { GenerationLog } from './types.js';

export class GenerationFiles implements GenerationLog {
  readonly root: string;

  constructor(dir: string) {
    this.root = join(dir, 'generations');
    mkdirSync(this.root, { recursive: true });
    this.leases = new LeaseClaims(join(this.root, 'leases'));
  }

  /** The highest generation with a plan, or -1. */
  latest(): number {
    let t = -1;
    for (const name of readdirSync(this.root)) {
      const m = /^(\d+)\.plan\.json$/.exec(name);
      if (m) t = Math.max(t, Number(m[1]));
    }
    return t;
  }

  readPlan<T>(t: number): T {
    return JSON.parse(readFileSync(join(this.root, `${t}.plan.json`), 'utf8')) as T;
  }

  /** Writes generation t's plan unless one exists. @returns whether this call created it. */
  createPlan(t: number, plan: unknown): boolean {
    return createFileExclusive(join(this.root, `${t}.plan.json`), `${JSON.stringify(plan)}\n`);
  }

  private readonly leases: LeaseClaims;

  /** Claims slot `slot` of generation t, taking over a claim older than `leaseMs` or a released one. @returns whether this worker holds it now. */
  claim(t: number, slot: number, worker: string, leaseMs: number): boolean {
    return this.leases.claim(`${t}-${slot}`, worker, leaseMs);
  }

  /** Keeps this worker's claim fresh while it trains. */
  heartbeat(t: number, slot: number): void {
    this.leases.heartbeat(`${t}-${slot}`);
  }

  /** Gives a slot back (a stopping worker), so another may take it at once; never another worker's claim. */
  release(t: number, slot: number, worker: string): void {
    this.leases.release(`${t}-${slot}`, worker);
  }

  writeStats(t: number, stats: unknown): void {
    writeFileAtomic(join(this.root, `${t}.stats.json`), `${JSON.stringify(stats)}\n`);
  }

  /** Every generation's statistics, in order. */
  stats<T>(): T[] {
    return readdirSync(this.root)
      .map((name) => /^(\d+)\.stats\.json$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b)
      .map((t) => JSON.parse(readFileSync(join(this.root, `${t}.stats.json`), 'utf8')) as T);
  }
}
