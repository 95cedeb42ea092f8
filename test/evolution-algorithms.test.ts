// The algorithms against the real filesystem store, with a fake worker:
// fitness is a hidden quality in the DNA, and a child's quality is its
// parent's plus zero-mean noise. Selection must climb; random search must not.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { aging, algorithm, mutationsPerChild, randomSearch, resetSinceBirth, tournament, validateSchedule } from '../src/evolution/index.js';
import type { Algorithm, StepContext, StepOutcome } from '../src/evolution/index.js';
import { FileStore, newRecord } from '../src/store/index.js';
import type { Individual, IndividualRecord } from '../src/store/index.js';
import { createRng } from '../src/util/rng.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-evo-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const quality = (i: Individual) => (i.dna as { q: number }).q;
/** Width of the zero-mean noise a child's quality gets. */
const NOISE = Number(process.env.EVO_TEST_NOISE ?? 0.04);

function record(q: number, o: Partial<IndividualRecord> = {}): IndividualRecord {
  return newRecord({ worker: 'init', space: 'fake', dna: { q }, ...o });
}

async function population(size: number, seed: number) {
  const store = new FileStore(join(root, `pop-${n++}`));
  const rng = createRng(seed);
  for (let i = 0; i < size; i++) await store.put(record(0.2 + 0.1 * rng.next()));
  return store;
}

function context(store: FileStore, size: number, seed: number, worker = 'w'): StepContext {
  const rng = createRng(seed);
  let clock = 0;
  const born = () => new Date(Date.UTC(2026, 0, 1) + ++clock * 1000 + seed).toISOString();
  return {
    store,
    rng,
    populationSize: size,
    worker,
    async reproduce(parent) {
      const q = quality(parent) + (rng.next() - 0.5) * NOISE;
      await store.put(record(q, { parent: parent.id, fitness: q, bornAt: born(), worker }));
    },
    async trainInitial(ind) {
      await store.put(record(quality(ind), { parent: ind.id, fitness: quality(ind), bornAt: born(), worker }));
      await store.kill(ind.id, worker);
    },
  };
}

async function run(alg: Algorithm, ctx: StepContext, steps: number): Promise<Map<StepOutcome, number>> {
  const seen = new Map<StepOutcome, number>();
  for (let i = 0; i < steps; i++) {
    const o = await alg.step(ctx);
    seen.set(o, (seen.get(o) ?? 0) + 1);
  }
  return seen;
}

const meanFitness = async (store: FileStore) => {
  const alive = await store.list({ state: 'alive' });
  return alive.reduce((a, i) => a + (i.fitness ?? 0), 0) / alive.length;
};

describe('evolution algorithms', () => {
  it('a pairwise step with one individual left reproduces it while the population is short, instead of idling forever', async () => {
    const store = await population(1, 5);
    const ctx = context(store, 4, 5);
    for (const alg of [tournament, randomSearch]) {
      const first = await alg.step(ctx); // the lone initial individual is trained first
      assert.ok(first === 'trained-initial' || first === 'reproduced', `${alg.name}: ${first}`);
    }
    const seen = await run(tournament, ctx, 6);
    assert.ok((seen.get('reproduced') ?? 0) >= 1, JSON.stringify([...seen]));
    assert.ok((await store.aliveCount()) >= 2, 'the population grows back toward its set-point');
    // At the set-point a lone individual stays as it is (a set-point of 1 has no pair to judge).
    const one = await population(1, 6);
    const ctx1 = context(one, 1, 6);
    assert.equal(await tournament.step(ctx1), 'trained-initial');
    assert.equal(await tournament.step(ctx1), 'idle');
  });

  it('tournament trains the untrained first, holds the set-point, and climbs', async () => {
    const store = await population(20, 1);
    const ctx = context(store, 20, 1);
    const first = await tournament.step(ctx);
    assert.equal(first, 'trained-initial');
    const seen = await run(tournament, ctx, 1500);
    assert.ok((seen.get('reproduced') ?? 0) > 1000, JSON.stringify([...seen]));
    // each step at the set-point kills one and adds one
    assert.equal(await store.aliveCount(), 20);
    const alive = await store.list({ state: 'alive' });
    assert.ok(
      alive.every((i) => i.fitness !== null),
      'every survivor was trained',
    );
    assert.ok((await meanFitness(store)) > 0.6, `mean fitness ${await meanFitness(store)} from about 0.25`);
    assert.deepEqual((await store.check()).problems, []);
  });

  it('one pair both kills and reproduces: the worse dies, the better is the parent', async () => {
    const store = await population(10, 4);
    const ctx = context(store, 10, 4);
    for (let i = 0; i < 10; i++) await tournament.step(ctx); // trains the initial population
    let checked = 0;
    for (let i = 0; i < 60; i++) {
      let pair: Individual[] = [];
      const spy = { ...ctx, store: Object.assign(Object.create(store) as FileStore, { sample: async (k: number, r: () => number) => (pair = await store.sample(k, r)) }) };
      let parent: Individual | undefined;
      const o = await tournament.step({
        ...spy,
        reproduce: async (p) => {
          parent = p;
          await ctx.reproduce(p);
        },
      });
      if (o !== 'reproduced' || pair.some((p) => p.fitness === null)) continue;
      const [worse, better] = [...pair].sort((a, b) => a.fitness! - b.fitness!);
      assert.equal(parent!.id, better!.id, 'the better of the pair is the parent');
      assert.equal((await store.get(worse!.id))!.state, 'dead', 'the worse of the same pair is killed');
      assert.equal(await store.aliveCount(), 10);
      checked++;
    }
    assert.ok(checked > 40, `checked ${checked}`);
  });

  it('after a weight reset, every individual alive at the reset is retrained before it competes', async () => {
    const store = await population(8, 5);
    const ctx = context(store, 8, 5);
    for (let i = 0; i < 40; i++) await tournament.step(ctx);
    const resetAt = new Date(Date.UTC(2026, 0, 1) + 10_000_000).toISOString(); // after every birth so far
    const before = new Set((await store.list({ state: 'alive' })).map((i) => i.id));
    const retrained: string[] = [];
    let born = 0;
    const afterReset: StepContext = {
      ...ctx,
      stale: (i) => i.bornAt < resetAt,
      async trainInitial(i) {
        retrained.push(i.id);
        await store.put(record(quality(i), { parent: i.id, fitness: quality(i), bornAt: new Date(Date.parse(resetAt) + retrained.length).toISOString(), worker: 'w' }));
        await store.kill(i.id, 'w');
      },
      async reproduce(p) {
        assert.ok(p.bornAt >= resetAt, `parent ${p.id} competed with its pre-reset fitness`);
        const q = quality(p) + (ctx.rng.next() - 0.5) * NOISE;
        await store.put(record(q, { parent: p.id, fitness: q, bornAt: new Date(Date.parse(resetAt) + 1000 + retrained.length + ++born).toISOString(), worker: 'w' }));
      },
    };
    for (let i = 0; i < 80; i++) await tournament.step(afterReset);
    assert.deepEqual(new Set(retrained), before, 'each one alive at the reset, once');
    assert.ok((await store.list({ state: 'alive' })).every((i) => !before.has(i.id)));
  });

  it('random search, with the same budget, does not climb', async () => {
    const store = await population(20, 1);
    await run(randomSearch, context(store, 20, 1), 1500);
    assert.equal(await store.aliveCount(), 20);
    // measured over seeds 1-5: 0.17 to 0.33 (neutral drift), against tournament's 1.0 and more
    assert.ok((await meanFitness(store)) < 0.45, `mean fitness ${await meanFitness(store)}`);
  });

  it('aging reproduces the best of its sample and removes the oldest', async () => {
    const store = await population(10, 2);
    const ctx = context(store, 10, 2);
    for (let i = 0; i < 400; i++) {
      const alive = await store.list({ state: 'alive' });
      const before = new Set(alive.map((a) => a.id));
      const o = await aging(5).step(ctx);
      if (o === 'reproduced' && alive.length >= 10 && alive.every((a) => a.fitness !== null)) {
        const after = new Set((await store.list({ state: 'alive' })).map((a) => a.id));
        const [gone] = [...before].filter((id) => !after.has(id));
        const oldest = alive.reduce((p, c) => (c.bornAt < p.bornAt || (c.bornAt === p.bornAt && c.id < p.id) ? c : p));
        assert.equal(gone, oldest.id, 'the oldest goes');
      }
      assert.ok((await store.aliveCount()) <= 10);
    }
    assert.ok((await meanFitness(store)) > 0.45, `mean fitness ${await meanFitness(store)}`);
  });

  it('steps from many concurrent workers keep the store clean and the population near its set-point', async () => {
    const store = await population(30, 3);
    const workers = Array.from({ length: 6 }, (_, w) => run(algorithm('tournament'), context(store, 30, 10 + w, `w${w}`), 150));
    const seen = await Promise.all(workers);
    const conflicts = seen.reduce((a, s) => a + (s.get('conflict') ?? 0), 0);
    assert.ok(conflicts >= 0);
    assert.deepEqual((await store.check()).problems, []);
    const alive = await store.aliveCount();
    assert.ok(alive >= 30 - 6 && alive <= 30 + 6, `alive ${alive}`);
  });

  it('one worker with a fixed seed repeats: two runs make the same individuals with the same fitnesses', async () => {
    const history = async () => {
      const store = await population(12, 6);
      await run(tournament, context(store, 12, 6), 300);
      // in birth order (ids sort so); the ids themselves carry the time and differ
      return (await store.list()).map((i) => [i.parent === null ? 'initial' : 'child', quality(i), i.fitness, i.state]);
    };
    const [a, b] = [await history(), await history()];
    assert.ok(a.length > 250, `only ${a.length} individuals`);
    assert.deepEqual(b, a);
  });

  it('refuses an unknown algorithm and a bad aging sample size', () => {
    assert.throws(() => algorithm('hill-climb' as never), /Expected one of tournament, aging, random but received "hill-climb"/);
    assert.throws(() => aging(0), /sample size >= 1/);
  });
});

describe('schedules', () => {
  it('raise the mutation rate during their periods and reset weights after set times', () => {
    const s = validateSchedule({ mutationRate: [{ from: 100, to: 200, k: 5 }], weightResets: [300, 600] });
    assert.equal(mutationsPerChild(s, 99), 1);
    assert.equal(mutationsPerChild(s, 100), 5);
    assert.equal(mutationsPerChild(s, 200), 1);
    assert.equal(resetSinceBirth(s, 250, 299), false);
    assert.equal(resetSinceBirth(s, 250, 300), true);
    assert.equal(resetSinceBirth(s, 300, 599), false, 'born at the reset: already reset');
    assert.equal(resetSinceBirth({}, 0, 1e9), false);
    assert.throws(() => validateSchedule({ mutationRate: [{ from: 5, to: 5, k: 2 }] }), /schedule\.mutationRate\[0\]: expected 0 <= from < to/);
    assert.throws(() => validateSchedule({ mutationRate: [{ from: 0, to: 5, k: 0 }] }), /schedule\.mutationRate\[0\]\.k/);
  });
});
