/**
 * Genetic CNN's generational algorithm (Xie & Yuille 2017, Algorithm 1) and
 * the random-search baseline over the same space, as plans that any worker
 * can compute: generation t+1 is a pure function of generation t's results
 * and a random stream derived from the seed and t. Workers then claim the
 * plan's slots one by one (src/store/generations.ts) and train each from
 * scratch; the generation ends when every slot has a result.
 */
import type { Rng } from '../util/rng.js';
import { createRng } from '../util/rng.js';
import type { IndividualRecord, PopulationStore } from '../store/types.js';
import type { GenerationLog } from '../store/types.js';
import type { Evaluated, PlanSlot, SearchSpace } from '../spaces/index.js';
import { crowdedTournaments, singleObjective, survivorSelection } from './pareto.js';
import type { Goals } from './pareto.js';
import type { StepOutcome } from './types.js';

export type { Evaluated, PlanSlot } from '../spaces/index.js';

export const GENERATIONAL_ALGORITHMS = ['generational', 'random'] as const;

export interface GenerationalSettings {
  algorithm: 'generational' | 'random';
  population: number;
  seed: number;
  /** A generational space (one that breeds) and the experiment's settings for it. */
  space: SearchSpace;
  settings: unknown;
  /** The objectives and constraints; accuracy alone (absent, or one objective and no constraint) is Genetic CNN's loop. */
  goals?: Goals;
}

/** Whether the generations are bred by NSGA-II (several objectives or a constraint) rather than Genetic CNN's roulette. */
const nsga = (s: GenerationalSettings) => s.algorithm === 'generational' && s.goals !== undefined && !singleObjective(s.goals);

export interface Plan {
  generation: number;
  slots: PlanSlot[];
}

/** The paper's Table 1 row, plus who was best. */
export interface GenerationStats {
  generation: number;
  individuals: number;
  max: number;
  min: number;
  mean: number;
  median: number;
  std: number;
  best: { id: string; bits: string; fitness: number };
}

const rngFor = (s: GenerationalSettings, t: number): Rng => createRng(s.seed).fork(`generation-${t}`);

function breedingOf(s: GenerationalSettings) {
  const b = s.space.breeding;
  if (!b) throw new RangeError(`the ${s.space.name} space is not generational: it has no breeding`);
  return b;
}

export function initialPlan(s: GenerationalSettings): Plan {
  return { generation: 0, slots: breedingOf(s).initial(s.settings, s.population, rngFor(s, 0)) };
}

/**
 * Generation t+1 from generation t (`previous`, in slot order), bred as the
 * space breeds; the random baseline draws fresh individuals instead. By
 * several objectives (NSGA-II), the parents are the survivors after
 * generation t (`records` gives the earlier generations; see survivors) and
 * are drawn by crowded binary tournaments, then crossed and mutated as the
 * space does.
 */
export function nextPlan(s: GenerationalSettings, generation: number, previous: Evaluated[], records?: IndividualRecord[]): Plan {
  const rng = rngFor(s, generation);
  if (s.algorithm === 'random') {
    const draw = s.space.randomIndividual;
    if (!draw) throw new RangeError(`the ${s.space.name} space draws no random individuals`);
    return { generation, slots: Array.from({ length: s.population }, () => ({ dna: draw(rng, s.settings), parents: [], operations: [{ type: 'random' }] })) };
  }
  if (nsga(s)) {
    if (!records) throw new RangeError('breeding by several objectives needs the earlier generations (records)');
    const parents = survivors(s, records, generation - 1);
    if (!parents) throw new RangeError(`generation ${generation - 1} is not complete`);
    return { generation, slots: breedingOf(s).next(s.settings, parents, s.population, rng, (n, r) => crowdedTournaments(parents, n, s.goals!, r)) };
  }
  return { generation, slots: breedingOf(s).next(s.settings, previous, s.population, rng) };
}

/**
 * NSGA-II's survivors after generation t (Deb et al. 2002), which breed
 * generation t+1: the population-many best of generation t together with
 * the survivors after t-1 (after generation 0: its own best), by the crowded
 * comparison. Parents compete with their children, so a good individual
 * survives until better ones displace it (elitism, which Genetic CNN's loop
 * lacks). Each keeps the mean accuracy of every evaluation of its structure
 * so far (Genetic CNN's rule for duplicates). A pure function of the records:
 * any worker computes the same. undefined while a generation up to t is
 * incomplete.
 */
export function survivors(s: GenerationalSettings, records: IndividualRecord[], t: number): Evaluated[] | undefined {
  if (!s.goals) throw new RangeError('survivors: no goals');
  let kept: Evaluated[] = [];
  for (let g = 0; g <= t; g++) {
    const generation = evaluated(s.space, records, g, s.population);
    if (!generation) return undefined;
    // Means only change where generation g evaluated the structure again.
    const mean = new Map(generation.map((e) => [s.space.selectionKey(e), e.fitness]));
    const pool = [...kept.map((e) => ({ ...e, fitness: mean.get(s.space.selectionKey(e)) ?? e.fitness })), ...generation];
    kept = survivorSelection(pool, s.population, s.goals);
  }
  return kept;
}

/** A generation's record of a slot: its generation and slot number. */
export interface GenerationalRecord extends IndividualRecord {
  generation: number;
  slot: number;
}

export const isGenerational = (r: IndividualRecord): r is GenerationalRecord => typeof (r as GenerationalRecord).generation === 'number';

/**
 * Generation t's individuals in slot order, each with the mean accuracy of
 * every evaluation of its bits up to generation t; undefined while a slot has
 * no result. One result per slot: when a slot has two (a claim was taken
 * over from a worker that was only slow), the earlier id is the slot's, and
 * the other counts nowhere, neither in the generation nor in any mean.
 */
export function evaluated(space: SearchSpace, records: IndividualRecord[], generation: number, population: number): Evaluated[] | undefined {
  const accuracy = (r: IndividualRecord) => r.fitness ?? 0;
  /** The one result of each slot of each generation up to t, by `${generation}/${slot}`. */
  const results = new Map<string, GenerationalRecord>();
  for (const r of records) {
    if (!isGenerational(r) || r.generation > generation) continue;
    const key = `${r.generation}/${r.slot}`;
    const other = results.get(key);
    if (!other || r.id < other.id) results.set(key, r);
  }
  const sums = new Map<string, { sum: number; n: number }>();
  for (const r of results.values()) {
    const key = space.selectionKey(r);
    const e = sums.get(key) ?? { sum: 0, n: 0 };
    sums.set(key, { sum: e.sum + accuracy(r), n: e.n + 1 });
  }
  const slots = Array.from({ length: population }, (_, slot) => results.get(`${generation}/${slot}`));
  if (slots.some((r) => r === undefined)) return undefined;
  return (slots as GenerationalRecord[]).map((r, slot) => {
    const dna = space.validate(r.dna);
    const e = sums.get(space.selectionKey(r))!;
    return { id: r.id, slot, dna, accuracy: accuracy(r), fitness: e.sum / e.n, ...(r.costs ? { costs: r.costs } : {}) };
  });
}

/** The paper's Table 1 statistics of one generation. */
export function generationStats(space: SearchSpace, generation: number, individuals: Evaluated[]): GenerationStats {
  const f = individuals.map((e) => e.fitness);
  const sorted = [...f].sort((a, b) => a - b);
  const n = f.length;
  const mean = f.reduce((a, b) => a + b, 0) / n;
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const std = Math.sqrt(f.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  const best = individuals.reduce((a, b) => (b.fitness > a.fitness ? b : a));
  return { generation, individuals: n, max: sorted[n - 1]!, min: sorted[0]!, mean, median, std, best: { id: best.id, bits: Object.values(space.describe(best.dna)).join(' '), fitness: best.fitness } };
}

/** A row as the paper prints it: percentages and the best individual's bits. */
export function formatStatsRow(s: GenerationStats): string {
  const pct = (x: number) => (100 * x).toFixed(2).padStart(6);
  return `${String(s.generation).padStart(3, '0')}  ${pct(s.max)}  ${pct(s.min)}  ${pct(s.mean)}  ${pct(s.median)}  ${(100 * s.std).toFixed(2).padStart(5)}  ${s.best.bits}`;
}

export const STATS_HEADER = 'Gen    Max %   Min %   Avg %   Med %  Std-D  Best individual';

export interface GenerationalContext {
  store: PopulationStore;
  files: GenerationLog;
  settings: GenerationalSettings;
  worker: string;
  rng: Rng;
  /** A claim not refreshed for this long belongs to a dead worker. */
  leaseMs: number;
  /** Trains slot `slot` of generation `generation` from scratch and stores it (the worker's job). */
  evaluate(generation: number, slot: number, plan: PlanSlot): Promise<void>;
}

/**
 * One step of a generational run, for any number of workers at once: plan
 * the first generation if none is; when the newest generation is complete,
 * record its statistics and plan the next (the previous generation's
 * individuals die); otherwise claim and train one open slot. 'done' once
 * generation T is complete.
 */
export async function generationalStep(ctx: GenerationalContext): Promise<StepOutcome> {
  const { files, settings: s } = ctx;
  const t = await files.latest();
  if (t < 0) {
    await files.createPlan(0, initialPlan(s));
    return 'planned';
  }
  const plan = await files.readPlan<Plan>(t);
  const records = await ctx.store.list();
  const results = evaluated(s.space, records, t, s.population);
  if (results) {
    await files.writeStats(t, generationStats(s.space, t, results));
    // Alive: the last complete generation (the parents) and the one being trained.
    const retire = async (before: number) => {
      for (const r of records) if (isGenerational(r) && r.generation < before && (r as { state?: string }).state !== 'dead') await ctx.store.kill(r.id, ctx.worker);
    };
    if (t >= breedingOf(s).generations(s.settings)) {
      await retire(t);
      return 'done';
    }
    if (await files.createPlan(t + 1, nextPlan(s, t + 1, results, records))) await retire(t);
    return 'planned';
  }
  const done = new Set(records.filter((r) => isGenerational(r) && r.generation === t).map((r) => r.slot));
  const open = plan.slots.map((_, k) => k).filter((k) => !done.has(k));
  // Start at a random open slot so that workers spread out.
  const first = ctx.rng.int(open.length);
  for (let i = 0; i < open.length; i++) {
    const k = open[(first + i) % open.length]!;
    if (!(await files.claim(t, k, ctx.worker, ctx.leaseMs))) continue;
    // The claim stays once the result is stored; a stale claim may still hide one.
    if ((await ctx.store.list()).some((r) => isGenerational(r) && r.generation === t && r.slot === k)) continue;
    try {
      await ctx.evaluate(t, k, plan.slots[k]!);
    } catch (e) {
      await files.release(t, k, ctx.worker).catch(() => {}); // the lease runs out by itself otherwise
      throw e;
    }
    return 'reproduced';
  }
  return 'idle';
}
