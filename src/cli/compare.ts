import { basename, join, resolve } from 'node:path';
import { compareExperiments, groupOf } from '../report/compare.js';
import { isSweep, readSweep, spread } from '../report/sweep.js';
import { CliError, parse, str } from './args.js';
import { Progress } from './progress.js';

const HELP = `usage: evonas compare <experiment or sweep>... [--out DIR]

Draws the best-so-far curves (test accuracy of the best by validation) of
several experiments in one chart, grouped by space, algorithm and
inheritance, with each group's mean and min-max range across repeats. A
sweep (evonas sweep) is one group, named after its folder: its finished
seeds' band.
Experiments without a report get one first. Writes DIR/compare.png,
compare.json and index.html (default DIR: compare).`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { out: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length === 0) throw new CliError(`expected at least one experiment folder\n\n${HELP}`);
  const out = resolve(str(p, 'out') ?? 'compare');
  const progress = new Progress();
  const sweepOf = new Map<string, string>();
  const dirs = p.positionals.flatMap((d) => {
    const dir = resolve(d);
    if (!isSweep(dir)) return [dir];
    const runs = readSweep(dir)
      .runs.filter((r) => r.state === 'done')
      .map((r) => join(dir, r.experiment));
    if (runs.length === 0) throw new CliError(`${d}: no run of this sweep has finished`, 1);
    for (const r of runs) sweepOf.set(r, basename(dir));
    return runs;
  });
  const { curves } = await compareExperiments(
    dirs,
    out,
    (l) => progress.update(l),
    (dir, s) => sweepOf.get(dir) ?? groupOf(s),
  ).finally(() => progress.done());
  for (const g of [...new Set(curves.map((c) => c.group))]) {
    const finals = curves.filter((c) => c.group === g && c.points.length).map((c) => c.points.at(-1)!.test);
    if (finals.length === 0) continue;
    const s = spread(finals);
    console.log(`${g}: final best-so-far test accuracy mean ${s.mean.toFixed(4)} (range ${s.min.toFixed(4)}-${s.max.toFixed(4)}, ${s.n} runs)`);
  }
  console.log(`wrote ${out}/index.html, compare.png and compare.json (${curves.length} experiments)`);
  return 0;
}
