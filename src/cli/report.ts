import { join, resolve } from 'node:path';
import { buildReport, DEFAULT_ENSEMBLE } from '../report/build.js';
import { formatSpread, isSweep, reportSweep } from '../report/sweep.js';
import { isStoreUrl } from '../store/index.js';
import { CliError, experimentArg, intOption, parse, str } from './args.js';
import { Progress } from './progress.js';

const HELP = `usage: evonas report <experiment> [--ensemble K] [--top N] [--out DIR] [--data DIR]
       evonas report <postgresql:// URL> --out DIR [--ensemble K] [--top N] [--data DIR]
       evonas report <sweep>

Picks the best individual by validation accuracy (never by test), evaluates
it once on the test split, evaluates the top K by validation as a
majority-vote ensemble (default K 2, the paper's; classes with equal votes
tie-break by the members' summed softmax probabilities) and
every best-so-far individual (the paper's curve), and writes
<experiment>/report/summary.json, index.html (self-contained) and PNGs.
Of a sweep (evonas sweep): each finished seed's report, then the table of
seeds with the mean, standard deviation, minimum and maximum, and the
best-so-far band, in <sweep>/report/.

  --out DIR    where to write the report (default <experiment>/report;
               required for an experiment in PostgreSQL)
  --data DIR   the dataset cache on this host, when it is not at the path
               the experiment records`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { ensemble: { type: 'string' }, top: { type: 'string' }, out: { type: 'string' }, data: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const dir = experimentArg(p.positionals[0]!);
  const out = str(p, 'out');
  const data = str(p, 'data');
  const progress = new Progress();
  if (!isStoreUrl(dir) && isSweep(dir)) {
    const s = await reportSweep(dir, (line) => progress.update(line)).finally(() => progress.done());
    console.log('seed  validation  test    ensemble  parameters  individuals');
    for (const r of s.seeds)
      console.log(
        `${String(r.seed).padEnd(4)}  ${r.validationAccuracy.toFixed(4)}      ${r.testAccuracy.toFixed(4)}  ${r.ensembleTestAccuracy === null ? '     -' : r.ensembleTestAccuracy.toFixed(4)}    ${String(r.params).padStart(10)}  ${String(r.individuals).padStart(11)}`,
      );
    console.log(`test accuracy: ${formatSpread(s.testAccuracy)}; budget ${(s.budgetSeconds / 60).toFixed(1)} min per seed`);
    console.log(`wrote ${join(dir, 'report', 'sweep.html')} and summary.json`);
    return 0;
  }
  const s = await buildReport(dir, {
    ensemble: intOption(str(p, 'ensemble'), '--ensemble', DEFAULT_ENSEMBLE, 1),
    top: intOption(str(p, 'top'), '--top', 10, 1),
    log: (line) => progress.update(line),
    ...(out ? { out: resolve(out) } : {}),
    ...(data ? { data: resolve(data) } : {}),
  }).finally(() => progress.done());
  const pct = (x: number) => x.toFixed(4);
  console.log(`best by validation: ${s.best.id}  validation ${pct(s.best.validationAccuracy)}  test ${pct(s.best.testAccuracy)}  ${s.best.params.toLocaleString('en')} parameters`);
  if (s.ensemble) console.log(`top-${s.ensemble.k} ensemble (majority vote): test ${pct(s.ensemble.testAccuracy)}`);
  if (s.table) console.log(`looked up in ${s.table.path} (${s.table.dataset}): the best test accuracy in the whole table is ${pct(s.table.bestTest)}`);
  console.log(
    `${s.individuals} individuals, ${(s.totalFlops / 1e12).toFixed(2)} TFLOP (Ft·Nt + Fv·Nv), ${s.clock === 'simulated' ? `simulated ${(s.wallSeconds / 3600).toFixed(2)} h` : `wall ${(s.wallSeconds / 60).toFixed(1)} min`}`,
  );
  console.log(`wrote ${join(out ? resolve(out) : join(dir, 'report'), 'index.html')} and summary.json`);
  return 0;
}
