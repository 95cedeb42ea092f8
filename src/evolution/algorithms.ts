/**
 * The algorithms: the paper's pairwise tournament, regularized (aging)
 * evolution, and the paper's random-search control. The no-inheritance
 * control is a worker switch and works with any of them.
 */
import type { Individual } from '../store/types.js';
import { crowdedComparison, singleObjective, violation } from './pareto.js';
import type { Goals } from './pareto.js';
import { rank, untrained } from './types.js';
import type { Algorithm, StepContext, StepOutcome } from './types.js';

async function trainFirst(ctx: StepContext, sampled: Individual[]): Promise<StepOutcome | undefined> {
  const fresh = sampled.find((i) => untrained(i) || (ctx.stale?.(i) ?? false));
  if (!fresh) return undefined;
  await ctx.trainInitial(fresh);
  return 'trained-initial';
}

/** A second tournament: `size` sampled among the trained others alive, judged by `best`. */
function secondTournament(size: number, best: (sample: Individual[], ctx: StepContext) => Individual | Promise<Individual>): Algorithm['mate'] {
  return async (ctx, parent) => {
    const others = (await ctx.store.sample(size + 1, () => ctx.rng.next())).filter((i) => i.id !== parent.id && !untrained(i) && !(ctx.stale?.(i) ?? false));
    return others.length ? best(others.slice(0, size), ctx) : undefined;
  };
}

/**
 * The pairwise step both the paper's algorithm and its random control take:
 * sample two (training an untrained one first, as the paper's workers do with
 * the initial population); at the set-point kill the victim, and, the kill
 * won, reproduce the parent of the same pair. Below the set-point (after
 * failures or a resize) the parent reproduces without a kill; above it (many
 * workers found it short at once) the step only kills. A lost kill race
 * gives the step up: another worker has acted on this pair.
 */
function pairwise(
  name: string,
  choose: (a: Individual, b: Individual, ctx: StepContext) => { parent: Individual; victim: Individual } | Promise<{ parent: Individual; victim: Individual }>,
): Algorithm {
  return {
    name,
    mate: secondTournament(2, async (s, ctx) => (s.length === 1 ? s[0]! : (await choose(s[0]!, s[1]!, ctx)).parent)),
    async step(ctx) {
      const pair = await ctx.store.sample(2, () => ctx.rng.next());
      if (pair.length === 0) return 'idle';
      if (pair.length === 1) {
        // One left (workers killed between a kill and their child's birth): no pair to judge, so it reproduces while
        // the population is short, rather than every worker idling with one individual forever.
        const trained = await trainFirst(ctx, pair);
        if (trained) return trained;
        if ((await ctx.store.aliveCount()) + ((await ctx.inFlight?.()) ?? 0) >= ctx.populationSize) return 'idle';
        await ctx.reproduce(pair[0]!);
        return 'reproduced';
      }
      const trained = await trainFirst(ctx, pair);
      if (trained) return trained;
      const { parent, victim } = await choose(pair[0]!, pair[1]!, ctx);
      const alive = (await ctx.store.aliveCount()) + ((await ctx.inFlight?.()) ?? 0);
      if (alive >= ctx.populationSize && (await ctx.store.kill(victim.id, ctx.worker)) !== 'killed') return 'conflict';
      // Concurrent workers that all found the population short overshoot it: above the set-point a step only kills.
      if (alive > ctx.populationSize) return 'killed';
      await ctx.reproduce(parent);
      return 'reproduced';
    },
  };
}

/**
 * Real et al. 2017: "The worst of the pair is immediately removed from the
 * population — it is killed. The best of the pair is selected to be a parent."
 */
export const tournament: Algorithm = pairwise('tournament', (a, b) => (rank(a) >= rank(b) ? { parent: a, victim: b } : { parent: b, victim: a }));

/**
 * The tournament with several objectives or constraints: the pair is judged by
 * NSGA-II's crowded comparison over the population alive now (feasibility,
 * then front, then crowding distance); a tie keeps the first sampled, as the
 * single-objective tournament does.
 */
function paretoTournament(goals: Goals): Algorithm {
  return pairwise('tournament', async (a, b, ctx) => {
    const better = crowdedComparison(await ctx.store.list({ state: 'alive' }), goals);
    return better(b, a) ? { parent: b, victim: a } : { parent: a, victim: b };
  });
}

/**
 * Real et al. 2019 (regularized evolution): sample S; at the set-point
 * remove the oldest trained individual; reproduce the best of the sample.
 */
export function aging(sampleSize: number, goals?: Goals): Algorithm {
  if (!Number.isInteger(sampleSize) || sampleSize < 1) throw new RangeError(`Expected a sample size >= 1 but received ${sampleSize}`);
  // Several objectives: the best of a sample by NSGA-II's crowded comparison over the population alive.
  const pareto = goals !== undefined && !singleObjective(goals);
  const bestOf = (sample: Individual[], alive: Individual[]) => {
    const better = pareto ? crowdedComparison(alive, goals!) : (i: Individual, b: Individual) => rank(i) > rank(b);
    return sample.reduce((b, i) => (better(i, b) ? i : b));
  };
  return {
    name: 'aging',
    mate: secondTournament(sampleSize, async (sample, ctx) => bestOf(sample, pareto ? await ctx.store.list({ state: 'alive' }) : [])),
    async step(ctx) {
      const sample = await ctx.store.sample(sampleSize, () => ctx.rng.next());
      if (sample.length === 0) return 'idle';
      const trained = await trainFirst(ctx, sample);
      if (trained) return trained;
      const alive = await ctx.store.list({ state: 'alive' });
      const occupied = alive.length + ((await ctx.inFlight?.()) ?? 0);
      if (occupied >= ctx.populationSize) {
        // Only a trained individual ages out: an untrained one (the initial population, or one alive at a weight
        // reset) is waiting for, or under, its training, which would replace it anyway; killing it would lose it unseen.
        const trained = alive.filter((i) => !untrained(i) && !(ctx.stale?.(i) ?? false));
        if (trained.length === 0) return 'idle'; // everyone alive is waiting for training: nothing may die, nothing may be added
        const oldest = trained.reduce((o, i) => (i.bornAt < o.bornAt || (i.bornAt === o.bornAt && i.id < o.id) ? i : o));
        if ((await ctx.store.kill(oldest.id, ctx.worker)) !== 'killed') return 'conflict';
        if (occupied > ctx.populationSize) return 'killed';
      }
      await ctx.reproduce(bestOf(sample, alive));
      return 'reproduced';
    },
  };
}

/** The paper's random-search control: the victim and the parent are the pair's two, assigned at random, ignoring fitness. */
export const randomSearch: Algorithm = pairwise('random', (a, b, ctx) => (ctx.rng.int(2) === 0 ? { parent: a, victim: b } : { parent: b, victim: a }));

/** The random control under constraints: an individual over a constraint is the victim of a pair with one within them; otherwise the roles are drawn. */
function constrainedRandom(goals: Goals): Algorithm {
  return pairwise('random', (a, b, ctx) => {
    const coin = ctx.rng.int(2);
    const ok = (i: Individual) => violation(i.costs, goals) === 0;
    if (ok(a) !== ok(b)) return ok(a) ? { parent: a, victim: b } : { parent: b, victim: a };
    return coin === 0 ? { parent: a, victim: b } : { parent: b, victim: a };
  });
}

export const ALGORITHMS = ['tournament', 'aging', 'random'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];

/**
 * @param o.sampleSize aging evolution's sample (the experiment's setting; it has one default, in config.ts).
 * @param o.goals the objectives and constraints; accuracy alone with none (the default) is the papers' selection.
 */
export function algorithm(name: AlgorithmName, o: { sampleSize?: number; goals?: Goals } = {}): Algorithm {
  const pareto = o.goals !== undefined && !singleObjective(o.goals);
  switch (name) {
    case 'tournament':
      return pareto ? paretoTournament(o.goals!) : tournament;
    case 'aging':
      if (o.sampleSize === undefined) throw new RangeError('aging evolution needs its sampleSize');
      return aging(o.sampleSize, pareto ? o.goals : undefined);
    case 'random':
      return pareto ? constrainedRandom(o.goals!) : randomSearch;
    default:
      throw new RangeError(`Expected one of ${ALGORITHMS.join(', ')} but received ${JSON.stringify(name)}`);
  }
}
