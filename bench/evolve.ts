/**
 * npm run bench:evolve
 * The README's main job on CIFAR-10 with the default settings and a
 * 20-minute budget (BENCH_BUDGET overrides), then the best individual by
 * validation accuracy evaluated once on the test split (the job's report). Prints the best
 * validation accuracy every few minutes and, last, `evolve 20min test accuracy: X`
 * (target: X >= 0.60).
 * Data: BENCH_DATA_SOURCE (default ../shared/datasets/cifar10-jpg.tar.gz), imported once into
 * BENCH_DATA (default data/cifar10, the main job's cache).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../src/cli/evolve.js';
import type { Summary } from '../src/report/build.js';
import { FileStore } from '../src/store/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = resolve(process.env.BENCH_DATA_SOURCE ?? join(root, '..', 'shared', 'datasets', 'cifar10-jpg.tar.gz'));
const data = resolve(process.env.BENCH_DATA ?? join(root, 'data', 'cifar10'));
const budget = process.env.BENCH_BUDGET ?? '20m';
const exp = resolve(root, 'runs', `bench-evolve-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const label = budget.endsWith('m') ? `${budget.slice(0, -1)}min` : budget;

const start = Date.now();
const job = spawn('bash', [join(root, 'scripts', 'main-job.sh'), source], {
  cwd: root,
  env: { ...process.env, DATA: data, EXPERIMENT: exp, BUDGET: budget },
  stdio: ['ignore', 'inherit', 'pipe'],
});
// The job's own progress goes to a log line every few seconds; this bench prints its own every 2 minutes.
job.stderr!.on('data', (d: Buffer) => {
  const text = d.toString();
  if (!/^(generation \d+\/\d+ {2})?alive \d+ /m.test(text)) process.stderr.write(text);
});
const store = () => new FileStore(exp);
const timer = setInterval(async () => {
  try {
    const all = await store().list();
    const best = Math.max(...all.map((i) => i.fitness ?? 0));
    console.log(`${((Date.now() - start) / 60_000).toFixed(1)} min: best validation accuracy ${best.toFixed(4)} (${all.length} individuals, ${all.filter((i) => i.state === 'alive').length} alive)`);
  } catch {
    // the experiment does not exist yet (setup and import come first)
  }
}, 120_000);
const code = await new Promise<number | null>((r) => job.on('close', r));
clearInterval(timer);
if (code !== 0) throw new Error(`the main job exited with ${code}`);

// The main job ends with the report: the best by validation, tested once. The bench prints it.
const s = JSON.parse(readFileSync(join(exp, 'report', 'summary.json'), 'utf8')) as Summary;
console.log(`budget ${budget} (${parseDuration(budget, 0) / 1000} s); experiment ${exp}; ${s.individuals} individuals`);
console.log(`best by validation: ${s.best.id}, validation accuracy ${s.best.validationAccuracy.toFixed(4)}, ${s.best.params} parameters, ${s.best.stepsTrained} steps trained`);
console.log(`top-${s.ensemble.k} ensemble (majority vote) test accuracy: ${s.ensemble.testAccuracy.toFixed(4)}`);
console.log(`evolve ${label} test accuracy: ${s.best.testAccuracy.toFixed(4)}`);
