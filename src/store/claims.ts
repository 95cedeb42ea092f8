/**
 * Leases on a shared filesystem with two primitives only (exclusive create by
 * hard link, and mtime), so that workers on several hosts can share out work
 * without a lock server: who trains a generational slot, who trains an
 * initial individual.
 *
 *   <root>/<key>/<n>   the n-th claim on <key>: {"worker": ..., "released"?: true}
 *
 * The claim with the highest n is the current one. It is held while it is not
 * a release and its mtime (refreshed by heartbeat) is younger than the lease.
 * Claiming, after a dead holder or a release, means creating n + 1, which
 * exactly one worker can do; nothing is ever renamed or deleted, so a claim
 * cannot be stolen between reading its age and replacing it, and a release
 * (itself a claim n + 1 that says "released") never removes another's claim.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { createFileExclusive } from '../util/fs.js';
import type { Leases } from './types.js';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

interface Claim {
  worker?: string;
  released?: boolean;
}

export class LeaseClaims {
  /** The claim number this process holds, by key. */
  private readonly held = new Map<string, number>();

  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true });
  }

  private dir(key: string): string {
    return join(this.root, key);
  }

  private top(key: string): number {
    let top = -1;
    for (const name of readdirSync(this.dir(key))) if (/^\d+$/.test(name)) top = Math.max(top, Number(name));
    return top;
  }

  /** Creates claim n on `key` unless it exists. @returns whether this call created it. */
  private create(key: string, n: number, claim: Claim): boolean {
    return createFileExclusive(join(this.dir(key), String(n)), `${JSON.stringify({ ...claim, at: new Date().toISOString() })}\n`);
  }

  /**
   * Claims `key` for `worker`, taking over a claim older than `leaseMs` or a released one.
   * @returns whether this worker holds it now.
   */
  claim(key: string, worker: string, leaseMs: number): boolean {
    mkdirSync(this.dir(key), { recursive: true });
    const n = this.top(key);
    if (n >= 0) {
      const path = join(this.dir(key), String(n));
      const claim = JSON.parse(readFileSync(path, 'utf8')) as Claim; // complete: created by link
      if (!claim.released && Date.now() - statSync(path).mtimeMs < leaseMs) return false;
    }
    if (!this.create(key, n + 1, { worker })) return false; // another worker was first
    this.held.set(key, n + 1);
    return true;
  }

  /** Whether this process's claim on `key` is still the current one. */
  holds(key: string): boolean {
    const n = this.held.get(key);
    return n !== undefined && this.top(key) === n;
  }

  /** Keeps this process's claim on `key` fresh while its work runs. */
  heartbeat(key: string): void {
    const n = this.held.get(key);
    if (n === undefined) return;
    const now = new Date();
    try {
      utimesSync(join(this.dir(key), String(n)), now, now);
    } catch (e) {
      if (code(e) !== 'ENOENT') throw e;
    }
  }

  /** Gives `key` back so another may claim it at once; does nothing unless this process holds the current claim. */
  release(key: string, worker: string): void {
    const n = this.held.get(key);
    if (n === undefined) return;
    this.held.delete(key);
    if (this.top(key) === n) this.create(key, n + 1, { worker, released: true });
  }

  /** Forgets this process's claim on `key` without releasing it: the work is done and its result marks it. */
  done(key: string): void {
    this.held.delete(key);
  }
}

/** The Leases contract over LeaseClaims (whose calls are synchronous: the generation log uses them so). */
export function asyncLeases(l: LeaseClaims): Leases {
  return {
    claim: async (key, worker, leaseMs) => l.claim(key, worker, leaseMs),
    holds: async (key) => l.holds(key),
    heartbeat: async (key) => l.heartbeat(key),
    release: async (key, worker) => l.release(key, worker),
    done: async (key) => l.done(key),
  };
}
