/**
 * The finish (evonas's, not the paper's; default 0.25, off at 0): in the
 * last part `finish` of the time budget a steady-state worker stops
 * reproducing and anneals one of the best individuals alive: it continues
 * training the individual's own weights with its own learning rate (at least
 * `finishLearningRate`) brought down to zero along a cosine over the time
 * left before the deadline (less what evaluating and storing it take), and stores the result as a child
 * (mutation `finish`). Nothing is re-selected by hand: the annealed child
 * is evaluated on the validation split like any other and is the best only
 * if its validation accuracy says so. Each worker finishes a different individual (a lease per individual),
 * best first, so W workers anneal the top W.
 */
import { compile } from '../engine/net.js';
import { fitUntil } from '../engine/fit.js';
import { decodeSafetensors } from '../engine/safetensors.js';
import { selectionFitness } from '../evolution/selection.js';
import { spaceOf } from '../spaces/index.js';
import type { Individual } from '../store/index.js';
import { LEASE_MS } from './kit.js';
import type { WorkerKit } from './kit.js';

/** Kept free before the deadline besides evaluating and storing (the worker's exit, a slower last chunk). */
const SLACK_MS = 3000;
/** Less time left than this to anneal: not worth starting. */
const MIN_MS = 2000;

const finished = (i: Individual) => ((i.mutations ?? []) as { type?: string }[]).some((m) => m.type === 'finish');

/**
 * The individuals a worker may finish, best by validation first: alive,
 * evaluated, with weights, neither the product of a finish nor finished
 * already, nor `stale` (weights and fitness from before a weight reset).
 */
export function finishCandidates(all: Individual[], stale: (i: Individual) => boolean = () => false): Individual[] {
  const f = selectionFitness(all);
  const done = new Set(all.filter(finished).map((i) => i.parent));
  return all.filter((i) => i.state === 'alive' && f.has(i.id) && i.hasWeights && !finished(i) && !done.has(i.id) && !stale(i)).sort((a, b) => f.get(b.id)! - f.get(a.id)! || (a.id < b.id ? -1 : 1));
}

/**
 * Claims the best individual no other worker is finishing and anneals it
 * until shortly before `deadline`. @returns the finished individual's id, or
 * undefined when there was none to claim, no time for it, or the worker was
 * stopped (then nothing is stored).
 */
export async function finishOne(kit: WorkerKit, deadline: number): Promise<string | undefined> {
  const { config, store, leases, name } = kit;
  const space = spaceOf(config.space);
  await kit.refresh();
  for (const candidate of finishCandidates(await store.list(), (i) => kit.stale(i))) {
    const key = `finish-${candidate.id}`;
    if (!(await leases.claim(key, name, LEASE_MS))) continue;
    const beat = setInterval(() => leases.heartbeat(key).catch(() => {}), LEASE_MS / 8);
    let id: string | undefined;
    try {
      id = await anneal(kit, candidate, deadline, space);
      return id;
    } finally {
      clearInterval(beat);
      // Stored: its child marks it finished. Not stored: another worker may take it.
      await (id ? leases.done(key) : leases.release(key, name)).catch(() => {});
    }
  }
  return undefined;
}

async function anneal(kit: WorkerKit, parent: Individual, deadline: number, space: ReturnType<typeof spaceOf>): Promise<string | undefined> {
  const { config, store, rng } = kit;
  const t0 = Date.now();
  const weights = await store.readWeights(parent.id).catch(() => undefined); // collected meanwhile: nothing to finish
  if (!weights) return undefined;
  const storeSeconds = (Date.now() - t0) / 1000;
  const idle = await kit.beginChild('child');
  const net = compile(space.compile(parent.dna, kit.io, config), { threads: config.threadsPerWorker, precision: config.precision, seed: rng.int(2 ** 31), device: kit.device });
  try {
    net.setWeights(decodeSafetensors(weights, `weights of ${parent.id}`).tensors);
    const learningRate = Math.max(space.learningRate?.(parent.dna) ?? config.learningRate, config.finishLearningRate);
    const evaluate = parent.timing?.evaluate ?? 0;
    // Training ends early enough to evaluate (twice what the parent's took: both workers may be evaluating), store, and exit before the deadline.
    const until = deadline - (2 * evaluate + storeSeconds) * 1000 - SLACK_MS;
    if (until - Date.now() < MIN_MS) return undefined; // no time worth the name
    const r = await fitUntil(net, {
      data: kit.train,
      batchSize: config.batchSize,
      momentum: config.momentum,
      weightDecay: config.weightDecay,
      seed: rng.int(2 ** 31),
      signal: kit.signal,
      learningRate,
      until,
    });
    if (r.cancelled) return undefined; // stopping: dropped, as any child in flight
    if (r.steps === 0) return undefined;
    const record = { type: 'finish', targets: [], detail: { steps: r.steps, seconds: r.seconds, from: learningRate, to: 0 }, inherit: 'all' };
    const total = { ok: r.ok, ...(r.failure ? { failure: r.failure } : {}), steps: r.steps };
    await kit.storeChild(
      net,
      parent.dna,
      total,
      { t0, idle, store: storeSeconds, stepsBefore: parent.stepsTrained },
      { parent: parent.id, mutations: [record], weightsSince: parent.weightsSince ?? parent.bornAt },
    );
    return parent.id;
  } finally {
    net.dispose();
    kit.endChild();
  }
}
