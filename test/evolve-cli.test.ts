// Real (tiny) evolutions through the command: progress to the deadline, a
// clean stop on SIGINT, and a worker SIGKILLed mid-run that the supervisor
// restarts, the store staying clean throughout.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importDataset } from '../src/data/import.js';
import { FileStore } from '../src/store/index.js';
import { cifar10Folder } from './support/formats.js';
import { EVONAS, runCli } from './support/cli.js';
import { rng } from './support/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'evonas-evolve-'));
const cache = join(root, 'cache');
before(async () => {
  await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
});
after(() => rmSync(root, { recursive: true, force: true }));

const tiny = ['--population', '4', '--workers', '2', '--steps', '3', '--batch', '10'];

function workerPids(dir: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(` worker ${dir} `))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe('evonas evolve', () => {
  it('evolves until the time budget; status reports the population', async () => {
    const exp = join(root, 'exp1');
    const r = await runCli(['evolve', '--data', cache, '--out', exp, ...tiny, '--time-budget', '12s', '--seed', '3']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stopped: \d+ children trained, \d+ alive; best validation accuracy 0\.\d{4}/);
    const s = JSON.parse((await runCli(['status', exp, '--json'])).stdout);
    assert.ok(s.trained > 4, `only ${s.trained} trained`);
    if (s.children < s.trained - 4) {
      // Which worker's children went unreported, and what the supervisor said (a crash, a restart).
      const byWorker: Record<string, number> = {};
      for (const i of await new FileStore(exp).list()) if (i.fitness !== null) byWorker[i.worker] = (byWorker[i.worker] ?? 0) + 1;
      const reports = readdirSync(join(exp, 'workers')).map((f) => readFileSync(join(exp, 'workers', f), 'utf8').trim());
      assert.fail(`children ${s.children}, trained in store ${s.trained}; store by worker ${JSON.stringify(byWorker)}; reports ${reports.join(' ')}; evolve said:\n${r.stdout}\n${r.stderr}`);
    }
    // The set-point, give or take a child per worker in flight, plus the finish's child (one per worker, no kill).
    assert.ok(s.alive >= 1 && s.alive <= 4 + 2 + 2, `population ${s.alive}, set-point 4, 2 workers`);
    assert.equal(s.algorithm, 'tournament');
    assert.ok(s.workerUtilization > 0 && s.workerUtilization <= 1, `utilization ${s.workerUtilization}`);
    // disjoint parts of the workers' wall time (tiny children train in milliseconds, so no order between them)
    assert.ok(s.storeShare > 0 && s.workerUtilization + s.storeShare <= 1.001, `store share ${s.storeShare}`);
    assert.deepEqual((await new FileStore(exp).check()).problems, []);
    assert.deepEqual(readdirSync(join(exp, 'tmp')), []);
    const again = await runCli(['evolve', '--data', cache, '--out', exp, ...tiny]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds an experiment; resume it with --resume/);
    const resumed = await runCli(['evolve', '--resume', exp, '--time-budget', '4s']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(JSON.parse((await runCli(['status', exp, '--json'])).stdout).trained >= s.trained);
  });

  it('--finish: in the last seconds each worker anneals a different one of the best alive, from at least --finish-lr, stored as a child that competes', async () => {
    const exp = join(root, 'finish');
    const r = await runCli(['evolve', '--data', cache, '--out', exp, ...tiny, '--time-budget', '16s', '--finish', '0.45', '--finish-lr', '0.2', '--seed', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /3 steps per child, the last 45% of the time annealing the best/);
    const all = await new FileStore(exp).list();
    const finishes = all.filter((i) => (i.mutations as { type: string }[] | undefined)?.[0]?.type === 'finish');
    assert.ok(finishes.length >= 1 && finishes.length <= 2, `${finishes.length} finishes from 2 workers`);
    assert.equal(new Set(finishes.map((f) => f.parent)).size, finishes.length, 'each worker finished a different individual');
    assert.equal(new Set(finishes.map((f) => f.worker)).size, finishes.length, 'one finish per worker');
    for (const f of finishes) {
      const parent = all.find((i) => i.id === f.parent)!;
      const m = (f.mutations as { detail: { steps: number; seconds: number; from: number; to: number } }[])[0]!;
      assert.deepEqual(f.dna, parent.dna, 'the same network, trained further');
      assert.equal(m.detail.to, 0);
      assert.equal(m.detail.from, Math.max((parent.dna as { learningRate: number }).learningRate, 0.2), 'its own rate, at least --finish-lr');
      assert.ok(m.detail.steps >= 1 && m.detail.seconds > 0, `${m.detail.steps} steps in ${m.detail.seconds} s`);
      if (f.failure === undefined) {
        assert.equal(f.stepsTrained, parent.stepsTrained + m.detail.steps, `steps ${f.stepsTrained} after ${parent.stepsTrained}`);
        assert.equal(typeof f.fitness, 'number', 'evaluated like any child');
        assert.ok(f.hasWeights);
      } else {
        // A tiny network annealed from 0.2 may diverge: recorded as any child whose loss went non-finite, with the steps it took.
        assert.match(f.failure, /finite|nan/i);
        assert.ok(f.stepsTrained > parent.stepsTrained && f.stepsTrained === parent.stepsTrained + m.detail.steps, `steps ${f.stepsTrained} after ${parent.stepsTrained}`);
        assert.equal(f.fitness, null, 'not evaluated');
        assert.ok(!f.hasWeights);
      }
    }
    assert.deepEqual((await new FileStore(exp).check()).problems, []);
    const report = await runCli(['report', exp]);
    assert.equal(report.code, 0, report.stderr);
    // A finish that would leave no time to evolve is refused before anything is written.
    const long = await runCli(['evolve', '--data', cache, '--out', join(root, 'finish-long'), ...tiny, '--finish', '1']);
    assert.equal(long.code, 2);
    assert.match(long.stderr, /Expected a number from 0 to 0\.9 for --finish but received "1"/);
    assert.ok(!existsSync(join(root, 'finish-long')));
  });

  it('repeats with one worker, one thread and a seed, stopping at --max-children', async () => {
    const history = async (name: string) => {
      const exp = join(root, name);
      const args = ['--population', '3', '--workers', '1', '--threads', '1', '--steps', '3', '--batch', '10', '--seed', '5', '--max-children', '9', '--time-budget', '5m'];
      const r = await runCli(['evolve', '--data', cache, '--out', exp, ...args]);
      assert.equal(r.code, 0, r.stderr);
      const all = await new FileStore(exp).list();
      assert.equal(all.filter((i) => i.parent !== null).length, 9, 'stopped at the child budget');
      return all.map((i) => [JSON.stringify(i.dna), i.fitness, i.stepsTrained, i.state, i.mutations]);
    };
    const a = await history('repeat-a');
    assert.deepEqual(await history('repeat-b'), a);
  });

  it('--print-config prints the effective configuration and writes nothing; a bad nested key is refused by path', async () => {
    const out = join(root, 'printed');
    const r = await runCli(['evolve', '--data', cache, '--out', out, '--population', '12', '--stagnation', '4m', '--print-config']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout);
    assert.equal(c.population, 12);
    assert.deepEqual(c.stagnation, { window: 240, remedy: 'both' });
    assert.equal(c.algorithm, 'tournament');
    assert.equal(existsSync(out), false);
    const file = join(root, 'bad-nested.json');
    writeFileSync(file, JSON.stringify({ space: 'stages', stages: { genetic: { pm: 0.5 } } }));
    const bad = await runCli(['evolve', '--data', cache, '--config', file, '--print-config']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad configuration: stages\.genetic\.pm: unknown field \(known: pM, qM, pC, qC, initialization\)/);
    // A file in the old layout (no version, a space's knob at the top) is told where the knob went.
    writeFileSync(file, JSON.stringify({ space: 'stages', genetic: { pM: 0.5 } }));
    const old = await runCli(['evolve', '--data', cache, '--config', file, '--print-config']);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /genetic: now stages\.genetic\. experiment\.json version 2 keeps each space's settings under its name/);
    // A flag of another space's setting is refused naming both.
    const other = await runCli(['evolve', '--data', cache, '--generations', '3', '--print-config']);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--generations is a setting of the stages space; this experiment searches the graph space/);
    const own = await runCli(['evolve', '--data', cache, '--space', 'stages', '--generations', '3', '--print-config']);
    assert.equal(JSON.parse(own.stdout).stages.generations, 3, own.stderr);
  });

  it('refuses a bad configuration naming the field', async () => {
    const r = await runCli(['evolve', '--data', cache, '--out', join(root, 'bad'), '--algorithm', 'hill-climb']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad configuration: algorithm: the graph space takes tournament, aging, random but found "hill-climb"/);
    // Every refusal comes before anything is written.
    const file = join(root, 'no-mutation.json');
    writeFileSync(file, JSON.stringify({ graph: { mutationWeights: { identity: 0 } } }));
    const refusals: [string[], number, RegExp][] = [
      [['--config', file], 1, /graph\.mutationWeights: every listed mutation has weight 0, and an unlisted one gets 0/],
      [['--time-budget', '0s'], 2, /Expected a duration like 90s, 30m or 2h for --time-budget but received "0s"/],
      [['--time-budget', 'banana'], 2, /for --time-budget but received "banana"/],
    ];
    for (const [args, code, message] of refusals) {
      const out = join(root, 'refused');
      const x = await runCli(['evolve', '--data', cache, '--out', out, ...args]);
      assert.equal(x.code, code, `${args.join(' ')}: ${x.stderr}`);
      assert.match(x.stderr, message);
      assert.equal(existsSync(out), false, `${args.join(' ')} left ${out} behind`);
    }
  });

  it('survives SIGKILLed workers and stops cleanly on SIGINT', async () => {
    const exp = join(root, 'exp2');
    const child = spawn(process.execPath, [EVONAS, 'evolve', '--data', cache, '--out', exp, ...tiny, '--time-budget', '60s']);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Chaos: a random worker SIGKILLed at a random moment, again and again.
    const random = rng(42);
    let kills = 0;
    for (let round = 0; round < 10; round++) {
      await sleep(700 + 1300 * random());
      const pids = workerPids(exp);
      if (pids.length === 0) continue;
      process.kill(pids[Math.floor(random() * pids.length)]!, 'SIGKILL');
      kills++;
    }
    await sleep(3000);
    child.kill('SIGINT');
    assert.equal(await closed, 0, err);
    assert.ok(kills >= 7, `killed ${kills} workers`);
    assert.match(err, /worker \d exited \(SIGKILL\); restarting it/);
    assert.match(out, /stopped: \d+ children trained/);
    assert.deepEqual(workerPids(exp), [], 'no worker left running');
    const store = new FileStore(exp);
    assert.deepEqual((await store.check()).problems, []);
    const alive = await store.aliveCount();
    assert.ok(Math.abs(alive - 4) <= 2, `population ${alive}, set-point 4, 2 workers`);
    const s = JSON.parse((await runCli(['status', exp, '--json'])).stdout);
    assert.ok(s.trained > 4, `only ${s.trained} trained between the kills`);
    // The supervisor saw each kill and said so in the dead worker's report: none of them counts as alive.
    assert.deepEqual(s.workers, [], 'no worker is alive after the run');
    const died = readdirSync(join(exp, 'workers')).filter((f) => JSON.parse(readFileSync(join(exp, 'workers', f), 'utf8')).died === 'SIGKILL');
    // (a worker killed before its first report left none to mark)
    assert.ok(died.length >= 1 && died.length <= kills, `${died.length} reports say SIGKILL, ${kills} kills`);
    assert.ok(
      died.some((f) => /^w\dr\d+-/.test(f)),
      `a restarted worker has a new name (and stream): ${died.join(' ')}`,
    );
  });

  it('runs Genetic CNN generations to the end, printing Table 1, through a SIGKILLed worker', async () => {
    const exp = join(root, 'exp-stages');
    const args = [
      'evolve',
      '--data',
      cache,
      '--out',
      exp,
      '--space',
      'stages',
      '--population',
      '4',
      '--generations',
      '3',
      '--steps',
      '4',
      '--batch',
      '10',
      '--workers',
      '2',
      '--seed',
      '5',
      '--time-budget',
      '5m',
    ];
    const child = spawn(process.execPath, [EVONAS, ...args], { env: { ...process.env, EVONAS_LEASE_MS: '3000' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const closed = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
    await new Promise((r) => setTimeout(r, 2500));
    const pids = workerPids(exp);
    if (pids.length) process.kill(pids[0]!, 'SIGKILL');
    assert.equal(await closed, 0, err);
    assert.match(err, /Gen +Max % +Min % +Avg % +Med % +Std-D +Best individual/);
    for (const g of ['000', '001', '002', '003']) assert.match(err, new RegExp(`^${g} +\\d+\\.\\d\\d .* [01]-[01]{2} [01]-[01]{2}-[01]{3} [01]-[01]{2}-[01]{3}-[01]{4}$`, 'm'));
    assert.match(out, /evolving .*: stages space, generational, 3 generations of 4/);
    const s = JSON.parse((await runCli(['status', exp, '--json'])).stdout);
    assert.equal(s.generations.length, 4);
    assert.equal(s.alive, 4, 'the last generation');
    const store = new FileStore(exp);
    assert.deepEqual((await store.check()).problems, []);
    const all = await store.list();
    for (let g = 0; g <= 3; g++) {
      const slots = new Set(all.filter((i) => i.generation === g).map((i) => i.slot));
      assert.equal(slots.size, 4, `generation ${g} has every slot`);
    }
    const text = (await runCli(['status', exp])).stdout;
    assert.match(text, /^003 /m);
  });

  it('refuses an algorithm the space does not take', async () => {
    const r = await runCli(['evolve', '--data', cache, '--out', join(root, 'bad2'), '--space', 'stages', '--algorithm', 'tournament']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /algorithm: the stages space takes generational, random but found "tournament"/);
  });
});
