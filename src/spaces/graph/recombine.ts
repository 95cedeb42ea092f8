/**
 * The three recombinations Large-Scale Evolution's section "Recombination"
 * reports trying (none beat mutation alone there; "further study seems
 * warranted"). The paper gives one sentence each; where it is silent, the
 * choice is evonas's and says so.
 *
 * - probabilities: every individual carries its own mutation distribution
 *   (Tuson & Ross, whom the paper follows), mutated with it before it is
 *   drawn from; a recombined child takes its structure from one parent and
 *   its distribution from the other.
 * - weights: a child of two parents takes each layer's trained tensors from
 *   one of them, by a fair coin per layer, where both have that layer (same
 *   name, every tensor the same shape); elsewhere from the first parent.
 *   Whole layers, not single tensors, so that a convolution never runs with
 *   another network's batch-norm statistics. Two parents of one structure
 *   share every layer.
 * - fusion: a child whose graph holds both parents' graphs side by side,
 *   from the input to a new output vertex that sums the two, each branch
 *   with its parent's trained weights.
 */
import type { IOSpec } from '../../net/presets.js';
import type { Rng } from '../../util/rng.js';
import type { Weights as WeightMap } from '../types.js';
import { vertexShapes } from './compile.js';
import { identityEdge } from './dna.js';
import type { Edge, GraphDNA, Vertex } from './dna.js';
import { MUTATIONS } from './mutations.js';
import type { MutationWeights } from './mutations.js';

export const RECOMBINATIONS = ['probabilities', 'weights', 'fusion'] as const;
export type Recombination = (typeof RECOMBINATIONS)[number];

/**
 * A mutated distribution: each weight times 2^U(-1/2, 1/2), then normalized
 * to sum 1, a weight never below 1% of the total (so that no mutation the
 * experiment allows dies out for good) nor above 0 where the experiment gave
 * it 0. The log-uniform step is the DNA's own rule for numbers (the learning
 * rate's is 2^U(-1, 1)), halved: eleven weights move at once.
 */
export function evolveWeights(weights: Record<string, number>, rng: Rng): Record<string, number> {
  const names = MUTATIONS.filter((m) => (weights[m] ?? 0) > 0);
  const raw = names.map((m) => weights[m]! * 2 ** (rng.next() - 0.5));
  const total = raw.reduce((a, b) => a + b, 0);
  const floored = raw.map((w) => Math.max(w / total, 0.01));
  const sum = floored.reduce((a, b) => a + b, 0);
  return Object.fromEntries(names.map((m, i) => [m, floored[i]! / sum]));
}

/** A distribution from the experiment's weights ({}: uniform, the paper), normalized to sum 1. */
export function normalizedWeights(weights: MutationWeights): Record<string, number> {
  const given = Object.keys(weights).length > 0;
  const w = MUTATIONS.map((m) => (given ? (weights[m] ?? 0) : 1));
  const total = w.reduce((a, b) => a + b, 0);
  return Object.fromEntries(MUTATIONS.map((m, i) => [m, w[i]! / total]).filter(([, v]) => (v as number) > 0));
}

/** The layer a tensor belongs to: its name up to the first dot (e7, v3_bn, head_fc). */
const layerOf = (name: string) => name.slice(0, name.indexOf('.') < 0 ? name.length : name.indexOf('.'));

function layers(w: WeightMap): Map<string, WeightMap> {
  const out = new Map<string, WeightMap>();
  for (const [name, t] of w) {
    const l = layerOf(name);
    if (!out.has(l)) out.set(l, new Map());
    out.get(l)!.set(name, t);
  }
  return out;
}

const sameShapes = (a: WeightMap, b: WeightMap) => a.size === b.size && [...a].every(([n, t]) => b.has(n) && b.get(n)!.shape.join('x') === t.shape.join('x'));

/**
 * Weight recombination: `first`'s weights, each layer both parents have (by
 * name, with every tensor the same shape) taken from `second` on a fair
 * coin. @returns the weights and which layers came from `second`.
 */
export function crossWeights(first: WeightMap, second: WeightMap, rng: Rng): { weights: WeightMap; fromSecond: string[] } {
  const a = layers(first);
  const b = layers(second);
  const weights: WeightMap = new Map();
  const fromSecond: string[] = [];
  for (const [layer, tensors] of [...a].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const other = b.get(layer);
    const take = other !== undefined && sameShapes(tensors, other) && rng.next() < 0.5;
    if (take) fromSecond.push(layer);
    for (const [n, t] of take ? other! : tensors) weights.set(n, t);
  }
  return { weights, fromSecond };
}

export interface Fused {
  dna: GraphDNA;
  /** The second parent's layer names in the child (e7 -> e31, v3_bn -> v24_bn). */
  rename: Map<string, string>;
  /** Whose classifier (head_fc) the child keeps: the branch whose channels the sum takes. */
  head: 'first' | 'second';
}

/**
 * Side-by-side fusion: the first parent's graph with its ids, the second's
 * renumbered after them, both from the shared input; each parent's output
 * vertex becomes an inner linear vertex, and a new output vertex sums them.
 * The wider branch (more output channels; the first on a tie) joins the sum
 * by the backbone edge and so sets its channels and size: the other is
 * zero-padded and resized to it, as every sum in the DNA is (compile.ts), so
 * that the classifier of the wider parent fits. The child's learning rate
 * is the first parent's.
 */
export function fuse(first: GraphDNA, second: GraphDNA, io: IOSpec): Fused {
  const child: GraphDNA = structuredClone(first);
  const rename = new Map<string, string>();
  const input = first.vertices[0]!.id;
  const ids = new Map<string, string>([[second.vertices[0]!.id, input]]);
  const fresh = (old: string, prefix: 'v' | 'e') => {
    const id = `${prefix}${child.nextId++}`;
    ids.set(old, id);
    return id;
  };
  const inner = (v: Vertex): Vertex => ({ ...v, inputsMutable: true, outputsMutable: true, propertiesMutable: true });
  const firstOut = child.vertices.pop()!;
  const secondVertices = second.vertices.slice(1).map((v) => {
    const id = fresh(v.id, 'v');
    if (v.activation === 'bn_relu') rename.set(`${v.id}_bn`, `${id}_bn`);
    return inner({ ...v, id });
  });
  const secondEdges: Edge[] = second.edges.map((e) => {
    const id = fresh(e.id, 'e');
    if (e.kind === 'conv') rename.set(e.id, id);
    return { ...e, id, from: ids.get(e.from)!, to: ids.get(e.to)! };
  });
  const secondOut = secondVertices[secondVertices.length - 1]!;
  const output: Vertex = { id: `v${child.nextId++}`, activation: 'linear', inputsMutable: true, outputsMutable: false, propertiesMutable: false };
  child.vertices.push(inner(firstOut), ...secondVertices, output);
  child.edges.push(...secondEdges);
  const channels = (dna: GraphDNA) => vertexShapes(dna, io).get(dna.vertices[dna.vertices.length - 1]!.id)!.c;
  const head = channels(second) > channels(first) ? 'second' : 'first';
  const [main, side] = head === 'first' ? [firstOut.id, secondOut.id] : [secondOut.id, firstOut.id];
  child.edges.push(identityEdge(`e${child.nextId++}`, main, output.id, false), identityEdge(`e${child.nextId++}`, side, output.id, true));
  if (first.minChannels !== undefined || second.minChannels !== undefined) child.minChannels = Math.max(first.minChannels ?? 1, second.minChannels ?? 1);
  return { dna: child, rename, head };
}

/** The fused child's weights: every layer of both parents under its new name, and the classifier of `head`. */
export function fusedWeights(first: WeightMap, second: WeightMap, f: Pick<Fused, 'rename' | 'head'>): WeightMap {
  const out: WeightMap = new Map();
  for (const [n, t] of first) if (layerOf(n) !== 'head_fc') out.set(n, t);
  for (const [n, t] of second) {
    const l = layerOf(n);
    if (l === 'head_fc') continue;
    const to = f.rename.get(l);
    if (to !== undefined) out.set(to + n.slice(l.length), t);
  }
  for (const [n, t] of f.head === 'first' ? first : second) if (layerOf(n) === 'head_fc') out.set(n, t);
  return out;
}
