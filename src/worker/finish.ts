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
import { fitUntil } from '../engine/fit.js';
import { decodeSafetensors } from '../engine/safetensors.js';
import { selectionFitness } from '../evolution/selection.js';
import { spaceOf } from '../spaces/index.js';
import { weightsSince } from '../store/index.js';
import type { Individual } from '../store/index.js';
import { keepFresh, LEASE_MS } from './kit.js';
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
    const stop = keepFresh(() => leases.heartbeat(key));
    let id: string | undefined;
    try {
      id = await anneal(kit, candidate, deadline, space);
      return id;
    } finally {
      stop();
      // Stored: its child marks it finished. Not stored: another worker may take it.
      await (id ? leases.done(key) : leases.release(key, name)).catch(() => {});
    }
  }
  return undefined;
}

async function anneal(kit: WorkerKit, parent: Individual, deadline: number, space: ReturnType<typeof spaceOf>): Promise<string | undefined> {
  const { config, store } = kit;
  const t = Date.now();
  const weights = await store.readWeights(parent.id).catch(() => undefined); // collected meanwhile: nothing to finish
  if (!weights) return undefined;
  const storeSeconds = (Date.now() - t) / 1000;
  // Training ends early enough to evaluate (twice what the parent's took: both workers may be evaluating), store, and exit before the deadline.
  const until = deadline - (2 * (parent.timing?.evaluate ?? 0) + storeSeconds) * 1000 - SLACK_MS;
  if (until - Date.now() < MIN_MS) return undefined; // no time worth the name
  return kit.trainChild(parent.dna, 'child', async (net, shared, tm) => {
    net.setWeights(decodeSafetensors(weights, `weights of ${parent.id}`).tensors);
    const learningRate = Math.max(space.training(parent.dna, kit.settings).learningRate, config.finishLearningRate);
    const r = await fitUntil(net, { ...shared, learningRate, until });
    if (r.cancelled || r.steps === 0) return undefined; // stopping: dropped, as any child in flight
    const record = { type: 'finish', targets: [], detail: { steps: r.steps, seconds: r.seconds, from: learningRate, to: 0 }, inherit: 'all' };
    const total = { ok: r.ok, ...(r.failure ? { failure: r.failure } : {}), steps: r.steps };
    const fields = { parent: parent.id, mutations: [record], weightsSince: weightsSince(parent) };
    await kit.storeChild(net, parent.dna, total, { ...tm, store: storeSeconds, stepsBefore: parent.stepsTrained }, fields);
    return parent.id;
  });
}
