/**
 * npm run bench:findings
 * The two papers' controls and findings, each arm an evonas sweep over seeds
 * on CIFAR-10, and what they show at this machine's scale, written to
 * docs/findings/<finding>/ (README.md with the table, the budget, the CPU
 * and the commands; compare.png with the arms' best-so-far bands):
 *   controls    Large-Scale Evolution Fig. 5: evolution vs the
 *               no-weight-inheritance control vs random search, equal time
 *   population  Fig. 6 (left): populations 5, 10 and 20 at equal time
 *   genetic     Genetic CNN 4.1.3: the genetic algorithm vs random search at
 *               equal evaluations (population 8, 4 generations)
 *   aging       regularized (aging) evolution vs the paper's tournament
 *   pareto      a search keeping accuracy against parameters vs accuracy
 *               alone: fronts, hypervolumes, the best under 20,000 parameters
 *   recombination  the paper's three recombinations (evolved mutation
 *               probabilities, weights, side-by-side fusion), each against
 *               mutation alone
 * env: FINDINGS (default all four, comma-separated), FINDINGS_SEEDS (1,2,3),
 * FINDINGS_BUDGET (5m per graph-space run), FINDINGS_STEPS (stages space:
 * training steps per individual, default 300), BENCH_DATA (data/cifar10,
 * imported from BENCH_DATA_SOURCE when missing), FINDINGS_RUNS (runs/findings),
 * FINDINGS_DOCS (docs/findings). Run again to resume: finished arms are kept.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SweepSummary } from '../src/report/sweep.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const evonas = join(root, 'bin', 'evonas');
const source = resolve(process.env.BENCH_DATA_SOURCE ?? join(root, '..', 'shared', 'datasets', 'cifar10-jpg.tar.gz'));
const data = resolve(process.env.BENCH_DATA ?? join(root, 'data', 'cifar10'));
const seeds = process.env.FINDINGS_SEEDS ?? '1,2,3';
const budget = process.env.FINDINGS_BUDGET ?? '5m';
const steps = process.env.FINDINGS_STEPS ?? '300';
const runs = resolve(process.env.FINDINGS_RUNS ?? join(root, 'runs', 'findings'));
const docs = resolve(process.env.FINDINGS_DOCS ?? join(root, 'docs', 'findings'));
const cpu = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;

interface Arm {
  name: string;
  args: string[];
}

interface Finding {
  name: string;
  title: string;
  /** What equal footing means here, for the README. */
  budget: string;
  arms: Arm[];
  /** Reads the arms' spreads (in arm order) and says what they show. */
  verdict: (s: SweepSummary[]) => string;
  /** More than the table: a section of the README (and files beside it in `dir`) from the arms' sweep folders. */
  extra?: (arms: string[], dir: string) => Promise<string>;
}

// The graph-space findings were measured before population 20, the finish, the learning-rate and channel floors became the defaults: pinned, so their
// commands repeat them and each arm differs from the others only in what the finding compares.
const asMeasured = ['--population', '10', '--finish', '0', '--min-lr', '0', '--min-channels', '1'];
const stagesRun = ['--space', 'stages', '--population', '8', '--generations', '4', '--steps', steps, '--time-budget', '2h'];
const gap = (a: SweepSummary, b: SweepSummary) => a.testAccuracy.mean - b.testAccuracy.mean;
/** A gap "beyond the seed spread": the means differ by more than the two standard deviations together. */
const beyond = (a: SweepSummary, b: SweepSummary) => gap(a, b) > a.testAccuracy.std + b.testAccuracy.std;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const compareLine = (a: SweepSummary, b: SweepSummary, an: string, bn: string) =>
  `${an} ${beyond(a, b) ? 'beats' : beyond(b, a) ? 'trails, beyond the seed spread,' : gap(a, b) > 0 ? 'is ahead of, within the seed spread,' : 'does not beat, within the seed spread,'} ${bn}: ${pct(a.testAccuracy.mean)} vs ${pct(b.testAccuracy.mean)} (gap ${pct(gap(a, b))}, stds ${pct(a.testAccuracy.std)} and ${pct(b.testAccuracy.std)})`;

const FINDINGS: Finding[] = [
  {
    name: 'controls',
    title: 'Large-Scale Evolution, Figure 5: evolution vs its controls at equal wall time',
    budget: `${budget} of wall time per run, population 10, no finish, no learning-rate or channel floor, default settings otherwise`,
    arms: [
      { name: 'evolution', args: ['--time-budget', budget, ...asMeasured] },
      { name: 'no-inheritance', args: ['--time-budget', budget, ...asMeasured, '--no-inheritance'] },
      { name: 'random-search', args: ['--time-budget', budget, ...asMeasured, '--algorithm', 'random'] },
    ],
    verdict: ([e, n, r]) => `${compareLine(e!, n!, 'Evolution', 'the no-inheritance control')}. ${compareLine(n!, r!, 'The no-inheritance control', 'random search')}.`,
  },
  {
    name: 'population',
    title: 'Large-Scale Evolution, Figure 6 (left): larger populations at equal time per individual',
    budget: `${budget} of wall time per run, 400 steps per child, no finish, no learning-rate or channel floor`,
    arms: [5, 10, 20].map((p) => ({ name: `population-${p}`, args: ['--time-budget', budget, '--population', String(p), '--finish', '0', '--min-lr', '0', '--min-channels', '1'] })),
    verdict: ([a, b, c]) => `${compareLine(b!, a!, 'Population 10', 'population 5')}. ${compareLine(c!, b!, 'Population 20', 'population 10')}.`,
  },
  {
    name: 'genetic',
    title: 'Genetic CNN, section 4.1.3: the genetic algorithm vs random search at equal evaluations',
    budget: `40 individuals per run (population 8, generation 0 and 4 more), ${steps} training steps each`,
    arms: [
      { name: 'genetic', args: [...stagesRun] },
      { name: 'random', args: [...stagesRun, '--algorithm', 'random'] },
    ],
    verdict: ([g, r]) => `${compareLine(g!, r!, 'The genetic algorithm', 'random search')}.`,
  },
  {
    name: 'pareto',
    title: 'Several objectives: accuracy against parameters, a Pareto-aware search against accuracy alone, at equal time',
    budget: `${budget} of wall time per run, default settings otherwise (population 20, the finish, the floors)`,
    arms: [
      { name: 'pareto', args: ['--time-budget', budget, '--objectives', 'accuracy,parameters'] },
      { name: 'accuracy', args: ['--time-budget', budget] },
    ],
    verdict: ([p, a]) => `By the best individual's test accuracy, ${compareLine(p!, a!, 'the Pareto-aware search', 'the search by accuracy alone')}.`,
    extra: paretoSection,
  },
  {
    name: 'recombination',
    title: "Large-Scale Evolution's three recombinations, each against mutation alone, at equal time",
    budget: `${budget} of wall time per run, default settings otherwise (population 20, the finish, the floors; a recombined child in four, --recombination-rate 0.25, the default)`,
    arms: [{ name: 'mutation', args: ['--time-budget', budget] }, ...['probabilities', 'weights', 'fusion'].map((form) => ({ name: form, args: ['--time-budget', budget, '--recombination', form] }))],
    verdict: ([m, ...forms]) => forms.map((r, i) => `${compareLine(r!, m!, `Recombination by ${['probabilities', 'weights', 'fusion'][i]}`, 'mutation alone')}.`).join(' '),
    extra: recombinationSection,
  },
  {
    name: 'aging',
    title: "Regularized (aging) evolution vs the paper's tournament at equal time",
    budget: `${budget} of wall time per run, population 10, no finish, no learning-rate or channel floor`,
    arms: [
      { name: 'aging', args: ['--time-budget', budget, ...asMeasured, '--algorithm', 'aging'] },
      { name: 'tournament', args: ['--time-budget', budget, ...asMeasured] },
    ],
    verdict: ([a, t]) => `${compareLine(a!, t!, 'Aging evolution', 'the tournament')}.`,
  },
];

/** Every run of the arms' sweeps: its arm (the sweep folder's name), seed and experiment folder. */
async function sweepRuns(arms: string[]): Promise<{ arm: string; seed: number; dir: string }[]> {
  const { readSweep } = await import('../src/report/sweep.js');
  return arms.flatMap((a) => readSweep(a).runs.map((r) => ({ arm: a.split('/').pop()!, seed: r.seed, dir: join(a, r.experiment) })));
}

/**
 * The pareto finding's own section: per run, the front of accuracy against
 * parameters over everything it evaluated (the accuracy-alone runs' fronts
 * are found afterwards, from their individuals), its hypervolume (parameters
 * scaled by the largest seen), and the most accurate network under 20,000
 * parameters by validation, tested once on the test split; a figure of every
 * individual with each run's front.
 */
async function paretoSection(arms: string[], dir: string): Promise<string> {
  const { openExperiment, loadNet, testSplit } = await import('../src/experiment/open.js');
  const { testOnce } = await import('../src/train/final.js');
  const { hypervolume, paretoFront } = await import('../src/evolution/pareto.js');
  const { render } = await import('../src/report/charts.js');
  const { spread } = await import('../src/report/sweep.js');
  const { readSweep } = await import('../src/report/sweep.js');
  const LIMIT = 20_000;
  const goals = { objectives: ['accuracy', 'parameters'] as ('accuracy' | 'parameters')[], constraints: {} };
  const runsOf = arms.flatMap((a) => readSweep(a).runs.map((r) => ({ arm: a.split('/').pop()!, seed: r.seed, dir: join(a, r.experiment) })));
  const loaded = [];
  for (const r of runsOf) {
    const x = await openExperiment(r.dir);
    const all = (await x.store.list()).filter((i) => i.fitness !== null && i.costs);
    loaded.push({ ...r, x, all });
  }
  const maxCost = Math.max(...loaded.flatMap((r) => r.all.map((i) => i.costs!.parameters)));
  const rows: string[] = [];
  const points: { arm: string; run: string; parameters: number; validation: number; front: boolean }[] = [];
  const hv = new Map<string, number[]>();
  const small = new Map<string, number[]>();
  for (const r of loaded) {
    const front = paretoFront(r.all, goals);
    const onFront = new Set(front.map((i) => i.id));
    const h = hypervolume(
      r.all.map((i) => ({ accuracy: i.fitness!, cost: i.costs!.parameters })),
      maxCost,
    );
    hv.set(r.arm, [...(hv.get(r.arm) ?? []), h]);
    for (const i of r.all) points.push({ arm: r.arm, run: `${r.arm} seed ${r.seed}`, parameters: i.costs!.parameters, validation: i.fitness!, front: onFront.has(i.id) });
    const under = r.all.filter((i) => i.costs!.parameters <= LIMIT && i.hasWeights).sort((a, b) => b.fitness! - a.fitness! || (a.id < b.id ? -1 : 1))[0];
    let test = '-';
    if (under) {
      const split = testSplit(r.x);
      const net = await loadNet(r.x, under);
      try {
        const t = (await testOnce(net, split.data)).accuracy;
        small.set(r.arm, [...(small.get(r.arm) ?? []), t]);
        test = pct(t);
      } finally {
        net.dispose();
        split.data.dispose();
      }
    }
    rows.push(
      `| ${r.arm} | ${r.seed} | ${r.all.length} | ${front.length} | ${h.toFixed(4)} | ${under ? `${under.id} (${under.costs!.parameters.toLocaleString('en')} parameters, validation ${pct(under.fitness!)})` : 'none'} | ${test} |`,
    );
    await r.x.close();
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 720,
    height: 360,
    title: "Validation accuracy against parameters: every individual of every run, and each run's front",
    layer: [
      {
        data: { values: points.filter((p) => !p.front) },
        mark: { type: 'point', opacity: 0.25 },
        encoding: {
          x: { field: 'parameters', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'validation', type: 'quantitative', scale: { zero: false } },
          color: { field: 'arm', type: 'nominal' },
        },
      },
      {
        data: { values: points.filter((p) => p.front).sort((a, b) => a.parameters - b.parameters) },
        mark: { type: 'line', interpolate: 'step-after', point: true },
        encoding: {
          x: { field: 'parameters', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'validation', type: 'quantitative' },
          color: { field: 'arm', type: 'nominal' },
          detail: { field: 'run' },
        },
      },
    ],
  };
  writeFileSync(join(dir, 'fronts.png'), (await render(spec as never)).png);
  const f = (xs: number[] | undefined, g: (x: number) => string) => (xs?.length ? `${g(spread(xs).mean)} ± ${g(spread(xs).std)} (n ${xs.length})` : '-');
  const names = [...new Set(loaded.map((r) => r.arm))];
  const summary = names.map((a) => `| ${a} | ${f(hv.get(a), (x) => x.toFixed(4))} | ${f(small.get(a), pct)} |`).join('\n');
  return `## The fronts\n\nPer run: the front of validation accuracy against parameters over every individual it evaluated (found afterwards for the runs by accuracy alone), its hypervolume (parameters scaled by the largest any run saw, ${maxCost.toLocaleString('en')}), and the most accurate network under ${LIMIT.toLocaleString('en')} parameters by validation, tested once.\n\n| arm | hypervolume | test accuracy of the best under ${LIMIT.toLocaleString('en')} parameters |\n|---|---|---|\n${summary}\n\n| arm | seed | individuals | on its front | hypervolume | best under ${LIMIT.toLocaleString('en')} parameters | its test accuracy |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}\n\n![every individual and each run's front](fronts.png)\n\n`;
}

/**
 * The recombination finding's own section: per run, the children bred, how
 * many had two parents, and what a step gained, recombined against mutated
 * (a child's validation accuracy minus its first parent's, its mean), with
 * the best individual's size and how many recombinations its lineage holds.
 */
async function recombinationSection(arms: string[]): Promise<string> {
  const { openExperiment, rankByValidation } = await import('../src/experiment/open.js');
  const rows: string[] = [];
  for (const r of await sweepRuns(arms)) {
    const x = await openExperiment(r.dir);
    const all = await x.store.list();
    const byId = new Map(all.map((i) => [i.id, i]));
    const bred = all.filter((i) => i.parent !== null && !(i.mutations[0] as { detail?: { initialTraining?: number } } | undefined)?.detail?.initialTraining);
    const gain = (xs: typeof all) => {
      const g = xs.filter((i) => i.fitness !== null && byId.get(i.parent!)?.fitness != null).map((i) => i.fitness! - byId.get(i.parent!)!.fitness!);
      return g.length ? `${((100 * g.reduce((p, q) => p + q, 0)) / g.length).toFixed(2)} pts (n ${g.length})` : '-';
    };
    const two = bred.filter((i) => i.parents?.length === 2);
    const best = rankByValidation(all)[0];
    let inLineage = 0;
    for (let i = best; i; i = i.parent ? byId.get(i.parent) : undefined) if (i.parents?.length === 2) inLineage++;
    rows.push(
      `| ${r.arm} | ${r.seed} | ${bred.length} | ${two.length} | ${gain(two)} | ${gain(bred.filter((i) => !(i.parents?.length === 2)))} | ${best?.costs?.parameters.toLocaleString('en') ?? '-'} | ${inLineage} |`,
    );
    await x.close();
  }
  return `## The children

Per run: children bred, those with two parents, the mean change in validation accuracy from a child's first parent (recombined children, then mutated ones; a child trains 400 steps more than its parent, so most gain), and the best individual's parameters and how many recombined children its lineage holds.

| arm | seed | children | of two parents | gain, recombined | gain, mutated | best: parameters | recombinations in its lineage |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

`;
}

function run(args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [evonas, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString().replace(/\r?[^\n\r]*(alive \d+ {2}children|tested |testing |evaluat)[^\n\r]*/g, '');
      if (text.trim()) process.stderr.write(text);
    });
    child.on('close', (code) => (code === 0 ? res() : rej(new Error(`evonas ${args.join(' ')} exited with ${code}`))));
  });
}

const wanted = (process.env.FINDINGS ?? FINDINGS.map((f) => f.name).join(',')).split(',');
for (const w of wanted) if (!FINDINGS.some((f) => f.name === w)) throw new Error(`FINDINGS: unknown finding "${w}" (expected ${FINDINGS.map((f) => f.name).join(', ')})`);
console.log(`CPU: ${cpu}; seeds ${seeds}; findings ${wanted.join(', ')}`);
if (!existsSync(join(data, 'manifest.json'))) await run(['data', 'import', source, '--out', data]);

const lines: string[] = [];
for (const f of FINDINGS.filter((x) => wanted.includes(x.name))) {
  const commands: string[] = [];
  const results: SweepSummary[] = [];
  for (const arm of f.arms) {
    const out = join(runs, f.name, arm.name);
    const args = existsSync(join(out, 'sweep.json')) ? ['sweep', '--resume', out] : ['sweep', '--seeds', seeds, '--data', data, '--out', out, ...arm.args];
    commands.push(`evonas sweep --seeds ${seeds} --data ${relative(root, data)} --out ${relative(root, out)} ${arm.args.join(' ')}`);
    console.log(`\n== ${f.name} / ${arm.name}`);
    await run(args);
    results.push(JSON.parse(readFileSync(join(out, 'report', 'summary.json'), 'utf8')) as SweepSummary);
  }
  const dir = join(docs, f.name);
  mkdirSync(dir, { recursive: true });
  await run(['compare', ...f.arms.map((a) => join(runs, f.name, a.name)), '--out', dir]);
  const verdict = f.verdict(results);
  const extra = f.extra
    ? await f.extra(
        f.arms.map((a) => join(runs, f.name, a.name)),
        dir,
      )
    : '';
  const rows = f.arms.map((a, i) => {
    const t = results[i]!.testAccuracy;
    return `| ${a.name} | ${t.n} | ${pct(t.mean)} ± ${pct(t.std)} | ${pct(t.min)} | ${pct(t.max)} | ${results[i]!.seeds.map((s) => `${s.seed}: ${pct(s.testAccuracy)}`).join(', ')} |`;
  });
  writeFileSync(
    join(dir, 'README.md'),
    `# ${f.title}\n\nBudget: ${f.budget}. Seeds ${seeds}. CPU: ${cpu}. Per run: the best individual by validation accuracy, tested once on CIFAR-10's test split.\n\n| arm | seeds | test accuracy mean ± std | min | max | per seed |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n\n${verdict}\n\n![best-so-far bands](compare.png)\n\n${extra}Made with \`npm run bench:findings\` (FINDINGS=${f.name}), which ran:\n\n\`\`\`sh\n${commands.join('\n')}\nevonas compare ${f.arms.map((a) => relative(root, join(runs, f.name, a.name))).join(' ')} --out ${relative(root, dir)}\n\`\`\`\n`,
  );
  lines.push(`${f.name}: ${f.arms.map((a, i) => `${a.name} ${pct(results[i]!.testAccuracy.mean)}±${pct(results[i]!.testAccuracy.std)}`).join(', ')}. ${verdict}`);
  console.log(lines.at(-1));
}
console.log(`\nwrote ${relative(root, docs)}/<finding>/README.md and compare.png`);
for (const l of lines) console.log(l);
