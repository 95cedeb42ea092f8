/**
 * The shared state of a generational run beside the population store, on the
 * same filesystem and with the same two primitives (exclusive create and
 * rename), so that workers on several hosts coordinate without a lock:
 *
 *   generations/<t>.plan.json    the plan of generation t, created once (a hard link fails if it exists)
 *   generations/<t>.claims/<k>   slot k of generation t is being trained by the worker named inside
 *   generations/<t>.stats.json   the generation's statistics, once it is complete
 *
 * A worker keeps its claim fresh (mtime) while it trains; a claim older than
 * the lease belongs to a dead worker, and the first to rename it away may
 * claim the slot again.
 */
import { linkSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../util/fs.js';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

export class GenerationFiles {
  readonly root: string;

  constructor(dir: string) {
    this.root = join(dir, 'generations');
    mkdirSync(this.root, { recursive: true });
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
    const tmp = join(this.root, `.${t}.plan.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    writeFileAtomic(tmp, JSON.stringify(plan) + '\n');
    try {
      linkSync(tmp, join(this.root, `${t}.plan.json`));
      return true;
    } catch (e) {
      if (code(e) === 'EEXIST') return false;
      throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  private claimPath(t: number, slot: number): string {
    return join(this.root, `${t}.claims`, String(slot));
  }

  /** Claims slot `slot` of generation t, taking over a claim older than `leaseMs`. @returns whether this worker holds it now. */
  claim(t: number, slot: number, worker: string, leaseMs: number): boolean {
    const path = this.claimPath(t, slot);
    mkdirSync(join(this.root, `${t}.claims`), { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, JSON.stringify({ worker, at: new Date().toISOString() }) + '\n');
        closeSync(fd);
        return true;
      } catch (e) {
        if (code(e) !== 'EEXIST') throw e;
      }
      let age: number;
      try {
        age = Date.now() - statSync(path).mtimeMs;
      } catch (e) {
        if (code(e) === 'ENOENT') continue; // released meanwhile: try again
        throw e;
      }
      if (age < leaseMs) return false;
      try {
        // Only one renamer wins; the others find it gone and give way.
        renameSync(path, `${path}.stale.${randomBytes(4).toString('hex')}`);
      } catch (e) {
        if (code(e) === 'ENOENT') return false;
        throw e;
      }
    }
    return false;
  }

  /** Keeps a claim fresh while its worker trains. */
  heartbeat(t: number, slot: number): void {
    const now = new Date();
    try {
      utimesSync(this.claimPath(t, slot), now, now);
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
    }
  }

  /** Gives a slot back (a stopping worker), so another may take it at once. */
  release(t: number, slot: number): void {
    rmSync(this.claimPath(t, slot), { force: true });
  }

  writeStats(t: number, stats: unknown): void {
    writeFileAtomic(join(this.root, `${t}.stats.json`), JSON.stringify(stats) + '\n');
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
