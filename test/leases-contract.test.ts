// The contract every backend of Leases and GenerationLog keeps (the
// filesystem's today): what the workers rely on to share out slots and
// initial trainings without a lock server. Two instances are two workers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { asyncLeases } from '../src/store/claims.js';
import { FolderDocs } from '../src/store/docs.js';
import { GenerationLedger, LeaseClaims, PgStore } from '../src/store/index.js';
import type { GenerationLog, Leases } from '../src/store/index.js';
import { postgresBin, startPostgres } from './support/postgres.js';
import type { Postgres } from './support/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-leases-'));
after(() => rmSync(root, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// PostgreSQL: each instance is its own connection pool on one schema per
// test (the dir's last part), as two workers on two hosts would be.
let server: Postgres | undefined;
const stores: PgStore[] = [];
after(async () => {
  for (const s of stores) await s.close();
  server?.stop();
});
async function pgStoreFor(dir: string): Promise<PgStore> {
  server ??= await startPostgres();
  const s = await PgStore.open(`${server.url}?schema=${dir.split('/').pop()!.replace(/-/g, '_')}`);
  stores.push(s);
  return s;
}

const backends: Record<string, { leases: (dir: string) => Promise<Leases>; generations: (dir: string) => Promise<GenerationLog> }> = {
  filesystem: {
    leases: async (dir) => asyncLeases(new LeaseClaims(dir)),
    generations: async (dir) => new GenerationLedger(new FolderDocs(dir), asyncLeases(new LeaseClaims(join(dir, 'leases')))),
  },
  ...(postgresBin()
    ? {
        postgresql: {
          leases: async (dir: string) => (await pgStoreFor(dir)).leases,
          generations: async (dir: string) => {
            const s = await pgStoreFor(dir);
            return new GenerationLedger(s.docs, s.leases);
          },
        },
      }
    : {}),
};

for (const [name, make] of Object.entries(backends)) {
  describe(`leases contract: ${name}`, () => {
    it('one holder at a time; a release or an expired lease frees the key for exactly the next claimant', async () => {
      const dir = join(root, `${name}-leases`);
      const [a, b, c] = [await make.leases(dir), await make.leases(dir), await make.leases(dir)];
      assert.equal(await a.claim('k', 'a', 60_000), true);
      assert.equal(await b.claim('k', 'b', 60_000), false, 'held');
      assert.equal(await a.holds('k'), true);
      await b.release('k', 'b'); // not b's: nothing happens
      assert.equal(await c.claim('k', 'c', 60_000), false);
      await a.release('k', 'a');
      assert.equal(await a.holds('k'), false);
      assert.equal(await b.claim('k', 'b', 60_000), true, 'released: free at once');
      assert.equal(await c.claim('k', 'c', 60_000), false, 'and taken by one');
      await sleep(120);
      assert.equal(await c.claim('k', 'c', 100), true, "b's lease ran out without a heartbeat");
      assert.equal(await b.holds('k'), false, 'the old holder learns it lost the key');
      await b.release('k', 'b');
      assert.equal(await c.holds('k'), true, "a stale holder's release never removes the new claim");
    });

    it('a heartbeat keeps a claim; done forgets it without freeing the key', async () => {
      const dir = join(root, `${name}-beat`);
      const [a, b] = [await make.leases(dir), await make.leases(dir)];
      assert.equal(await a.claim('k', 'a', 150), true);
      for (let i = 0; i < 4; i++) {
        await sleep(60);
        await a.heartbeat('k');
        assert.equal(await b.claim('k', 'b', 150), false, `fresh after ${60 * (i + 1)} ms`);
      }
      await a.done('k');
      assert.equal(await b.claim('k', 'b', 150), false, 'done is not a release');
      await a.release('k', 'a'); // forgotten: nothing to release
      assert.equal(await b.claim('k', 'b', 150), false);
    });
  });

  describe(`generation log contract: ${name}`, () => {
    it('plans are created once; latest, slot claims and statistics in order', async () => {
      const dir = join(root, `${name}-gens`);
      const [g, h] = [await make.generations(dir), await make.generations(dir)];
      assert.equal(await g.latest(), -1);
      assert.equal(await g.createPlan(0, { slots: 2 }), true);
      assert.equal(await h.createPlan(0, { slots: 3 }), false, 'a second plan for generation 0 is refused');
      assert.deepEqual(await h.readPlan(0), { slots: 2 });
      assert.equal(await h.createPlan(1, { slots: 2 }), true);
      assert.equal(await g.latest(), 1);
      assert.equal(await g.claim(1, 0, 'g', 60_000), true);
      assert.equal(await h.claim(1, 0, 'h', 60_000), false);
      assert.equal(await h.claim(1, 1, 'h', 60_000), true, 'slots are separate keys');
      await g.release(1, 0, 'g');
      assert.equal(await h.claim(1, 0, 'h', 60_000), true);
      await h.writeStats(1, { t: 1 });
      await g.writeStats(0, { t: 0 });
      assert.deepEqual(await g.stats(), [{ t: 0 }, { t: 1 }]);
      await h.writeStats(10, { t: 10 });
      assert.deepEqual(await g.stats(), [{ t: 0 }, { t: 1 }, { t: 10 }], 'in numeric order, not text order');
    });
  });
}
