import { resolve } from 'node:path';
import { compareExperiments } from '../report/compare.js';
import { CliError, parse, str } from './args.js';
import { Progress } from './progress.js';

const HELP = `usage: evonas compare <experiment>... [--out DIR]

Draws the best-so-far curves (test accuracy of the best by validation) of
several experiments in one chart, grouped by space, algorithm and
inheritance, with each group's mean and min-max range across repeats.
Experiments without a report get one first. Writes DIR/compare.png,
compare.json and index.html (default DIR: compare).`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { out: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length === 0) throw new CliError(`expected at least one experiment folder\n\n${HELP}`);
  const out = resolve(str(p, 'out') ?? 'compare');
  const progress = new Progress();
  const { curves, bands } = await compareExperiments(p.positionals.map((d) => resolve(d)), out, (l) => progress.update(l)).finally(() => progress.done());
  for (const g of [...new Set(bands.map((b) => b.group))]) {
    const last = bands.filter((b) => b.group === g).at(-1)!;
    console.log(`${g}: best-so-far test accuracy at the end ${last.mean.toFixed(4)} (range ${last.lo.toFixed(4)}-${last.hi.toFixed(4)})`);
  }
  console.log(`wrote ${out}/index.html, compare.png and compare.json (${curves.length} experiments)`);
  return 0;
}
