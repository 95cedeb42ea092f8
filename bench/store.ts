/**
 * npm run bench:store
 * 1. Tournament steps per second against each store (BENCH_STORE_BACKENDS,
 *    default filesystem,postgresql) at population 1,000 with 250 concurrent
 *    workers (10 processes x 25 async workers) and a fake evaluator, so that
 *    only the store is measured. PostgreSQL: a server this bench starts
 *    (Debian's, as the tests do) on 127.0.0.1, stopped at the end.
 * 2. The store's share of the workers' wall time in a real evolution on
 *    CIFAR-10 on each backend (BENCH_STORE_SECONDS each, default 120), from
 *    the workers' reports.
 * Last line: `store overhead: filesystem X%, postgresql Y%` (target: under 1% on both).
 * Data: BENCH_DATA (a cache) or BENCH_DATA_SOURCE (default ../shared/datasets/cifar10-jpg.tar.gz).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importDataset } from '../src/data/import.js';
import { FileStore, newRecord, PgStore } from '../src/store/index.js';
import { withHome } from '../src/store/home.js';
import { utilization } from '../src/store/worker-reports.js';
import type { PopulationStore } from '../src/store/index.js';
import { startPostgres } from '../test/support/postgres.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'evonas-bench-store-'));

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('error', rej);
    c.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

/** Tournament steps per second of 10 processes x 25 async workers against the store at `location`, population 1,000. */
async function hammer(name: string, location: string, store: PopulationStore): Promise<void> {
  for (let i = 0; i < 1000; i++) await store.put(newRecord({ worker: 'bench', space: 'fake', dna: {}, fitness: Math.random(), hasWeights: true }), [Buffer.alloc(4096)]);
  const procs = 10;
  const perProc = Number(process.env.BENCH_STORE_BIRTHS ?? 300);
  const t0 = Date.now();
  const results = await Promise.all(
    Array.from({ length: procs }, (_, p) => run(process.execPath, [join(root, 'dist', 'test', 'support', 'store-hammer.js'), location, String(perProc), '25', '1000', String(p + 1)])),
  );
  const secs = (Date.now() - t0) / 1000;
  let steps = 0;
  for (const r of results) {
    const o = JSON.parse(r) as { born: string[]; killed: string[]; conflicts: number };
    steps += o.born.length + o.killed.length + o.conflicts;
  }
  const check = await store.check();
  console.log(
    `${name}: fake evaluator, population 1000, 250 concurrent workers: ${steps} tournament steps in ${secs.toFixed(1)} s = ${(steps / secs).toFixed(0)} steps/s; store check: ${check.problems.length} problems`,
  );
}

const backends = (process.env.BENCH_STORE_BACKENDS ?? 'filesystem,postgresql').split(',');
const server = backends.includes('postgresql') ? await startPostgres() : undefined;
try {
  // 1. The store alone, on each backend.
  if (backends.includes('filesystem')) await hammer('filesystem', join(work, 'hammer'), new FileStore(join(work, 'hammer')));
  if (server) {
    const url = `${server.url}?schema=bench`;
    const store = await PgStore.open(url);
    try {
      await hammer('postgresql', url, store);
    } finally {
      await store.close();
    }
  }

  // 2. A real evolution on each backend, one after the other.
  let data = process.env.BENCH_DATA;
  if (!data) {
    const source = process.env.BENCH_DATA_SOURCE ?? join(root, '..', 'shared', 'datasets', 'cifar10-jpg.tar.gz');
    if (!existsSync(source)) throw new Error(`${source} not found; set BENCH_DATA or BENCH_DATA_SOURCE`);
    data = join(work, 'cifar10');
    await importDataset(source, { out: data });
  }
  const seconds = Number(process.env.BENCH_STORE_SECONDS ?? 120);
  const shares: string[] = [];
  for (const backend of backends) {
    const location = backend === 'postgresql' ? `${server!.url}?schema=real` : join(work, 'exp');
    await run(process.execPath, [join(root, 'bin', 'evonas'), 'evolve', '--data', data, backend === 'postgresql' ? '--store' : '--out', location, '--time-budget', `${seconds}s`]);
    const u = await withHome(location, (home) => utilization(home.docs));
    console.log(
      `${backend}: real evolution on CIFAR-10 for ${seconds} s: ${u.children} children; workers' wall ${u.wall.toFixed(0)} s, training and evaluating ${u.busy.toFixed(0)} s (${((100 * u.busy) / u.wall).toFixed(1)}%), in the store ${u.store.toFixed(2)} s`,
    );
    shares.push(`${backend} ${((100 * u.store) / u.wall).toFixed(2)}%`);
  }
  console.log(`store overhead: ${shares.join(', ')}`);
} finally {
  server?.stop();
  rmSync(work, { recursive: true, force: true });
}
