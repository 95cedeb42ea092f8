/**
 * The driver of generational spaces (Genetic CNN's stages space): claim a
 * slot of the current generation, train its individual from scratch with the
 * paper's stepped schedule, store it.
 */
import { compile } from '../engine/net.js';
import { fit } from '../engine/fit.js';
import { generationalStep, isGenerational } from '../evolution/generational.js';
import type { GenerationalContext } from '../evolution/generational.js';
import type { StepOutcome } from '../evolution/types.js';
import { spaceOf } from '../spaces/index.js';
import { GenerationLedger } from '../store/index.js';
import { LEASE_MS } from './kit.js';
import type { WorkerKit } from './kit.js';

export function generationalDriver(kit: WorkerKit): () => Promise<StepOutcome> {
  const { config, rng, store } = kit;
  const space = spaceOf(config.space);
  const files = new GenerationLedger(kit.home.docs, kit.home.leases);
  const steps = config.epochs ? Math.ceil((config.epochs * kit.train.count) / config.batchSize) : config.stepsPerChild;
  const ctx: GenerationalContext = {
    store: kit.store,
    files,
    worker: kit.name,
    rng,
    leaseMs: LEASE_MS,
    settings: {
      algorithm: config.algorithm as 'generational' | 'random',
      population: config.population,
      generations: config.generations,
      nodes: config.stages.nodes,
      seed: config.seed,
      genetic: config.genetic,
    },
    async evaluate(generation, slot, p) {
      const t0 = Date.now();
      const idle = await kit.beginChild('child');
      const dna = space.validate(p.dna);
      const net = compile(space.compile(dna, kit.io, config), { threads: config.threadsPerWorker, precision: config.precision, seed: rng.int(2 ** 31), device: kit.device });
      const beat = setInterval(() => files.heartbeat(generation, slot).catch(() => {}), LEASE_MS / 8); // a missed beat is retried by the next
      try {
        const r = await fit(net, {
          data: kit.train,
          steps,
          batchSize: config.batchSize,
          learningRate: config.learningRate,
          schedule: 'stepped',
          momentum: config.momentum,
          weightDecay: config.weightDecay,
          seed: rng.int(2 ** 31),
          signal: kit.signal,
        });
        if (r.cancelled) throw new DOMException('stopping', 'AbortError'); // the slot is given back
        // Slow enough that its claim ran out and another worker stored this slot: one result per slot, so drop it.
        if ((await store.list()).some((x) => isGenerational(x) && x.generation === generation && x.slot === slot)) return;
        await kit.storeChild(
          net,
          dna,
          r,
          { t0, idle, store: 0, stepsBefore: 0 },
          { parent: p.parents[0] ?? null, parents: p.parents, generation, slot, mutations: p.operations, weightsSince: new Date(t0).toISOString() },
        );
      } finally {
        clearInterval(beat);
        net.dispose();
        kit.endChild();
      }
    },
  };
  return () => generationalStep(ctx);
}
