// Real workers (the steady-state driver, its kit, the engine, the folder
// store) on a one-convolution space registered here, each check against the
// paper's worker: a weight reset no child escapes, a parent killed under a
// worker makes it give up, the set-point counts children in training, and a
// worker's number (its random stream) is claimed, never shared or replayed.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfig, writeConfig } from '../src/evolution/config.js';
import { StagnationLog } from '../src/evolution/stagnation.js';
import type { SearchSpace } from '../src/spaces/index.js';
import { ConflictError, FileStore } from '../src/store/index.js';
import type { Individual, PopulationStore } from '../src/store/index.js';
import { openHome } from '../src/store/home.js';
import { auditResets } from '../src/report/build.js';
import { finishCandidates } from '../src/worker/finish.js';
import { makeKit, workerStream } from '../src/worker/kit.js';
import type { WorkerKit } from '../src/worker/kit.js';
import { workerReports } from '../src/store/worker-reports.js';
import { steadyStateDriver } from '../src/worker/steady-state.js';
import { seedPopulation, startRun } from '../src/worker/supervisor.js';
import { runWorker } from '../src/worker/worker.js';
import { NO_SETTINGS, oneConvIR, useTestSpace } from './support/test-space.js';

/** One conv of `width` channels; a child keeps its parent's structure and inherits every weight. */
const width = (dna: unknown) => (dna as { width: number }).width;
const keep: SearchSpace = {
  name: 'keep',
  title: 'a one-convolution space whose children inherit everything',
  algorithms: ['tournament', 'aging'],
  ...NO_SETTINGS,
  validate: (dna) => dna,
  compile: (dna, io) => oneConvIR(width(dna), io),
  selectionKey: (i) => i.id,
  render: () => '<svg xmlns="http://www.w3.org/2000/svg"/>',
  describe: (dna) => ({ width: String(width(dna)) }),
  initialPopulation: (n) => Array.from({ length: n }, () => ({ width: 2 })),
  mutate: (dna) => ({ dna, records: [{ type: 'identity', targets: [], inherit: 'all' }], inherit: 'all' }),
};

const { root, cache } = useTestSpace(keep, 'evonas-worker-steps-');

let n = 0;
/** A new experiment of the keep space, its run started with `budgetMs` and an optional child budget. */
async function experiment(o: Record<string, unknown>, budgetMs = 120_000, maxChildren?: number): Promise<string> {
  const dir = join(root, `exp-${n++}`);
  const config = validateConfig({ data: cache, space: 'keep', algorithm: 'tournament', threadsPerWorker: 1, stepsPerChild: 2, batchSize: 10, finish: 0, seed: 3, ...o });
  mkdirSync(dir);
  writeConfig(dir, config);
  await seedPopulation(dir, config);
  await startRun(dir, budgetMs, maxChildren);
  return dir;
}

/** Steps `step` until `done` or `max` steps, counting outcomes (a lost race is a conflict, as in the worker loop). */
async function steps(step: () => Promise<string>, max: number, done: () => Promise<boolean> = async () => false): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < max && !(await done()); i++) {
    let o: string;
    try {
      o = await step();
    } catch (e) {
      if (!(e instanceof ConflictError)) throw e;
      o = 'conflict';
    }
    seen[o] = (seen[o] ?? 0) + 1;
  }
  return seen;
}

const detail = (i: Individual) => ((i.mutations[0] ?? {}) as { detail?: Record<string, number> }).detail ?? {};

describe('the steady-state worker, against the paper', () => {
  it('a child whose training began before a weight reset is retrained before it competes, though born after it', async () => {
    // The stagnation policy only makes the driver read events each step; its window is never reached here.
    const dir = await experiment({ population: 2, stagnation: { window: 1e6, remedy: 'weight-reset' } });
    const home = await openHome(dir);
    const kit = await makeKit(home, 0);
    try {
      const step = steadyStateDriver(kit);
      assert.deepEqual(await steps(step, 2), { 'trained-initial': 2 });
      // The next child inherits (no reset yet); while it trains, another worker records a reset.
      let resetAt: number | undefined;
      const log = new StagnationLog(home.docs);
      const resetting: WorkerKit = {
        ...kit,
        trainChild: (dna, kind, body) =>
          kit.trainChild(dna, kind, async (net, shared, t) => {
            if (resetAt === undefined) {
              resetAt = (Date.now() - kit.started) / 1000;
              await log.record({ index: 0, at: resetAt, bestAt: 0, bestValidation: 0, remedy: 'weight-reset', weightReset: resetAt });
            }
            return body(net, shared, t);
          }),
      };
      assert.equal(await steadyStateDriver(resetting)(), 'reproduced');
      const all = await kit.store.list();
      const escaped = all.find((i) => i.parent !== null && detail(i).initialTraining === undefined)!;
      const reset = kit.started + 1000 * resetAt!;
      assert.ok(Date.parse(escaped.bornAt) > reset, 'born after the reset');
      assert.ok(Date.parse(escaped.weightsSince!) < reset, "carrying weights whose training began before it (its parent's)");
      // From here on, no individual with pre-reset weights may be a parent or finished: it is retrained first.
      await steps(step, 12);
      const after = await kit.store.list();
      const retrained = after.filter((i) => i.parent === escaped.id && detail(i).weightReset === 1);
      assert.equal(retrained.length, 1, 'the escaped child was retrained from scratch');
      assert.equal((await kit.store.get(escaped.id))!.state, 'dead', 'and retired');
      for (const c of after.filter((i) => Date.parse(i.bornAt) > reset && detail(i).weightReset === undefined && i.id !== escaped.id)) {
        const p = after.find((x) => x.id === c.parent)!;
        assert.ok(Date.parse(p.weightsSince ?? p.bornAt) >= reset, `${c.id} was bred from ${p.id}, whose weights predate the reset`);
      }
      assert.deepEqual(
        finishCandidates(after, (i) => kit.stale(i)).filter((i) => Date.parse(i.weightsSince ?? i.bornAt) < reset),
        [],
        'the finish skips stale individuals',
      );
      // The report's audit of the reset says the same, and would count a child bred from the escaped one.
      const [audit] = auditResets(after, [resetAt!], kit.started);
      assert.equal(audit!.bredFromStale, 0);
      assert.ok(audit!.retrained >= 2, `${audit!.retrained} retrained`);
      const bred: Individual = { ...escaped, id: `${escaped.id}x`, parent: escaped.id, bornAt: new Date(reset + 5000).toISOString(), timing: { train: 1, evaluate: 1, store: 0, idle: 0 } };
      assert.equal(auditResets([...after, bred], [resetAt!], kit.started)[0]!.bredFromStale, 1);
    } finally {
      kit.dispose();
      await home.close();
    }
  });

  it('gives up when its parent is killed by another worker while it reproduces, storing nothing', async () => {
    const dir = await experiment({ population: 3 });
    const home = await openHome(dir);
    const kit = await makeKit(home, 0);
    try {
      await steps(steadyStateDriver(kit), 3);
      const bred = (all: Individual[]) => all.filter((i) => i.parent !== null && detail(i).initialTraining === undefined && detail(i).weightReset === undefined);
      const before = bred(await kit.store.list()).length;
      let parent: string | undefined;
      // Another worker's tournament kills the parent just as this one reads its weights.
      const store: PopulationStore = Object.assign(Object.create(kit.store) as PopulationStore, {
        readWeights: async (id: string) => {
          parent = id;
          const bytes = await kit.store.readWeights(id);
          await kit.store.kill(id, 'another-worker');
          return bytes;
        },
      });
      const step = steadyStateDriver({ ...kit, store: store as WorkerKit['store'] });
      const outcomes: string[] = [];
      let thrown: unknown;
      // Early steps may train the initial population.
      while (!parent && outcomes.length < 10) {
        try {
          outcomes.push(await step());
        } catch (e) {
          thrown = e;
          outcomes.push('threw');
        }
      }
      assert.ok(parent, `the steps reached no parent: ${outcomes.join(', ')}`);
      // The step that read the parent's weights gave up: it threw the worker loop's conflict.
      assert.ok(thrown instanceof ConflictError && /was killed by another worker/.test(thrown.message), `${outcomes.join(', ')}: ${thrown}`);
      const all = await kit.store.list();
      assert.equal(bred(all).length, before, 'no child stored');
    } finally {
      kit.dispose();
      await home.close();
    }
  });

  it("the set-point counts children in training: three workers never hold more than the population's size alive", async () => {
    const dir = await experiment({ population: 6, workers: 3 }, 120_000, 45);
    const store = new FileStore(dir);
    let most = 0;
    let running = true;
    const watch = (async () => {
      while (running) {
        most = Math.max(most, await store.aliveCount());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const counts = await Promise.all([0, 1, 2].map((id) => runWorker({ location: dir, id })));
    running = false;
    await watch;
    assert.ok(
      counts.every((c) => (c.reproduced ?? 0) > 0),
      JSON.stringify(counts),
    );
    // Alive plus the others' children in training is held at 6; a step reading a report a moment old may add one.
    assert.ok(most <= 7, `${most} alive at once, set-point 6, 3 workers`);
    assert.ok(most >= 4, `${most} alive at most`);
  });

  it("claims a worker's number: a live worker's number is refused, none given takes the lowest free, a restart does not replay", async () => {
    const dir = await experiment({ population: 3 });
    const home = await openHome(dir);
    const reports = async (k: number) => {
      while ((await workerReports(home.docs)).length < k) await new Promise((r) => setTimeout(r, 20));
    };
    const ac = new AbortController();
    const first = runWorker({ location: dir, id: 0, signal: ac.signal });
    await reports(1); // by its first report it holds number 0
    await assert.rejects(runWorker({ location: dir, id: 0 }), /worker number 0 is held by a live worker/);
    const other = runWorker({ location: dir, signal: ac.signal });
    await reports(2);
    ac.abort();
    await Promise.all([first, other]);
    const names = (await workerReports(home.docs)).map((w) => w.worker.replace(/-\d+$/, '')).sort();
    assert.deepEqual(names, ['w0', 'w1'], 'the worker without a number took 1, the lowest free');
    // Number 0 again, after its first holder stopped: a new start with a stream of its own.
    const again = new AbortController();
    const restarted = runWorker({ location: dir, id: 0, signal: again.signal });
    await reports(3);
    again.abort();
    await restarted;
    assert.ok(
      (await workerReports(home.docs)).some((w) => /^w0r1-/.test(w.worker)),
      'the second start of number 0 is named w0r1',
    );
    const draws = (k: number) => {
      const s = workerStream(3, 0, k);
      return [s.next(), s.next(), s.next()];
    };
    assert.notDeepEqual(draws(1), draws(0));
    assert.deepEqual(draws(0), draws(0));
    await home.close();
  });
});
