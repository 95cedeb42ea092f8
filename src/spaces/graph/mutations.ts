/**
 * The paper's eleven mutations. Each takes a DNA and a seeded generator and
 * returns a new DNA with a record of what it did, or undefined when it cannot
 * apply (then another is picked). Numeric changes are uniform around the
 * current value: channels x U(0.5, 2), stride on the log2 scale +U(-1, 1),
 * filter half-size +U(-1, 1), learning rate x 2^U(-1, 1) (no less than
 * `minLearningRate` where one is given: evonas's, not the paper's).
 */
import type { Rng } from '../../util/rng.js';
import type { Activation, Edge, GraphDNA, Vertex } from './dna.js';
import { identityEdge } from './dna.js';

export const MUTATIONS = [
  'alter-learning-rate',
  'identity',
  'reset-weights',
  'insert-convolution',
  'remove-convolution',
  'alter-stride',
  'alter-channels',
  'filter-size',
  'insert-one-to-one',
  'add-skip',
  'remove-skip',
] as const;
export type MutationName = (typeof MUTATIONS)[number];

export interface MutationRecord {
  type: MutationName;
  /** Ids of the vertices and edges it created, changed or removed. */
  targets: string[];
  detail: Record<string, number | string>;
  /** Which parent weights a child may keep: all, those whose name and shape still match, or none. */
  inherit: 'all' | 'matching' | 'none';
}

export interface Mutated {
  dna: GraphDNA;
  record: MutationRecord;
}

/** Bounds on what a mutation may set; none is the paper. */
export interface MutationLimits {
  /** The least learning rate ALTER-LEARNING-RATE sets (0 or absent: none). */
  minLearningRate?: number;
  /** The fewest output channels of a convolution, stamped on every child (1 or absent: the paper). */
  minChannels?: number;
}

type Mutator = (dna: GraphDNA, rng: Rng, limits: MutationLimits) => Mutated | undefined;

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.next();
const pick = <T>(rng: Rng, items: T[]): T | undefined => (items.length ? items[rng.int(items.length)] : undefined);
const clone = (dna: GraphDNA): GraphDNA => structuredClone(dna);
const newId = (dna: GraphDNA, prefix: 'v' | 'e') => `${prefix}${dna.nextId++}`;
const convs = (dna: GraphDNA) => dna.edges.filter((e) => e.kind === 'conv');

function vertex(id: string, activation: Activation): Vertex {
  return { id, activation, inputsMutable: true, outputsMutable: true, propertiesMutable: true };
}

/**
 * Inserts on a random backbone edge u -> v: u -> w by a new edge (a 3x3
 * convolution keeping the channel count, stride 1 or 2, or an identity), then
 * w -> v by the old edge, which keeps its id and so its weights. The new
 * vertex w is the new edge's output and takes the random activation, as the
 * paper has it: the inserted convolution "may apply batch-normalization and
 * ReLU activation or none at random" (INSERT-ONE-TO-ONE likewise).
 */
function insertOnBackbone(dna: GraphDNA, rng: Rng, kind: 'conv' | 'identity'): Mutated {
  const child = clone(dna);
  const old = pick(
    rng,
    child.edges.filter((e) => !e.skip),
  )!;
  const u = old.from;
  const w = vertex(newId(child, 'v'), rng.next() < 0.5 ? 'bn_relu' : 'linear');
  const edge = identityEdge(newId(child, 'e'), u, w.id, false);
  const detail: Record<string, number | string> = { activation: w.activation, after: u };
  if (kind === 'conv') {
    Object.assign(edge, { kind: 'conv', depthFactor: 1, filterHalfWidth: 1, filterHalfHeight: 1, strideScale: rng.next() < 0.5 ? 0 : 1 });
    detail.stride = 2 ** edge.strideScale;
  }
  old.from = w.id;
  child.vertices.splice(
    child.vertices.findIndex((x) => x.id === old.to),
    0,
    w,
  );
  child.edges.push(edge);
  return { dna: child, record: { type: kind === 'conv' ? 'insert-convolution' : 'insert-one-to-one', targets: [w.id, edge.id], detail, inherit: 'matching' } };
}

/**
 * Removes vertex `gone` from the backbone, joining its neighbours by `keep`
 * (its other backbone edge); drops its skips. A skip into it that is its
 * source's only edge out (possible only in fused graphs) moves to where the
 * joined edge leads instead, so that its source still reaches the output.
 */
function removeVertex(dna: GraphDNA, gone: string, dropped: Edge, keep: Edge): void {
  if (keep.to === gone) keep.to = dropped.to;
  else keep.from = dropped.from;
  const after = keep.from === dropped.from ? keep.to : dropped.to;
  const leaving = (id: string) => dna.edges.filter((e) => e.from === id).length;
  for (const e of dna.edges) {
    if (e.skip && e.to === gone && leaving(e.from) === 1 && !dna.edges.some((x) => x.skip && x.from === e.from && x.to === after)) e.to = after;
  }
  dna.edges = dna.edges.filter((e) => e !== dropped && !(e.skip && (e.from === gone || e.to === gone)));
  dna.vertices = dna.vertices.filter((v) => v.id !== gone);
}

const mutators: Record<MutationName, Mutator> = {
  'alter-learning-rate': (dna, rng, limits) => {
    const child = clone(dna);
    const factor = 2 ** uniform(rng, -1, 1);
    child.learningRate = Math.max(dna.learningRate * factor, limits.minLearningRate ?? 0);
    return { dna: child, record: { type: 'alter-learning-rate', targets: [], detail: { from: dna.learningRate, to: child.learningRate }, inherit: 'all' } };
  },
  identity: (dna) => ({ dna: clone(dna), record: { type: 'identity', targets: [], detail: {}, inherit: 'all' } }),
  'reset-weights': (dna) => ({ dna: clone(dna), record: { type: 'reset-weights', targets: [], detail: {}, inherit: 'none' } }),
  'insert-convolution': (dna, rng) => insertOnBackbone(dna, rng, 'conv'),
  'insert-one-to-one': (dna, rng) => insertOnBackbone(dna, rng, 'identity'),
  'remove-convolution': (dna, rng): Mutated | undefined => {
    const child = clone(dna);
    const target = pick(rng, convs(child));
    if (!target) return undefined;
    const first = child.vertices[0]!.id;
    const last = child.vertices[child.vertices.length - 1]!.id;
    const byTo = new Map(child.edges.filter((e) => !e.skip).map((e) => [e.to, e]));
    const outs = (id: string) => child.edges.filter((e) => !e.skip && e.from === id);
    // The inverse of INSERT-CONVOLUTION: the conv's output vertex goes with it
    // and the backbone edge leaving that vertex now leaves the conv's input.
    // Into the output vertex, which stays, the conv's input vertex goes instead,
    // as it does into the end of a fused branch (whose only edge out is a skip).
    // A vertex removed has one backbone edge out: in a chain every vertex has,
    // and only the input, never removed, branches.
    let gone: string;
    if (target.to !== last && outs(target.to).length === 1) {
      gone = target.to;
      removeVertex(child, gone, target, outs(gone)[0]!);
    } else if (target.from !== first && outs(target.from).length === 1) {
      gone = target.from;
      removeVertex(child, gone, target, byTo.get(gone)!);
    } else {
      // The only backbone edge: it becomes the identity it started as.
      Object.assign(target, identityEdge(target.id, target.from, target.to, false));
      return { dna: child, record: { type: 'remove-convolution', targets: [target.id], detail: { replacedBy: 'identity' }, inherit: 'matching' } };
    }
    return { dna: child, record: { type: 'remove-convolution', targets: [target.id, gone], detail: { removedVertex: gone }, inherit: 'matching' } };
  },
  'alter-stride': (dna, rng) => {
    const child = clone(dna);
    const e = pick(rng, convs(child));
    if (!e) return undefined;
    const from = e.strideScale;
    e.strideScale = Math.max(0, from + uniform(rng, -1, 1));
    return { dna: child, record: { type: 'alter-stride', targets: [e.id], detail: { from: 2 ** Math.round(from), to: 2 ** Math.round(e.strideScale) }, inherit: 'matching' } };
  },
  'alter-channels': (dna, rng) => {
    const child = clone(dna);
    const e = pick(rng, convs(child));
    if (!e) return undefined;
    const factor = uniform(rng, 0.5, 2);
    e.depthFactor *= factor;
    return { dna: child, record: { type: 'alter-channels', targets: [e.id], detail: { factor }, inherit: 'matching' } };
  },
  'filter-size': (dna, rng) => {
    const child = clone(dna);
    const e = pick(rng, convs(child));
    if (!e) return undefined;
    const axis = rng.next() < 0.5 ? 'filterHalfWidth' : 'filterHalfHeight';
    const from = e[axis];
    e[axis] = Math.max(0, from + uniform(rng, -1, 1));
    return {
      dna: child,
      record: {
        type: 'filter-size',
        targets: [e.id],
        detail: { axis: axis === 'filterHalfWidth' ? 'horizontal' : 'vertical', from: 2 * Math.round(from) + 1, to: 2 * Math.round(e[axis]) + 1 },
        inherit: 'matching',
      },
    };
  },
  'add-skip': (dna, rng) => {
    const child = clone(dna);
    const existing = new Set(child.edges.filter((e) => e.skip).map((e) => `${e.from}>${e.to}`));
    const pairs: [Vertex, Vertex][] = [];
    child.vertices.forEach((a, i) => {
      if (!a.outputsMutable) return;
      for (const b of child.vertices.slice(i + 1)) if (b.inputsMutable && !existing.has(`${a.id}>${b.id}`)) pairs.push([a, b]);
    });
    const pair = pick(rng, pairs);
    if (!pair) return undefined;
    const e = identityEdge(newId(child, 'e'), pair[0].id, pair[1].id, true);
    child.edges.push(e);
    return { dna: child, record: { type: 'add-skip', targets: [e.id], detail: { from: e.from, to: e.to }, inherit: 'matching' } };
  },
  'remove-skip': (dna, rng) => {
    const child = clone(dna);
    // Never a vertex's only edge out (the end of a fused branch): it would no longer reach the output.
    const leaving = (id: string) => child.edges.filter((x) => x.from === id).length;
    const e = pick(
      rng,
      child.edges.filter((x) => x.skip && leaving(x.from) > 1),
    );
    if (!e) return undefined;
    child.edges = child.edges.filter((x) => x !== e);
    return { dna: child, record: { type: 'remove-skip', targets: [e.id], detail: { from: e.from, to: e.to }, inherit: 'matching' } };
  },
};

/** Applies one named mutation; undefined when it cannot apply to this DNA. */
export function applyMutation(dna: GraphDNA, name: MutationName, rng: Rng, limits: MutationLimits = {}): Mutated | undefined {
  return mutators[name](dna, rng, limits);
}

export type MutationWeights = Partial<Record<MutationName, number>>;

/**
 * Picks a mutation by `weights` (uniform when none are given; evonas's
 * experiments pass their own, see ExperimentConfig.mutationWeights) and applies it; one that
 * cannot apply is set aside and another picked. `k` > 1 applies k in turn (a
 * raised mutation rate); the child then inherits what the weakest rule allows.
 */
export function mutate(dna: GraphDNA, rng: Rng, o: { weights?: MutationWeights; k?: number } & MutationLimits = {}): { dna: GraphDNA; records: MutationRecord[] } {
  const records: MutationRecord[] = [];
  let current = dna;
  for (let i = 0; i < (o.k ?? 1); i++) {
    const pool = MUTATIONS.filter((m) => (o.weights?.[m] ?? (o.weights ? 0 : 1)) > 0);
    if (pool.length === 0) throw new RangeError('Expected at least one mutation with a positive weight');
    let done: Mutated | undefined;
    while (!done && pool.length > 0) {
      const total = pool.reduce((a, m) => a + (o.weights?.[m] ?? 1), 0);
      let r = rng.next() * total;
      let name = pool[pool.length - 1]!; // rounding at the very end of the wheel
      for (const m of pool) {
        r -= o.weights?.[m] ?? 1;
        if (r < 0) {
          name = m;
          break;
        }
      }
      done = applyMutation(current, name, rng, o);
      if (!done) pool.splice(pool.indexOf(name), 1);
    }
    if (!done) throw new Error('no mutation with a positive weight can apply to this DNA');
    current = done.dna;
    records.push(done.record);
  }
  if (current !== dna) {
    if ((o.minChannels ?? 1) > 1) current.minChannels = o.minChannels;
    else delete current.minChannels;
  }
  return { dna: current, records };
}

/** What a child inherits after a list of mutations. */
export function inheritance(records: MutationRecord[]): 'all' | 'matching' | 'none' {
  if (records.some((r) => r.inherit === 'none')) return 'none';
  return records.every((r) => r.inherit === 'all') ? 'all' : 'matching';
}
