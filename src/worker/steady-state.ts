/**
 * The driver of steady-state spaces (Large-Scale Evolution's graph space):
 * one algorithm step over the shared population (tournament, aging or
 * random search), the child made by the space's own mutation and trained
 * from its parent's weights where the mutation allows.
 */
import { decodeSafetensors } from '../engine/safetensors.js';
import type { WeightMap } from '../engine/safetensors.js';
import { algorithm } from '../evolution/algorithms.js';
import type { AlgorithmName } from '../evolution/algorithms.js';
import { mutationsPerChild } from '../evolution/schedule.js';
import type { StepContext, StepOutcome } from '../evolution/types.js';
import { spaceOf } from '../spaces/index.js';
import type { Mutation } from '../spaces/index.js';
import { ConflictError, weightsSince } from '../store/index.js';
import type { Individual } from '../store/index.js';
import { keepFresh, LEASE_MS } from './kit.js';
import type { WorkerKit } from './kit.js';

/**
 * The steady-state driver (tournament, aging, random search): one call is
 * one step (select, reproduce, train, evaluate, store). Kept whole on
 * purpose: the step reads as the paper's loop, in order, and splitting it
 * would scatter the one transaction a birth is.
 */
export function steadyStateDriver(kit: WorkerKit): () => Promise<StepOutcome> {
  const { config, store, rng, leases, name, started } = kit;
  const space = spaceOf(config.space);
  const mutateChild = space.mutate;
  if (!mutateChild) throw new RangeError(`the ${space.name} space has no mutation: it cannot run a steady-state algorithm`);

  /**
   * Trains `dna` (from `weights` when given) and stores the result as a new individual: a child of `parent`, or
   * (`retrain`) the retrained copy of it. @returns false when stopped first (nothing stored).
   */
  const breed = (dna: unknown, parent: Individual, records: unknown[], weights: WeightMap | undefined, o: { storeSeconds: number; retrain?: boolean; mate?: Individual }): Promise<boolean> =>
    kit.trainChild(dna, o.retrain ? 'retrain' : 'child', async (net, shared, t) => {
      // Inherited weights are as old as the oldest parent's; fresh ones date from now.
      const inherited = [parent, ...(o.mate ? [o.mate] : [])].map(weightsSince).sort()[0]!;
      const since = weights ? inherited : new Date(t.t0).toISOString();
      if (weights) net.setWeights(weights);
      const r = await net.train({ ...shared, steps: config.stepsPerChild, learningRate: space.training(dna, kit.settings).learningRate });
      if (r.cancelled) return false; // stopping: the child is dropped
      const steps = weights ? Math.max(parent.stepsTrained, o.mate?.stepsTrained ?? 0) : 0;
      const lineage = { parent: parent.id, mutations: records, weightsSince: since, ...(o.mate ? { parents: [parent.id, o.mate.id] } : {}) };
      await kit.storeChild(net, dna, r, { ...t, store: o.storeSeconds, stepsBefore: steps }, lineage);
      return true;
    });
  const read = async (i: Individual) => decodeSafetensors(await store.readWeights(i.id), `weights of ${i.id}`).tensors;

  const alg = algorithm(config.algorithm as AlgorithmName, { sampleSize: config.sampleSize, goals: config });
  const ctx: StepContext = {
    store,
    rng,
    populationSize: config.population,
    worker: name,
    inFlight: () => kit.inFlight(),
    async reproduce(parent) {
      const elapsed = (Date.now() - started) / 1000;
      const k = mutationsPerChild(kit.schedule(), elapsed);
      const form = config.recombination === 'none' ? undefined : config.recombination;
      // Recombination: a share of children get a second parent, the winner of a second tournament (none alive: mutation only).
      const mate = form && rng.next() < config.recombinationRate ? await alg.mate(ctx, parent) : undefined;
      const child: Mutation & { weights?: (first: WeightMap, second: WeightMap) => WeightMap } =
        config.algorithm === 'random' && space.randomIndividual
          ? { dna: space.randomIndividual(rng, kit.settings), records: [{ type: 'random-draw' }], inherit: 'none' as const }
          : mate
            ? space.recombination!.recombine(form!, space.validate(parent.dna), space.validate(mate.dna), rng, k, kit.settings, kit.io)
            : mutateChild(space.validate(parent.dna), rng, k, kit.settings, form);
      let inherit = config.inheritance ? child.inherit : 'none';
      // Weights from before a reset are not passed on (the step began before it): the child starts from scratch.
      if (kit.stale(parent) || (mate && child.weights && kit.stale(mate))) inherit = 'none';
      // Take what the child needs before anything else: a parent may die and be collected meanwhile.
      const t = Date.now();
      let weights: WeightMap | undefined;
      if (inherit !== 'none' && parent.hasWeights) {
        weights = await read(parent); // ConflictError when collected: dead
        // A child that takes weights from both (weight recombination, fusion) trains from scratch when one is gone.
        if (mate && child.weights) weights = mate.hasWeights ? child.weights(weights, await read(mate)) : undefined;
      }
      // The paper's worker, when "its individuals are changed under it" (another worker killed its parent), "simply
      // gives up and tries again": with the parents read, they must still be alive, or the step is a conflict.
      for (const p of mate ? [parent, mate] : [parent]) {
        if ((await store.get(p.id))?.state !== 'alive') throw new ConflictError(`${p.id} was killed by another worker while ${name} reproduced it`);
      }
      await breed(child.dna, parent, child.records, weights, { storeSeconds: (Date.now() - t) / 1000, ...(mate ? { mate } : {}) });
    },
    // An initial individual, or one alive at a weight reset, is trained from
    // scratch by exactly one worker (a lease on its id); it retires only once
    // its trained copy is stored, so a stopped worker loses nothing.
    async trainInitial(individual) {
      const key = `train-${individual.id}`;
      if (!(await leases.claim(key, name, LEASE_MS))) throw new ConflictError(`${individual.id} is being trained by another worker`);
      const stop = keepFresh(() => leases.heartbeat(key));
      try {
        const reason: Record<string, number> = individual.fitness === null ? { initialTraining: 1 } : { weightReset: 1 };
        const initial = [{ type: 'identity', targets: [], detail: reason, inherit: 'none' }];
        if (!(await breed(space.validate(individual.dna), individual, initial, undefined, { storeSeconds: 0, retrain: true }))) return await leases.release(key, name);
        await leases.done(key);
        await store.kill(individual.id, name);
      } catch (e) {
        await leases.release(key, name).catch(() => {}); // the lease runs out by itself otherwise
        throw e;
      } finally {
        stop();
      }
    },
    // Weights (and so fitness) from before the latest reset: retrained from scratch before it competes.
    stale: (individual) => kit.stale(individual),
  };
  return async () => {
    await kit.refresh(); // every remedy recorded before this step began applies to it
    return alg.step(ctx);
  };
}
