/**
 * npm run bench:evolve
 * The main job (docs/main-job.md), repeated over seeds: evonas sweep with the default
 * settings, a 20-minute budget per seed (BENCH_BUDGET overrides) and seeds
 * 1,2,3 (BENCH_SEEDS), one after another on this machine. Per seed: the best
 * individual by validation accuracy, tested once. Prints each seed's line,
 * the spread and, last, `evolve 20min test accuracy: mean X min Y`.
 * Data: BENCH_DATA_SOURCE (default ../shared/datasets/cifar10-jpg.tar.gz),
 * imported once into BENCH_DATA (default data/cifar10, the main job's cache).
 * BENCH_ARGS adds evolve options (e.g. "--stagnation 4m"), for comparisons.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SweepSummary } from '../src/report/sweep.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const evonas = join(root, 'bin', 'evonas');
const source = resolve(process.env.BENCH_DATA_SOURCE ?? join(root, '..', 'shared', 'datasets', 'cifar10-jpg.tar.gz'));
const data = resolve(process.env.BENCH_DATA ?? join(root, 'data', 'cifar10'));
const budget = process.env.BENCH_BUDGET ?? '20m';
const seeds = process.env.BENCH_SEEDS ?? '1,2,3';
const extra = (process.env.BENCH_ARGS ?? '').split(/\s+/).filter(Boolean);
const out = resolve(root, 'runs', `bench-evolve-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const label = budget.endsWith('m') ? `${budget.slice(0, -1)}min` : budget;

function run(args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [evonas, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
    // The evolutions' progress line updates every 2 s; keep the rest (warnings, events) visible.
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString().replace(/\r?[^\n\r]*alive \d+ {2}children[^\n\r]*/g, '');
      if (text.trim()) process.stderr.write(text);
    });
    child.on('close', (code) => (code === 0 ? res() : rej(new Error(`evonas ${args[0]} exited with ${code}`))));
  });
}

console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}; seeds ${seeds}; ${budget} each${extra.length ? `; evolve ${extra.join(' ')}` : ''}`);
if (!existsSync(join(data, 'manifest.json'))) await run(['data', 'import', source, '--out', data]);
await run(['sweep', '--seeds', seeds, '--data', data, '--out', out, '--time-budget', budget, ...extra]);

const s = JSON.parse(readFileSync(join(out, 'report', 'summary.json'), 'utf8')) as SweepSummary;
console.log(`\nsweep ${out}`);
for (const x of s.seeds) {
  console.log(
    `seed ${x.seed}: test ${x.testAccuracy.toFixed(4)} (validation ${x.validationAccuracy.toFixed(4)}, ${x.params.toLocaleString('en')} parameters, ${x.individuals} individuals; top-2 ensemble ${x.ensembleTestAccuracy?.toFixed(4) ?? '-'})`,
  );
}
const t = s.testAccuracy;
console.log(`test accuracy: mean ${t.mean.toFixed(4)} std ${t.std.toFixed(4)} min ${t.min.toFixed(4)} max ${t.max.toFixed(4)} over ${t.n} seeds, ${budget} each`);
console.log(`evolve ${label} test accuracy: mean ${t.mean.toFixed(4)} min ${t.min.toFixed(4)}`);
