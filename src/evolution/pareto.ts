/**
 * Several objectives: validation accuracy, always, and any of an
 * individual's costs (parameters, inference FLOPs per image), with
 * constraints on them. Selection follows NSGA-II (Deb et al. 2002):
 * constraint-domination first (a feasible individual beats an infeasible
 * one; of two infeasible ones, the smaller violation wins), then the
 * non-dominated front, then the crowding distance within it, so that
 * selection keeps the front spread out. A run with accuracy alone and no
 * constraint never reaches this file's ranking: it compares fitness, as the
 * papers do (src/evolution/algorithms.ts).
 */
import type { Individual } from '../store/types.js';

export const COSTS = ['parameters', 'flops', 'latency'] as const;
export type Cost = (typeof COSTS)[number];
export const OBJECTIVES = ['accuracy', ...COSTS] as const;
export type Objective = (typeof OBJECTIVES)[number];

/**
 * What an individual costs, recorded at its birth: its parameters, its
 * forward FLOPs per image and, where the search asks for it, its latency
 * (milliseconds per image at batch 1, measured by the worker that trained it,
 * on `latencyOn`).
 */
export interface Costs {
  parameters: number;
  flops: number;
  latency?: number;
  latencyOn?: string;
}

/** What selection optimizes: the objectives (accuracy first), and the most each cost may be. */
export interface Goals {
  objectives: readonly Objective[];
  constraints: Partial<Record<Cost, number>>;
}

/** Whether selection is the papers' (accuracy alone, nothing constrained). */
export function singleObjective(g: Goals): boolean {
  return g.objectives.length === 1 && Object.values(g.constraints).every((v) => v === undefined || v === null);
}

/** How far `costs` exceed the constraints, each as a fraction of its limit (0: feasible). An individual without recorded costs is infeasible under any constraint. */
export function violation(costs: Costs | undefined, g: Goals): number {
  let v = 0;
  for (const c of COSTS) {
    const limit = g.constraints[c];
    if (limit === undefined || limit === null) continue;
    const x = costs?.[c];
    if (x === undefined) return Number.POSITIVE_INFINITY;
    if (x > limit) v += (x - limit) / limit;
  }
  return v;
}

/** The points selection compares: accuracy and the negated costs of the objectives, every coordinate to maximize. */
export function objectivePoint(fitness: number, costs: Costs | undefined, g: Goals): number[] {
  return g.objectives.map((o) => (o === 'accuracy' ? fitness : -(costs?.[o] ?? Number.POSITIVE_INFINITY)));
}

const dominates = (a: number[], b: number[]) => a.every((x, k) => x >= b[k]!) && a.some((x, k) => x > b[k]!);

/** NSGA-II's fast non-dominated sort: each point's front, 0 for the non-dominated, every coordinate maximized. */
export function fronts(points: number[][]): number[] {
  const n = points.length;
  const dominatedBy = Array.from({ length: n }, () => 0);
  const dominating: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      if (dominates(points[i]!, points[j]!)) {
        dominating[i]!.push(j);
        dominatedBy[j]!++;
      } else if (dominates(points[j]!, points[i]!)) {
        dominating[j]!.push(i);
        dominatedBy[i]!++;
      }
    }
  const front = Array.from({ length: n }, () => -1);
  let current = points.map((_, i) => i).filter((i) => dominatedBy[i] === 0);
  for (let f = 0; current.length; f++) {
    const next: number[] = [];
    for (const i of current) {
      front[i] = f;
      for (const j of dominating[i]!) if (--dominatedBy[j]! === 0) next.push(j);
    }
    current = next;
  }
  return front;
}

/** NSGA-II's crowding distance of each point within its front: the ends of every objective are infinitely far. */
export function crowding(points: number[][], front: number[]): number[] {
  const d = points.map(() => 0);
  const byFront = new Map<number, number[]>();
  front.forEach((f, i) => {
    byFront.set(f, [...(byFront.get(f) ?? []), i]);
  });
  for (const members of byFront.values()) {
    const m = points[members[0]!]!.length;
    for (let k = 0; k < m; k++) {
      const sorted = [...members].sort((a, b) => points[a]![k]! - points[b]![k]! || a - b);
      const lo = points[sorted[0]!]![k]!;
      const hi = points[sorted[sorted.length - 1]!]![k]!;
      d[sorted[0]!] = Number.POSITIVE_INFINITY;
      d[sorted[sorted.length - 1]!] = Number.POSITIVE_INFINITY;
      if (hi === lo) continue;
      for (let s = 1; s < sorted.length - 1; s++) d[sorted[s]!]! += (points[sorted[s + 1]!]![k]! - points[sorted[s - 1]!]![k]!) / (hi - lo);
    }
  }
  return d;
}

/**
 * NSGA-II's crowded comparison over a population: `better(a, b)` is true when
 * `a` should be preferred to `b` (both from `population`, or scored against
 * it). Untrained and failed individuals rank below every trained one, as in
 * single-objective selection.
 */
export function crowdedComparison(population: Pick<Individual, 'id' | 'fitness' | 'costs'>[], g: Goals): (a: Pick<Individual, 'id'>, b: Pick<Individual, 'id'>) => boolean {
  const trained = population.filter((i) => i.fitness !== null);
  const feasible = trained.filter((i) => violation(i.costs, g) === 0);
  const points = feasible.map((i) => objectivePoint(i.fitness!, i.costs, g));
  const front = fronts(points);
  const crowd = crowding(points, front);
  const score = new Map<string, { violation: number; front: number; crowding: number }>();
  feasible.forEach((i, k) => {
    score.set(i.id, { violation: 0, front: front[k]!, crowding: crowd[k]! });
  });
  for (const i of trained) if (!score.has(i.id)) score.set(i.id, { violation: violation(i.costs, g), front: 0, crowding: 0 });
  const worst = { violation: Number.POSITIVE_INFINITY, front: Number.POSITIVE_INFINITY, crowding: 0 };
  return (a, b) => {
    const x = score.get(a.id) ?? worst;
    const y = score.get(b.id) ?? worst;
    if (x.violation !== y.violation) return x.violation < y.violation;
    if (x.front !== y.front) return x.front < y.front;
    return x.crowding > y.crowding;
  };
}

/**
 * NSGA-II's survivor selection (Deb et al. 2002): the `n` best of `pool` by
 * the crowded comparison over the pool itself (constraints, then front, then
 * crowding distance within it), ties kept in pool order. Whole fronts go in
 * while they fit; the front that does not fit gives its most isolated
 * members, as NSGA-II's does.
 */
export function survivorSelection<T extends Pick<Individual, 'id' | 'fitness' | 'costs'>>(pool: T[], n: number, g: Goals): T[] {
  // The comparison scores by id: duplicates of one id (none in a generation's pool) would share a score.
  const better = crowdedComparison(pool, g);
  const order = pool.map((_, k) => k).sort((a, b) => (better(pool[a]!, pool[b]!) ? -1 : better(pool[b]!, pool[a]!) ? 1 : a - b));
  return order.slice(0, n).map((k) => pool[k]!);
}

/** NSGA-II's mating selection: `n` binary tournaments by the crowded comparison over `pool`, as indices into it; a tie keeps the first drawn. */
export function crowdedTournaments(pool: Pick<Individual, 'id' | 'fitness' | 'costs'>[], n: number, g: Goals, rng: { int(n: number): number }): number[] {
  const better = crowdedComparison(pool, g);
  return Array.from({ length: n }, () => {
    const a = rng.int(pool.length);
    const b = rng.int(pool.length);
    return better(pool[b]!, pool[a]!) ? b : a;
  });
}

/**
 * The Pareto front of trained, feasible individuals: none of them is beaten
 * in every objective by another. Sorted by the first cost ascending (by
 * accuracy descending when accuracy is the only objective).
 */
export function paretoFront<T extends Pick<Individual, 'id' | 'fitness' | 'costs'>>(individuals: T[], g: Goals): T[] {
  const costs = g.objectives.filter((o): o is Cost => o !== 'accuracy');
  const candidates = individuals.filter((i) => i.fitness !== null && violation(i.costs, g) === 0 && costs.every((c) => i.costs?.[c] !== undefined));
  const points = candidates.map((i) => objectivePoint(i.fitness!, i.costs, g));
  const front = fronts(points);
  // Of several with the very same point, the earliest id stands for them.
  const seen = new Set<string>();
  const cost = costs[0];
  return candidates
    .filter((_, k) => front[k] === 0)
    .sort((a, b) => (cost ? a.costs![cost]! - b.costs![cost]! : 0) || b.fitness! - a.fitness! || (a.id < b.id ? -1 : 1))
    .filter((i) => {
      const key = JSON.stringify(objectivePoint(i.fitness!, i.costs, g));
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
}

/**
 * The hypervolume of accuracy (up) against one cost (down) that `points`
 * dominate, in [0, 1]: the area between them and the reference point
 * (accuracy 0, cost `maxCost`), the cost scaled by `maxCost`.
 */
export function hypervolume(points: { accuracy: number; cost: number }[], maxCost: number): number {
  const sorted = points.filter((p) => p.cost <= maxCost).sort((a, b) => a.cost - b.cost || b.accuracy - a.accuracy);
  let area = 0;
  let best = 0;
  for (let k = 0; k < sorted.length; k++) {
    best = Math.max(best, sorted[k]!.accuracy);
    const next = k + 1 < sorted.length ? sorted[k + 1]!.cost : maxCost;
    area += best * ((next - sorted[k]!.cost) / maxCost);
  }
  return area;
}
