/**
 * Several experiments' best-so-far curves in one chart, grouped by what was
 * run (space, algorithm, inheritance): each group's mean with its min-max
 * band across repeats (Real et al. 2017's repeatability figure, and its
 * comparison with the random-search and no-inheritance controls).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/fs.js';
import { buildReport } from './build.js';
import type { ReportSummary } from './build.js';
import { EvonasError } from '../util/errors.js';
import { compareSpec, render, SIMULATED_CLOCK, WALL_CLOCK } from './charts.js';
import type { BandPoint } from './charts.js';
import { esc, STYLE } from './html.js';

export interface Curve {
  experiment: string;
  group: string;
  points: { hours: number; test: number }[];
  /** When the run's last individual was born (hours); a curve is not drawn past it. */
  end: number;
}

export function groupOf(s: Pick<ReportSummary, 'space' | 'algorithm' | 'inheritance'>): string {
  return `${s.space}/${s.algorithm}${s.inheritance ? '' : ' (no inheritance)'}`;
}

/** The test accuracy of the best so far at `hours`, or undefined before the first and after the run's end. */
function valueAt(c: Curve, hours: number): number | undefined {
  if (hours > c.end + 1e-9) return undefined;
  let v: number | undefined;
  for (const p of c.points) if (p.hours <= hours) v = p.test;
  return v;
}

/** Per group, at every time any of its curves changes: the mean, min and max over the curves that have begun. */
export function bands(curves: Curve[]): BandPoint[] {
  const out: BandPoint[] = [];
  for (const group of [...new Set(curves.map((c) => c.group))]) {
    const members = curves.filter((c) => c.group === group);
    const times = [...new Set(members.flatMap((c) => [...c.points.map((p) => p.hours), c.end]))].sort((a, b) => a - b);
    for (const t of times) {
      const vs = members.map((c) => valueAt(c, t)).filter((v): v is number => v !== undefined);
      if (vs.length === 0) continue;
      out.push({ group: `${group} (n=${members.length})`, hours: t, mean: vs.reduce((a, b) => a + b, 0) / vs.length, lo: Math.min(...vs), hi: Math.max(...vs) });
    }
  }
  return out;
}

/**
 * @param group names each experiment's band; by default what was run (space,
 * algorithm, inheritance). A sweep's experiments share the sweep's name.
 */
export async function compareExperiments(
  dirs: string[],
  out: string,
  log: (line: string) => void = () => {},
  group: (dir: string, s: ReportSummary) => string = (_d, s) => groupOf(s),
): Promise<{ curves: Curve[]; bands: BandPoint[] }> {
  const curves: Curve[] = [];
  const clocks = new Set<string>();
  for (const dir of dirs) {
    const file = join(dir, 'report', 'summary.json');
    let s: ReportSummary;
    if (existsSync(file)) s = JSON.parse(readFileSync(file, 'utf8')) as ReportSummary;
    else {
      log(`${dir}: no report yet; making it`);
      s = await buildReport(dir, { log });
    }
    clocks.add(s.clock ?? 'wall'); // reports before the simulated clock existed were all on wall time
    const points = s.bestSoFar.filter((p) => p.testAccuracy !== null).map((p) => ({ hours: p.hours, test: p.testAccuracy! }));
    curves.push({ experiment: dir, group: group(dir, s), points, end: Math.max(s.wallSeconds / 3600, ...points.map((p) => p.hours)) });
  }
  if (clocks.size > 1) throw new EvonasError('ERR_INPUT', 'these experiments mix wall time and a simulated clock (table-driven runs): compare each kind on its own');
  const b = bands(curves);
  const chart = await render(compareSpec(b, 'Best so far (test accuracy): mean and range across experiments', clocks.has('simulated') ? SIMULATED_CLOCK : WALL_CLOCK));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'compare.png'), chart.png);
  writeFileAtomic(join(out, 'compare.json'), `${JSON.stringify({ curves, bands: b }, null, 2)}\n`);
  const rows = curves
    .map((c) => `<tr><td class="l">${esc(c.group)}</td><td class="l">${esc(c.experiment)}</td><td>${c.points.length ? `${(100 * c.points[c.points.length - 1]!.test).toFixed(2)}%` : '–'}</td></tr>`)
    .join('\n');
  writeFileAtomic(
    join(out, 'index.html'),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>evonas compare</title><style>${STYLE}</style></head><body><h1>evonas compare</h1>
<figure>${chart.svg}<figcaption>Each group's mean best-so-far test accuracy with its min-max band (<a href="compare.png">PNG</a>)</figcaption></figure>
<table><tr><th class="l">group</th><th class="l">experiment</th><th>final test accuracy</th></tr>${rows}</table></body></html>\n`,
  );
  return { curves, bands: b };
}
