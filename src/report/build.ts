/**
 * `evonas report`: picks the best individual by validation accuracy, tests
 * it (and the top K as a majority-vote ensemble, and every best-so-far
 * individual for the paper's curve) once on the test split, and writes
 * report/summary.json, report/index.html (self-contained) and PNG copies of
 * the charts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineDataset } from '../engine/dataset.js';
import { formatStatsRow } from '../evolution/generational.js';
import type { GenerationStats } from '../evolution/generational.js';
import { analyze } from '../net/analyze.js';
import { compileIndividual, spaceOf } from '../spaces/index.js';
import type { LookupTable } from '../spaces/index.js';
import { GenerationLedger, weightsSince } from '../store/index.js';
import type { Individual } from '../store/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { readRun } from '../store/run-state.js';
import { utilization } from '../store/worker-reports.js';
import { bestSoFarSpec, figure1Spec, generationsSpec, paretoSpec, render, SIMULATED_CLOCK, WALL_CLOCK } from './charts.js';
import { paretoFront } from '../evolution/pareto.js';
import type { Cost, Objective } from '../evolution/pareto.js';
import { EvonasError } from '../util/errors.js';
import { StagnationLog, withRemedies } from '../evolution/stagnation.js';
import type { StagnationEvent } from '../evolution/stagnation.js';
import type { Dot } from './charts.js';
import { accuracy, bestSoFar, lineage, majorityVote, predictions, softmax } from './curves.js';
import type { Vote } from './curves.js';

/** The paper's ensemble: the two best by validation accuracy. */
export const DEFAULT_ENSEMBLE = 2;
import { reportHtml } from './html.js';
import { selectionFitness } from '../evolution/selection.js';
import { loadNet, openExperiment, rankByValidation, testSplit } from '../experiment/open.js';
import type { Experiment } from '../experiment/open.js';

export interface ReportSummary {
  experiment: string;
  space: string;
  algorithm: string;
  inheritance: boolean;
  generatedAt: string;
  best: { id: string; validationAccuracy: number; testAccuracy: number; params: number; flops: number; stepsTrained: number; bits?: string; cell?: string };
  /** The top-K majority vote; absent for a table-driven run (looked-up individuals make no predictions). */
  ensemble?: { k: number; ids: string[]; testAccuracy: number };
  /** With several objectives: they, and the Pareto front of every evaluated individual, each member tested once (its costs under the objectives' names). */
  objectives?: readonly Objective[];
  pareto?: ({ id: string; validationAccuracy: number; testAccuracy: number } & Partial<Record<Cost, number>>)[];
  /** 'simulated' for a table-driven run: its times (hours, wallSeconds) are on the simulated clock. */
  clock: 'wall' | 'simulated';
  /** A table-driven run's benchmark, and its best test accuracy for scale. */
  table?: { path: string; dataset: string; bestTest: number };
  individuals: number;
  alive: number;
  failed: number;
  /** Sum over all individuals of Ft*Nt + Fv*Nv (training and validation FLOPs). */
  totalFlops: number;
  wallSeconds: number;
  workerUtilization: number | null;
  bestSoFar: { hours: number; id: string; validationAccuracy: number; testAccuracy: number | null }[];
  top: { id: string; validationAccuracy: number; testAccuracy: number; params: number; flops: number; stepsTrained: number; ageHours: number; state: string }[];
  generations?: GenerationStats[];
  /** Stagnation noticed during the run and the remedies applied (none when the policy was off). */
  stagnation?: StagnationEvent[];
  /**
   * Each weight reset (the schedule's and stagnation's) that came during the
   * run, audited from the records: individuals retrained from scratch after
   * it, and children whose training began after it (and before the next)
   * from a parent whose weights predate it, which must be 0: no individual
   * carrying pre-reset weights is a parent once the reset is known.
   */
  weightResets?: { at: number; retrained: number; bredFromStale: number }[];
  config: unknown;
}

export interface ReportOptions {
  ensemble?: number;
  /** Individuals in the top table (default 10). */
  top?: number;
  log?: (line: string) => void;
  /** Where to write the report (default <experiment>/report; required for an experiment in a database). */
  out?: string;
  /** The dataset's path on this host, when not the one the experiment records. */
  data?: string;
}

/** Gives an individual's test accuracy (each measured once). */
interface Tester {
  accuracy(i: Individual): Promise<number>;
}

/** A table-driven run's: the test accuracy its benchmark recorded. */
class TableTester implements Tester {
  constructor(private readonly table: LookupTable) {}
  async accuracy(i: Individual): Promise<number> {
    return this.table.test(i.dna);
  }
}

/** Tests individuals once each on the test split, keeping their predictions. */
class SplitTester implements Tester {
  private readonly cache = new Map<string, Vote>();
  constructor(
    private readonly x: Experiment,
    private readonly data: EngineDataset,
    private readonly labels: Int32Array,
    private readonly log: (line: string) => void,
  ) {}

  async predict(i: Individual): Promise<Vote> {
    let p = this.cache.get(i.id);
    if (!p) {
      const net = await loadNet(this.x, i);
      try {
        const { logits } = await net.predict(this.data);
        p = { classes: predictions(logits, this.x.io.classes), probabilities: softmax(logits, this.x.io.classes) };
      } finally {
        net.dispose();
      }
      this.cache.set(i.id, p);
      this.log(`tested ${i.id}: ${accuracy(p.classes, this.labels).toFixed(4)} (${this.cache.size} so far)`);
    }
    return p;
  }

  async accuracy(i: Individual): Promise<number> {
    return accuracy((await this.predict(i)).classes, this.labels);
  }
}

/** The report's table of the top individuals by validation, each tested once. */
async function topRows(
  ranked: Individual[],
  tester: Tester,
  f: { fitness: Map<string, number>; hours: (iso: string) => number; flopsOf: (i: Individual) => { params: number; forwardFlops: number } },
): Promise<ReportSummary['top']> {
  const top: ReportSummary['top'] = [];
  for (const i of ranked) {
    const an = f.flopsOf(i);
    top.push({
      id: i.id,
      validationAccuracy: f.fitness.get(i.id)!,
      testAccuracy: await tester.accuracy(i),
      params: an.params,
      flops: an.forwardFlops,
      stepsTrained: i.stepsTrained,
      ageHours: f.hours(i.bornAt),
      state: i.state,
    });
  }
  return top;
}

/**
 * Picks the best by validation, tests it, the top-K ensemble, every
 * best-so-far individual and the top N once each on the test split, and
 * writes <experiment>/report/ (or `o.out`): summary.json, index.html, PNGs.
 * @param location the experiment's folder or postgresql:// URL.
 * @throws {EvonasError} ERR_INPUT when nothing is trained yet, or a database's experiment is given no `o.out`.
 */
export async function buildReport(location: string, o: ReportOptions = {}): Promise<ReportSummary> {
  const x = await openExperiment(location, o.data ? { data: o.data } : {});
  try {
    const out = o.out ?? (x.dir ? join(x.dir, 'report') : undefined);
    if (!out) throw new EvonasError('ERR_INPUT', `${x.name}: the experiment lives in a database; say where to write its report (--out <folder>)`, ['out']);
    return await reportOn(x, out, o);
  } finally {
    await x.close();
  }
}

async function reportOn(x: Experiment, out: string, o: ReportOptions): Promise<ReportSummary> {
  const log = o.log ?? (() => {});
  const dir = x.name;
  const all = await x.store.list();
  const ranked = rankByValidation(all, { weights: !x.table, constraints: x.config.constraints });
  const best = ranked[0];
  if (!best) throw new EvonasError('ERR_INPUT', `${dir}: no ${x.table ? 'evaluated individual' : 'trained individual with weights'} yet; nothing to report`);
  const fitness = selectionFitness(all);
  const run = await readRun(x.home.docs, x.name);
  const start = Date.parse(run.startedAt);
  const hours = (iso: string) => (Date.parse(iso) - start) / 3_600_000;
  const split = x.table ? undefined : testSplit(x);
  const tester: Tester = split ? new SplitTester(x, split.data, split.labels, log) : new TableTester(x.table!);
  try {
    let ensemble: ReportSummary['ensemble'];
    if (split && tester instanceof SplitTester) {
      const k = Math.min(o.ensemble ?? DEFAULT_ENSEMBLE, ranked.length);
      const members = ranked.slice(0, k);
      const votes = majorityVote(await Promise.all(members.map((m) => tester.predict(m))), x.io.classes);
      ensemble = { k, ids: members.map((m) => m.id), testAccuracy: accuracy(votes, split.labels) };
    }
    const flopsOf = (i: Individual) => analyze(compileIndividual(i.space, i.dna, x.io, x.config));
    const a = flopsOf(best);
    const curve: ReportSummary['bestSoFar'] = [];
    for (const i of bestSoFar(all)) {
      curve.push({ hours: hours(i.bornAt), id: i.id, validationAccuracy: i.fitness!, testAccuracy: i.hasWeights || x.table ? await tester.accuracy(i) : null });
    }
    const top = await topRows(ranked.slice(0, o.top ?? 10), tester, { fitness, hours, flopsOf });
    const last = Math.max(...all.map((i) => Date.parse(i.bornAt)), start);
    const u = await utilization(x.home.docs);
    const generations = spaceOf(x.config.space).breeding !== undefined ? await new GenerationLedger(x.home.docs, x.home.leases).stats<GenerationStats>() : undefined;
    const events = await new StagnationLog(x.home.docs).list();
    const resets = [...new Set(withRemedies(x.config.schedule, events).weightResets ?? [])].filter((t) => start + 1000 * t <= last).sort((a, b) => a - b);
    const goals = { objectives: x.config.objectives, constraints: x.config.constraints };
    const costsOf = (i: Individual) => i.costs ?? { parameters: flopsOf(i).params, flops: flopsOf(i).forwardFlops };
    let pareto: ReportSummary['pareto'];
    if (goals.objectives.length > 1) {
      // The front of everything the search evaluated (with weights, where it trains), each member tested once.
      const pool = all.filter((i) => i.fitness !== null && (i.hasWeights || x.table)).map((i) => ({ ...i, costs: costsOf(i) }));
      pareto = [];
      for (const m of paretoFront(pool, goals)) {
        const costs = Object.fromEntries(goals.objectives.filter((g) => g !== 'accuracy').map((g) => [g, m.costs[g as Cost]]));
        pareto.push({ id: m.id, validationAccuracy: m.fitness!, testAccuracy: await tester.accuracy(m), ...costs });
      }
    }
    const summary: ReportSummary = {
      experiment: dir,
      space: x.config.space,
      algorithm: x.config.algorithm,
      inheritance: x.config.inheritance,
      generatedAt: new Date().toISOString(),
      best: {
        id: best.id,
        validationAccuracy: fitness.get(best.id)!,
        testAccuracy: await tester.accuracy(best),
        params: a.params,
        flops: a.forwardFlops,
        stepsTrained: best.stepsTrained,
        ...spaceOf(best.space).describe(best.dna),
      },
      ...(ensemble ? { ensemble } : {}),
      ...(pareto ? { objectives: goals.objectives, pareto } : {}),
      clock: x.table ? 'simulated' : 'wall',
      ...(x.table ? { table: { path: x.table.path, dataset: x.table.dataset, bestTest: x.table.bestTest } } : {}),
      individuals: all.length,
      alive: all.filter((i) => i.state === 'alive').length,
      failed: all.filter((i) => i.failure !== undefined).length,
      totalFlops: all.reduce((s, i) => s + i.trainFlops + i.validationFlops, 0),
      wallSeconds: (last - start) / 1000,
      workerUtilization: u.wall && !x.table ? u.busy / u.wall : null,
      bestSoFar: curve,
      top,
      ...(generations ? { generations } : {}),
      stagnation: events,
      ...(resets.length ? { weightResets: auditResets(all, resets, start) } : {}),
      config: x.config,
    };
    await writeReport(x, all, summary, out, start);
    return summary;
  } finally {
    split?.data.dispose();
  }
}

/**
 * What happened after each weight reset at `resets` (seconds since `start`):
 * see ReportSummary.weightResets. A child's training began at its birth less
 * its training and evaluation; a step begun before the reset may still pass
 * pre-reset weights to a child that starts training just after it (that
 * child is then stale and retrained), so children whose training began
 * within a second of the reset are not counted.
 */
export function auditResets(all: Individual[], resets: number[], start: number): { at: number; retrained: number; bredFromStale: number }[] {
  const byId = new Map(all.map((i) => [i.id, i]));
  const detail = (i: Individual) => ((i.mutations ?? [])[0] as { detail?: Record<string, number> } | undefined)?.detail ?? {};
  return resets.map((at, k) => {
    const [from, to] = [start + 1000 * at, k + 1 < resets.length ? start + 1000 * resets[k + 1]! : Number.POSITIVE_INFINITY];
    const born = (i: Individual) => Date.parse(i.bornAt);
    const retrained = all.filter((i) => detail(i).weightReset && born(i) >= from && born(i) < to).length;
    const bredFromStale = all.filter((i) => {
      if (!i.parent || detail(i).weightReset || detail(i).initialTraining) return false;
      const began = born(i) - 1000 * (i.timing.train + i.timing.evaluate);
      if (began < from + 1000 || began >= to) return false;
      const p = byId.get(i.parent);
      return p !== undefined && Date.parse(weightsSince(p)) < from;
    }).length;
    return { at, retrained, bredFromStale };
  });
}

function diagram(i: Individual, x: Experiment, title: string): string {
  return spaceOf(i.space).render(i.dna, x.io, title);
}

/** What a mutation record says, in a few words. */
export function describeMutations(i: Individual): string {
  const ms = (i.mutations ?? []) as { type: string; detail?: Record<string, unknown>; with?: string; stages?: number[]; flipped?: unknown[] }[];
  if (ms.length === 0) return i.parent ? 'copy' : 'initial individual';
  return ms
    .map((m) => {
      if (m.type === 'identity' && m.detail?.initialTraining) return 'initial training';
      if (m.type === 'crossover') return `crossover with ${m.with} (stages ${(m.stages ?? []).map((s) => s + 1).join(', ') || 'none'})`;
      if (m.type === 'mutation') return `mutation (${(m.flipped ?? []).length} bits flipped)`;
      if (m.type === 'recombine') {
        const { form, ...rest } = m.detail ?? {};
        const more = Object.entries(rest).map(([k, v]) => `${k} ${v}`);
        return `recombination by ${form} with ${i.parents?.[1] ?? 'a second parent'}${more.length ? ` (${more.join(', ')})` : ''}`;
      }
      const d = Object.entries(m.detail ?? {})
        .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toFixed(4) : v}`)
        .join(', ');
      return d ? `${m.type} (${d})` : m.type;
    })
    .join(' + ');
}

async function writeReport(x: Experiment, all: Individual[], s: ReportSummary, out: string, start: number): Promise<void> {
  mkdirSync(out, { recursive: true });
  const byId = new Map(all.map((i) => [i.id, i]));
  const line = lineage(byId, s.best.id);
  const onLine = new Set(line.map((i) => i.id));
  const dots: Dot[] = all
    .filter((i) => i.fitness !== null)
    .map((i) => ({ id: i.id, hours: (Date.parse(i.bornAt) - start) / 3_600_000, validation: i.fitness!, state: i.state, ancestor: onLine.has(i.id) }));
  const label = `${x.config.space} space, ${x.config.algorithm}${x.table ? `, looked up in the ${x.table.dataset} table` : x.config.inheritance ? '' : ', no inheritance'}`;
  const clock = s.clock === 'simulated' ? SIMULATED_CLOCK : WALL_CLOCK;
  const charts: Record<string, { svg: string; png: Buffer }> = {
    figure1: await render(
      figure1Spec(
        dots,
        `Every individual (${label})`,
        (s.stagnation ?? []).map((e) => ({
          hours: e.at / 3600,
          label: e.weightReset !== undefined ? (e.mutationRate ? 'stagnation: mutation rate raised, weights reset' : 'stagnation: weights reset') : 'stagnation: mutation rate raised',
        })),
        clock,
      ),
    ),
    'best-so-far': await render(
      bestSoFarSpec(
        s.bestSoFar.flatMap((p) => [
          ...(p.testAccuracy === null ? [] : [{ hours: p.hours, accuracy: p.testAccuracy, kind: 'test' as const }]),
          { hours: p.hours, accuracy: p.validationAccuracy, kind: 'validation' as const },
        ]),
        'Best so far: chosen by validation, reported on test',
        clock,
      ),
    ),
  };
  if (s.generations?.length) charts.generations = await render(generationsSpec(s.generations, 'Validation accuracy per generation'));
  if (s.pareto) {
    const onFront = new Set(s.pareto.map((p) => p.id));
    for (const cost of (s.objectives ?? []).filter((o): o is Cost => o !== 'accuracy')) {
      const points = all.filter((i) => i.fitness !== null && i.costs?.[cost] !== undefined).map((i) => ({ id: i.id, cost: i.costs![cost]!, validation: i.fitness!, front: onFront.has(i.id) }));
      charts[`pareto-${cost}`] = await render(paretoSpec(points, cost, `Validation accuracy against ${cost}: every individual, the front in red (${label})`));
    }
  }
  for (const [name, c] of Object.entries(charts)) writeFileSync(join(out, `${name}.png`), c.png);
  const shown = line.filter((i) => i.fitness !== null).slice(-12);
  const diagrams = shown.map((i) => ({
    id: i.id,
    caption: `${i.id}: validation ${i.fitness!.toFixed(4)}, ${describeMutations(i)}`,
    svg: diagram(i, x, `${i.id} (validation ${i.fitness!.toFixed(4)})`),
  }));
  const table = s.generations ? [`Gen    Max %   Min %   Avg %   Med %  Std-D  Best individual`, ...s.generations.map(formatStatsRow)] : undefined;
  writeFileAtomic(
    join(out, 'index.html'),
    reportHtml(s, { charts: Object.fromEntries(Object.entries(charts).map(([k, v]) => [k, v.svg])), diagrams, lineageLength: line.length, generationsTable: table }),
  );
  writeFileAtomic(join(out, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`);
}
