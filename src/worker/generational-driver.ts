/**
 * The driver of generational spaces (Genetic CNN's stages space): claim a
 * slot of the current generation, train its individual from scratch with the
 * paper's stepped schedule, store it.
 */
import { fit } from '../engine/fit.js';
import { generationalStep, isGenerational } from '../evolution/generational.js';
import type { GenerationalContext } from '../evolution/generational.js';
import type { StepOutcome } from '../evolution/types.js';
import { GenerationLedger } from '../store/index.js';
import { keepFresh, LEASE_MS } from './kit.js';
import type { WorkerKit } from './kit.js';

export function generationalDriver(kit: WorkerKit): () => Promise<StepOutcome> {
  const { config, rng, store } = kit;
  const { space, settings } = kit;
  const files = new GenerationLedger(kit.home.docs, kit.home.leases);
  const epochs = space.breeding?.epochs(settings);
  const steps = epochs ? Math.ceil((epochs * kit.train.count) / config.batchSize) : config.stepsPerChild;
  const ctx: GenerationalContext = {
    store: kit.store,
    files,
    worker: kit.name,
    rng,
    leaseMs: LEASE_MS,
    settings: {
      algorithm: config.algorithm as 'generational' | 'random',
      population: config.population,
      seed: config.seed,
      space,
      settings,
      goals: config,
    },
    async evaluate(generation, slot, p) {
      const dna = space.validate(p.dna);
      const stop = keepFresh(() => files.heartbeat(generation, slot));
      try {
        await kit.trainChild(dna, 'child', async (net, shared, t) => {
          const r = await fit(net, { ...shared, steps, ...space.training(dna, settings) });
          if (r.cancelled) throw new DOMException('stopping', 'AbortError'); // the slot is given back
          // Slow enough that its claim ran out and another worker stored this slot: one result per slot, so drop it.
          if ((await store.list()).some((x) => isGenerational(x) && x.generation === generation && x.slot === slot)) return;
          const fields = { parent: p.parents[0] ?? null, parents: p.parents, generation, slot, mutations: p.operations, weightsSince: new Date(t.t0).toISOString() };
          await kit.storeChild(net, dna, r, { ...t, store: 0, stepsBefore: 0 }, fields);
        });
      } finally {
        stop();
      }
    },
  };
  return () => generationalStep(ctx);
}
