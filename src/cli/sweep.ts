import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatSpread, isSweep, readSweep, reportSweep, writeSweep } from '../report/sweep.js';
import type { SweepManifest } from '../report/sweep.js';
import { CliError, intOption, parse, str, untilStopped } from './args.js';
import type { Parsed } from './args.js';
import { parseDuration } from '../util/duration.js';
import { checkTableBudget, configFromFlags, EVOLVE_OPTIONS, TABLE_NO_TIME_LIMIT } from './evolve-options.js';
import { Progress } from './progress.js';
import { runSweep } from '../sweep/run.js';

const HELP = `usage: evonas sweep --seeds 1,2,3 --out <sweep> --data <cache> [evolve options]
       evonas sweep --resume <sweep>

Runs the same evolution once per seed and reports the spread: per seed the
best individual by validation accuracy, tested once; over the seeds the mean,
standard deviation, minimum and maximum of those test accuracies, and the
best-so-far curves as a band. A result is a mean and a spread, not one run.

Writes <sweep>/seed-K/ (an experiment each), <sweep>/sweep.json (settings and
each run's state) and <sweep>/report/ (summary.json, sweep.html, the band in
index.html and compare.png). Ctrl-C stops the run in flight; --resume
continues it with the time it had left, then the seeds not yet run.

  --seeds LIST         comma-separated whole numbers (required)
  --parallel N         runs at once (default 1; give each run --workers so
                       that all of them fit the cores)
  --time-budget T      each run's budget (default 30m)
  evolve's options     --data, --population, --algorithm, ... as for evolve
                       (not --seed, which the sweep sets)`;

const OPTIONS = { ...EVOLVE_OPTIONS, seeds: { type: 'string' }, parallel: { type: 'string' } } as const;

/** The evolve flags a sweep passes to every run, paths made absolute. */
function evolveArgs(p: Parsed): string[] {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(EVOLVE_OPTIONS)) {
    if (['out', 'resume', 'seed', 'time-budget', 'print-config'].includes(name)) continue;
    const v = p.values[name];
    if (v === undefined || v === false) continue;
    if (spec.type === 'boolean') out.push(`--${name}`);
    else out.push(`--${name}`, ['data', 'config'].includes(name) ? resolve(String(v)) : String(v));
  }
  return out;
}

export function parseSeeds(v: string | undefined): number[] {
  if (!v) throw new CliError(`--seeds is required, e.g. --seeds 1,2,3\n\n${HELP}`);
  const seeds = v.split(',').map((s) => s.trim());
  for (const s of seeds) if (!/^\d+$/.test(s)) throw new CliError(`Expected comma-separated whole numbers for --seeds but received "${v}"`);
  const n = seeds.map(Number);
  if (new Set(n).size !== n.length) throw new CliError(`--seeds repeats a seed: "${v}"`);
  return n;
}

function create(p: Parsed, dir: string): SweepManifest {
  if (p.values.seed !== undefined) throw new CliError('--seed is set per run by the sweep; give --seeds instead');
  if (p.values.resume !== undefined) throw new CliError('--resume takes the sweep alone: evonas sweep --resume <sweep>');
  const seeds = parseSeeds(str(p, 'seeds'));
  const config = configFromFlags(p); // refuses bad settings now, naming the flag or field, before anything is written
  checkTableBudget(p, config);
  const m: SweepManifest = {
    format: 'evonas.sweep',
    version: 1,
    evolveArgs: evolveArgs(p),
    budgetMs: parseDuration(str(p, 'time-budget'), config.evaluator === 'table' ? TABLE_NO_TIME_LIMIT : 30 * 60_000),
    runs: seeds.map((seed) => ({ seed, experiment: `seed-${seed}`, state: 'pending' })),
  };
  mkdirSync(dir, { recursive: true });
  writeSweep(dir, m);
  return m;
}

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS, HELP);
  if (!p) return 0;
  const resuming = str(p, 'resume');
  const target = resuming ?? str(p, 'out');
  if (!target) throw new CliError(`--out <sweep> (or --resume <sweep>) is required\n\n${HELP}`);
  const dir = resolve(target);
  let m: SweepManifest;
  if (resuming) {
    if (!isSweep(dir)) throw new CliError(`${target} holds no sweep (no sweep.json)`, 1);
    const extra = Object.keys(p.values).filter((k) => !['resume', 'parallel'].includes(k) && p.values[k] !== undefined);
    if (extra.length) throw new CliError(`--resume takes no settings but --${extra[0]}: a sweep keeps the ones it started with`);
    m = readSweep(dir);
  } else {
    if (isSweep(dir)) throw new CliError(`${target} already holds a sweep; resume it with evonas sweep --resume ${target}`, 1);
    m = create(p, dir);
  }
  const parallel = intOption(str(p, 'parallel'), '--parallel', 1, 1);
  const evaluations = m.evolveArgs[m.evolveArgs.indexOf('--max-children') + 1];
  const each =
    m.budgetMs === TABLE_NO_TIME_LIMIT && m.evolveArgs.includes('--max-children')
      ? `${evaluations} evaluations`
      : m.budgetMs >= 60_000
        ? `${+(m.budgetMs / 60_000).toFixed(1)} min`
        : `${m.budgetMs / 1000} s`;
  console.log(`sweep ${dir}: seeds ${m.runs.map((r) => r.seed).join(', ')}, ${each} each, ${parallel} at a time`);

  const progress = new Progress();
  const r = await untilStopped((signal) => runSweep(dir, { parallel, signal, onLog: (l) => console.log(l), onProgress: (l) => progress.update(l), onProgressDone: () => progress.done() }));
  if (r.stopped) {
    console.log(`stopped; continue with: evonas sweep --resume ${target}`);
    return 130;
  }
  const s = await reportSweep(dir, (l) => progress.update(l)).finally(() => progress.done());
  if (s.ensembleTestAccuracy) console.log(`ensemble test accuracy: ${formatSpread(s.ensembleTestAccuracy)}`);
  console.log(`wrote ${join(dir, 'report', 'sweep.html')}, index.html (the band) and summary.json`);
  console.log(`test accuracy over ${s.testAccuracy.n} seeds: ${formatSpread(s.testAccuracy)}`);
  return 0;
}
