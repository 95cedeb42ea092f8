// Genetic CNN's generational algorithm over the shared store: plans that any
// worker computes alike, slots claimed once, duplicates averaged, the
// paper's statistics, stale claims taken over, and the stepped schedule.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { learningRateAt } from '../src/engine/fit.js';
import { validateConfig } from '../src/evolution/config.js';
import type { ExperimentConfig } from '../src/evolution/config.js';
import { settingsOf, spaceOf } from '../src/spaces/index.js';
import { evaluated, generationalStep, generationStats, initialPlan, nextPlan } from '../src/evolution/generational.js';
import type { Evaluated, GenerationalSettings, Plan } from '../src/evolution/generational.js';
import { parseBits, zeroDNA } from '../src/spaces/stages/index.js';
import type { StagesDNA } from '../src/spaces/stages/index.js';
import { folderHome } from '../src/store/home.js';
import { FileStore, GenerationLedger, newRecord } from '../src/store/index.js';
import type { IndividualRecord } from '../src/store/index.js';
import { createRng } from '../src/util/rng.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-generational-'));
after(() => rmSync(root, { recursive: true, force: true }));

const stages = spaceOf('stages');
const settings = (o: Partial<GenerationalSettings> = {}, own: object = {}): GenerationalSettings => ({
  algorithm: 'generational',
  population: 8,
  seed: 11,
  space: stages,
  settings: stages.settings.parse({ generations: 6, nodes: [3, 4, 5], ...own }),
  ...o,
});
type Op = { type: string; from?: string };
const bitsOf = (dna: unknown) => (dna as StagesDNA).bits;

const ones = (bits: string[]) => [...bits.join('')].filter((c) => c === '1').length;

describe('the generational plan', () => {
  it('is the same for every worker, selects by roulette, and never keeps the worst', () => {
    const s = settings();
    const p0 = initialPlan(s);
    assert.deepEqual(initialPlan(s), p0);
    assert.equal(p0.slots.length, 8);
    const prev: Evaluated[] = p0.slots.map((slot, k) => ({ id: `i${k}`, slot: k, dna: slot.dna, accuracy: 0.5 + k / 100, fitness: 0.5 + k / 100 }));
    const p1 = nextPlan(s, 1, prev);
    assert.deepEqual(nextPlan(s, 1, prev), p1);
    assert.notDeepEqual(nextPlan({ ...s, seed: 12 }, 1, prev), p1);
    for (const slot of p1.slots) {
      const op = slot.operations[0] as Op;
      assert.equal(op.type, 'selection');
      assert.notEqual((op as { from: string }).from, 'i0', 'the worst (r = r_min) is never selected');
      assert.ok(slot.parents.every((id) => prev.some((e) => e.id === id)));
    }
    const zeros = initialPlan(settings({}, { genetic: { initialization: 'zeros' } }));
    assert.ok(zeros.slots.every((x) => ones(bitsOf(x.dna)) === 0));
    const random = nextPlan(settings({ algorithm: 'random' }), 1, prev);
    assert.ok(
      random.slots.every((x) => x.parents.length === 0 && (x.operations[0] as Op).type === 'random'),
      'the baseline draws fresh bits',
    );
  });

  it("averages every evaluation of the same bits (the paper's rule for duplicates) and computes Table 1", () => {
    const a = parseBits('1-01 0-01-100 0-11-101-0001');
    const b = zeroDNA([3, 4, 5]);
    const rec = (generation: number, slot: number, dna: unknown, fitness: number): IndividualRecord => ({
      ...newRecord({ worker: 'w', space: 'stages', dna }),
      generation,
      slot,
      fitness,
      hasWeights: false,
    });
    const records = [rec(0, 0, a, 0.6), rec(0, 1, b, 0.5), rec(1, 0, a, 0.7), rec(1, 1, b, 0.3)];
    const g0 = evaluated(stages, records, 0, 2)!;
    assert.deepEqual(
      g0.map((e) => e.fitness),
      [0.6, 0.5],
      'generation 0 sees only itself',
    );
    const g1 = evaluated(stages, records, 1, 2)!;
    assert.deepEqual(
      g1.map((e) => e.accuracy),
      [0.7, 0.3],
    );
    assert.ok(Math.abs(g1[0]!.fitness - 0.65) < 1e-12 && Math.abs(g1[1]!.fitness - 0.4) < 1e-12);
    assert.equal(evaluated(stages, records, 1, 3), undefined, 'incomplete while a slot has no result');
    const st = generationStats(stages, 1, g1);
    assert.ok(Math.abs(st.max - 0.65) < 1e-12 && Math.abs(st.min - 0.4) < 1e-12 && Math.abs(st.mean - 0.525) < 1e-12 && Math.abs(st.median - 0.525) < 1e-12);
    assert.ok(Math.abs(st.std - 0.125) < 1e-12);
    assert.equal(st.best.bits, '1-01 0-01-100 0-11-101-0001');
    // A slow worker's slot taken over: its late second result of slot 0 (a later id) counts nowhere.
    const late = { ...rec(0, 0, a, 0.1), id: `${records[0]!.id}z` };
    const again = evaluated(stages, [...records, late], 1, 2)!;
    assert.ok(Math.abs(again[0]!.fitness - 0.65) < 1e-12, `one result per slot in the duplicate mean, found ${again[0]!.fitness}`);
    assert.equal(evaluated(stages, [...records, late], 0, 2)![0]!.id, records[0]!.id);
  });
});

describe('generational runs on the shared store', () => {
  it('three concurrent workers complete T generations, each slot trained once, with selection pressure', async () => {
    const dir = join(root, 'run');
    const store = new FileStore(dir);
    const home = folderHome(dir);
    const files = new GenerationLedger(home.docs, home.leases);
    const s = settings();
    const trained: string[] = [];
    const worker = async (w: number) => {
      const rng = createRng(w);
      const ctx = {
        store,
        files,
        settings: s,
        worker: `w${w}`,
        rng,
        leaseMs: 60_000,
        async evaluate(generation: number, slot: number, p: Plan['slots'][number]) {
          trained.push(`${generation}/${slot}`);
          await new Promise((r) => setTimeout(r, rng.int(5)));
          // A fake task where more connections are better, so selection has something to find.
          await store.put({
            ...newRecord({ worker: `w${w}`, space: 'stages', dna: p.dna }),
            generation,
            slot,
            parent: p.parents[0] ?? null,
            parents: p.parents,
            fitness: ones(bitsOf(p.dna)) / 19,
            hasWeights: false,
          });
        },
      };
      for (;;) {
        const outcome = await generationalStep(ctx);
        if (outcome === 'done') return;
        if (outcome === 'idle') await new Promise((r) => setTimeout(r, 2));
      }
    };
    await Promise.all([0, 1, 2].map(worker));
    assert.equal(trained.length, 8 * 7);
    assert.equal(new Set(trained).size, trained.length, 'no slot trained twice');
    const stats = await files.stats<ReturnType<typeof generationStats>>();
    assert.deepEqual(
      stats.map((x) => x.generation),
      [0, 1, 2, 3, 4, 5, 6],
    );
    assert.ok(stats[6]!.mean > stats[0]!.mean, `mean ${stats[0]!.mean} -> ${stats[6]!.mean}`);
    const alive = await store.list({ state: 'alive' });
    assert.equal(alive.length, 8, 'only the last generation stays alive');
    assert.ok(alive.every((r) => r.generation === 6));
    assert.deepEqual((await store.check()).problems, []);
  });

  it("a claim is exclusive while fresh and taken over once stale; a release never frees another worker's claim", async () => {
    const dir = join(root, 'claims');
    const ledger = () => {
      const home = folderHome(dir); // each call: another worker's view
      return new GenerationLedger(home.docs, home.leases);
    };
    const files = ledger();
    assert.equal(await files.claim(0, 3, 'a', 1000), true);
    assert.equal(await files.claim(0, 3, 'b', 1000), false);
    const old = new Date(Date.now() - 5000);
    utimesSync(join(dir, 'leases', 'generation-0-3', '0'), old, old);
    const other = ledger();
    assert.equal(await other.claim(0, 3, 'b', 1000), true, 'stale: its worker is gone');
    await files.release(0, 3, 'a'); // the slow worker gives back what is no longer its own
    assert.equal(await files.claim(0, 3, 'c', 1000), false, "b's claim stands");
    await other.release(0, 3, 'b');
    assert.equal(await files.claim(0, 3, 'c', 1000), true, 'released: free at once');
    assert.equal(await files.createPlan(0, { x: 1 }), true);
    assert.equal(await files.createPlan(0, { x: 2 }), false);
    assert.deepEqual(await files.readPlan(0), { x: 1 }, 'the first plan stands');
  });

  it('concurrent processes: each lease has one holder, also when a short lease expires during the test', async () => {
    const dir = join(root, 'race');
    const child = fileURLToPath(new URL('./support/claim-child.js', import.meta.url));
    const start = Date.now() + 5000; // time for 12 processes to start, also on a loaded 2-core machine
    const race = (workers: number, o: { startAt: number; holdMs: number; dies: (w: number) => boolean }) =>
      Promise.all(
        Array.from(
          { length: workers },
          (_, w) =>
            new Promise<{ won: string[]; stillHeld: string[] }>((resolve, reject) => {
              const args = [child, dir, `${o.startAt}-w${w}`, '40', String(o.startAt), '400', String(o.holdMs), o.dies(w) ? '1' : '0'];
              execFile(process.execPath, args, (err, out) => (err ? reject(err) : resolve(JSON.parse(out.trim()) as { won: string[]; stillHeld: string[] })));
            }),
        ),
      );
    // Round 1: six processes race for 40 keys at one instant; the even ones then die (no
    // heartbeat, no release) and the odd ones hold theirs for 3 s with a 400 ms lease.
    // Round 2, 1.5 s in, six more race for every key: the dead holders' leases have expired.
    const [first, second] = await Promise.all([race(6, { startAt: start, holdMs: 3000, dies: (w) => w % 2 === 0 }), race(6, { startAt: start + 1500, holdMs: 100, dies: () => false })]);
    const count = (runs: { won: string[] }[]) => {
      const m = new Map<string, number>();
      for (const r of runs) for (const k of r.won) m.set(k, (m.get(k) ?? 0) + 1);
      return m;
    };
    const one = count(first);
    assert.equal(one.size, 40);
    assert.ok(
      [...one.values()].every((n) => n === 1),
      `round 1: ${JSON.stringify([...one])}`,
    );
    const dead = new Set(first.filter((_, w) => w % 2 === 0).flatMap((r) => r.won));
    const two = count(second);
    assert.ok(
      [...two.values()].every((n) => n === 1),
      `round 2: ${JSON.stringify([...two])}`,
    );
    assert.deepEqual([...two.keys()].sort(), [...dead].sort(), 'exactly the expired leases change hands');
    for (const r of first.filter((_, w) => w % 2 === 1)) assert.deepEqual(r.stillHeld, r.won, 'a heartbeating holder keeps its claims');
  });
});

describe('the stepped schedule', () => {
  it("follows the paper's 120/60/40/20 epochs at 1, 0.1, 0.01, 0.001 of the rate, scaled", () => {
    const o = { learningRate: 0.01, schedule: 'stepped' as const, steps: 240 };
    assert.deepEqual(
      [0, 119, 120, 179, 180, 219, 220, 239].map((k) => learningRateAt(o, k)),
      [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001, 0.00001, 0.00001],
    );
    assert.equal(learningRateAt({ ...o, steps: 24 }, 12), 0.001);
  });
});

describe('the experiment configuration', () => {
  const base = { format: 'evonas.experiment', version: 2, data: '/data' };
  const own = (c: ExperimentConfig) => settingsOf(c.space, c) as Record<string, unknown>;
  it("takes Genetic CNN's settings and refuses bad ones by field", () => {
    const c = validateConfig({ ...base, space: 'stages', algorithm: 'generational', stages: { genetic: { pM: 0.5 } } });
    assert.deepEqual(own(c).genetic, { pM: 0.5, qM: 0.05, pC: 0.2, qC: 0.2, initialization: 'random' }, 'a partial block keeps the other defaults');
    assert.deepEqual(own(c).nodes, [3, 4, 5]);
    assert.equal((c as Record<string, unknown>).graph, undefined, "only the experiment's space has settings");
    assert.throws(() => validateConfig({ ...base, space: 'stages', stages: { genetic: { qM: 1.5 } } }), /stages\.genetic\.qM: expected a probability in \[0, 1\] but found 1\.5/);
    assert.throws(() => validateConfig({ ...base, space: 'stages', stages: { widths: [8, 8] } }), /stages\.widths: expected one width per stage \(3\) but found 2/);
    assert.throws(() => validateConfig({ ...base, space: 'stages', stages: { epochs: 0 } }), /stages\.epochs: expected a number > 0 but found 0/);
    assert.throws(() => validateConfig({ ...base, space: 'stages', graph: { minChannels: 8 } }), /graph: settings of the graph space, but this experiment searches the stages space/);
    assert.throws(() => validateConfig({ ...base, space: 'graph', algorithm: 'generational' }), /algorithm: the graph space takes tournament, aging, random/);
    assert.throws(() => validateConfig({ ...base, graph: { mutationWeights: { 'insert-attention': 1 } } }), /graph\.mutationWeights\.insert-attention: unknown mutation/);
    assert.throws(() => validateConfig({ ...base, graph: { mutationWeights: { identity: -1 } } }), /graph\.mutationWeights\.identity: expected a number >= 0 but found -1/);
    // Nested keys are refused by path, never ignored (a misspelt pM would silently keep the default).
    assert.throws(() => validateConfig({ ...base, space: 'stages', stages: { genetic: { pm: 0.5 } } }), /stages\.genetic\.pm: unknown field \(known: pM, qM, pC, qC, initialization\)/);
    assert.throws(() => validateConfig({ ...base, space: 'stages', stages: { node: [3] } }), /stages\.node: unknown field/);
    assert.throws(() => validateConfig({ ...base, schedule: { mutationRates: [] } }), /schedule\.mutationRates: unknown field/);
    assert.throws(() => validateConfig({ ...base, schedule: { mutationRate: [{ from: 0, to: 9, k: 2, K: 3 }] } }), /schedule\.mutationRate\[0\]\.K: unknown field/);
    assert.throws(() => validateConfig({ ...base, space: 'stages', stages: { genetic: 5 } }), /stages\.genetic: expected an object but found 5/);
    assert.throws(() => validateConfig({ ...base, genetic: {} }), /genetic: unknown field/, 'version 2 keeps it under stages');
    // Settings that pass one by one but not together.
    const weights = (w: object) => own(validateConfig({ ...base, graph: { mutationWeights: w } })).mutationWeights;
    assert.throws(() => weights({ identity: 0 }), /graph\.mutationWeights: every listed mutation has weight 0, and an unlisted one gets 0/);
    assert.throws(() => weights({ identity: 0, 'alter-learning-rate': 0 }), /graph\.mutationWeights: every listed mutation has weight 0/);
    assert.deepEqual(weights({ identity: 0, 'insert-convolution': 2 }), { identity: 0, 'insert-convolution': 2 });
    assert.deepEqual(weights({}), {}, '{} is the paper: uniform');
    assert.throws(() => validateConfig({ ...base, space: 'stages', schedule: { weightResets: [60] } }), /schedule: applies to steady-state spaces only \(the stages space is generational/);
    assert.deepEqual(validateConfig({ ...base, space: 'stages' }).schedule, {}, 'a generational space follows no schedule, and says so');
  });
});
