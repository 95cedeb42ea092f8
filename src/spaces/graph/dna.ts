/**
 * The DNA of Large-Scale Evolution (Real et al. 2017): a graph whose vertices
 * are activations (linear, or batch norm + ReLU) and whose edges are identity
 * connections or convolutions, plus the learning rate.
 *
 * Every vertex but the input has one backbone edge into it, from an earlier
 * vertex, and every vertex but the output has an edge out: the backbone is a
 * tree from the input, and every vertex lies on a path to the output. The
 * paper's mutations keep it a chain (insertions split a backbone edge,
 * removals merge one); side-by-side fusion (recombine.ts) makes it branch at
 * the input. Skip edges are extra identity edges from an earlier to a later
 * vertex. Vertices are listed in an order every edge follows, input first
 * and output last. Numeric parameters are floats, rounded when compiled, so
 * that small mutations accumulate.
 */
import { createHash } from 'node:crypto';
import { EvonasError, pathOf } from '../../util/errors.js';
import { MUTATIONS } from './mutations.js';

export const DNA_FORMAT = 'evonas.graph-dna';
export const DNA_VERSION = 1;

export type Activation = 'linear' | 'bn_relu';

export interface Vertex {
  id: string;
  activation: Activation;
  /** May receive new skip edges. */
  inputsMutable: boolean;
  /** May send new skip edges. */
  outputsMutable: boolean;
  /** Its activation may be chosen by a mutation. */
  propertiesMutable: boolean;
}

export interface Edge {
  id: string;
  from: string;
  to: string;
  kind: 'identity' | 'conv';
  /** A skip edge is off the backbone; the backbone edge into a vertex is its primary input. */
  skip: boolean;
  /** Output channels = round(input channels x depthFactor), at least 1. */
  depthFactor: number;
  /** Kernel width = 2 round(filterHalfWidth) + 1. */
  filterHalfWidth: number;
  filterHalfHeight: number;
  /** Stride = 2^round(strideScale). */
  strideScale: number;
  /** When several edges meet, the highest precedence sets the vertex's channels (depth) and size (scale). */
  depthPrecedence: number;
  scalePrecedence: number;
}

export interface GraphDNA {
  format: typeof DNA_FORMAT;
  version: typeof DNA_VERSION;
  learningRate: number;
  /** Backbone order: vertices[0] is the input, the last is the output. */
  vertices: Vertex[];
  edges: Edge[];
  /** Next free number for new vertex and edge ids. */
  nextId: number;
  /**
   * Its own mutation distribution (by mutation name, summing to 1), where the
   * search evolves it (recombination "probabilities"); absent: the
   * experiment's weights.
   */
  mutationWeights?: Record<string, number>;
  /**
   * The fewest output channels a convolution compiles to (absent: 1, the
   * paper). Set by the mutations from the experiment's `minChannels`, so that
   * a stored individual always compiles to the network it was trained as.
   */
  minChannels?: number;
}

export class DNAError extends EvonasError {
  constructor(at: string, message: string) {
    super('ERR_DNA_INVALID', `Invalid DNA at ${at}: ${message}`, pathOf(at));
  }
}

/** The paper's initial individual: input -> output by one identity edge, no convolution, learning rate 0.1. */
export function initialDNA(learningRate = 0.1): GraphDNA {
  return {
    format: DNA_FORMAT,
    version: DNA_VERSION,
    learningRate,
    vertices: [
      { id: 'v0', activation: 'linear', inputsMutable: false, outputsMutable: true, propertiesMutable: false },
      { id: 'v1', activation: 'linear', inputsMutable: true, outputsMutable: false, propertiesMutable: false },
    ],
    edges: [identityEdge('e2', 'v0', 'v1', false)],
    nextId: 3,
  };
}

export function identityEdge(id: string, from: string, to: string, skip: boolean): Edge {
  return {
    id,
    from,
    to,
    kind: 'identity',
    skip,
    depthFactor: 1,
    filterHalfWidth: 0,
    filterHalfHeight: 0,
    strideScale: 0,
    depthPrecedence: skip ? 0 : 1,
    scalePrecedence: skip ? 0 : 1,
  };
}

/** The compiled values of an edge's numeric parameters. */
export function kernelOf(e: Edge): [number, number] {
  return [2 * Math.round(e.filterHalfHeight) + 1, 2 * Math.round(e.filterHalfWidth) + 1];
}
export function strideOf(e: Edge): number {
  return 2 ** Math.round(e.strideScale);
}

/** The backbone edge entering each non-input vertex, by vertex id. */
export function backboneEdges(dna: GraphDNA): Map<string, Edge> {
  const m = new Map<string, Edge>();
  for (const e of dna.edges) if (!e.skip) m.set(e.to, e);
  return m;
}

function finite(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new DNAError(path, `expected a finite number >= ${min} but found ${JSON.stringify(v)}`);
  return v;
}

/**
 * Checks a DNA (for instance one read from a file) against the schema and the
 * invariants: a backbone chain from input to output, skips forward only.
 * @throws {DNAError} naming the path of the first fault.
 */
export function validateDNA(dna: unknown): GraphDNA {
  const d = dna as GraphDNA;
  if (typeof d !== 'object' || d === null) throw new DNAError('', 'expected an object');
  if (d.format !== DNA_FORMAT) throw new DNAError('format', `expected "${DNA_FORMAT}" but found ${JSON.stringify(d.format)}`);
  if (d.version !== DNA_VERSION) throw new DNAError('version', `expected ${DNA_VERSION} but found ${JSON.stringify(d.version)}`);
  finite(d.learningRate, 'learningRate', Number.MIN_VALUE);
  if (!Number.isInteger(d.nextId)) throw new DNAError('nextId', 'expected an integer');
  if (d.minChannels !== undefined && !(Number.isInteger(d.minChannels) && d.minChannels >= 1)) {
    throw new DNAError('minChannels', `expected a whole number of at least 1 but found ${JSON.stringify(d.minChannels)}`);
  }
  if (!Array.isArray(d.vertices) || d.vertices.length < 2) throw new DNAError('vertices', 'expected at least an input and an output vertex');
  if (!Array.isArray(d.edges)) throw new DNAError('edges', 'expected an array');
  const ids = new Set<string>();
  const position = new Map<string, number>();
  d.vertices.forEach((v, i) => {
    const at = `vertices[${i}]`;
    if (typeof v?.id !== 'string' || !/^v\d+$/.test(v.id)) throw new DNAError(`${at}.id`, `expected an id like "v12" but found ${JSON.stringify(v?.id)}`);
    if (ids.has(v.id)) throw new DNAError(`${at}.id`, `duplicate id ${v.id}`);
    if (Number(v.id.slice(1)) >= d.nextId) throw new DNAError(`${at}.id`, `id ${v.id} is not below nextId ${d.nextId}`);
    ids.add(v.id);
    position.set(v.id, i);
    if (v.activation !== 'linear' && v.activation !== 'bn_relu') throw new DNAError(`${at}.activation`, `expected "linear" or "bn_relu" but found ${JSON.stringify(v.activation)}`);
    for (const f of ['inputsMutable', 'outputsMutable', 'propertiesMutable'] as const) {
      if (typeof v[f] !== 'boolean') throw new DNAError(`${at}.${f}`, 'expected a boolean');
    }
  });
  const backbone = new Map<string, Edge>();
  const skips = new Set<string>();
  d.edges.forEach((e, i) => {
    const at = `edges[${i}]`;
    if (typeof e?.id !== 'string' || !/^e\d+$/.test(e.id)) throw new DNAError(`${at}.id`, `expected an id like "e7" but found ${JSON.stringify(e?.id)}`);
    if (ids.has(e.id)) throw new DNAError(`${at}.id`, `duplicate id ${e.id}`);
    if (Number(e.id.slice(1)) >= d.nextId) throw new DNAError(`${at}.id`, `id ${e.id} is not below nextId ${d.nextId}`);
    ids.add(e.id);
    const from = position.get(e.from);
    const to = position.get(e.to);
    if (from === undefined) throw new DNAError(`${at}.from`, `no vertex ${JSON.stringify(e.from)}`);
    if (to === undefined) throw new DNAError(`${at}.to`, `no vertex ${JSON.stringify(e.to)}`);
    if (e.kind !== 'identity' && e.kind !== 'conv') throw new DNAError(`${at}.kind`, `expected "identity" or "conv" but found ${JSON.stringify(e.kind)}`);
    if (typeof e.skip !== 'boolean') throw new DNAError(`${at}.skip`, 'expected a boolean');
    finite(e.depthFactor, `${at}.depthFactor`, Number.MIN_VALUE);
    finite(e.filterHalfWidth, `${at}.filterHalfWidth`, 0);
    finite(e.filterHalfHeight, `${at}.filterHalfHeight`, 0);
    finite(e.strideScale, `${at}.strideScale`, 0);
    finite(e.depthPrecedence, `${at}.depthPrecedence`, -Infinity);
    finite(e.scalePrecedence, `${at}.scalePrecedence`, -Infinity);
    if (e.skip) {
      if (e.kind !== 'identity') throw new DNAError(`${at}.kind`, 'a skip edge must be an identity');
      if (!(from < to)) throw new DNAError(`${at}`, `skip ${e.from} -> ${e.to} does not go forward along the backbone (it would make a cycle)`);
      const key = `${e.from}>${e.to}`;
      if (skips.has(key)) throw new DNAError(`${at}`, `a second skip ${e.from} -> ${e.to}`);
      skips.add(key);
    } else {
      if (!(from < to)) throw new DNAError(`${at}`, `backbone edge ${e.from} -> ${e.to} does not go forward in the vertex order`);
      if (backbone.has(e.to)) throw new DNAError(`${at}`, `a second backbone edge into ${e.to}`);
      backbone.set(e.to, e);
    }
  });
  const leaving = new Set(d.edges.map((e) => e.from));
  for (let i = 1; i < d.vertices.length; i++) {
    if (!backbone.has(d.vertices[i]!.id)) throw new DNAError(`vertices[${i}]`, `no backbone edge into ${d.vertices[i]!.id}`);
    if (i < d.vertices.length - 1 && !leaving.has(d.vertices[i]!.id)) throw new DNAError(`vertices[${i}]`, `no edge out of ${d.vertices[i]!.id}: it would not reach the output`);
  }
  if (d.mutationWeights !== undefined) {
    if (typeof d.mutationWeights !== 'object' || d.mutationWeights === null || Array.isArray(d.mutationWeights))
      throw new DNAError('mutationWeights', 'expected an object of mutation names to weights');
    for (const [k, w] of Object.entries(d.mutationWeights)) {
      if (!(MUTATIONS as readonly string[]).includes(k)) throw new DNAError(`mutationWeights.${k}`, `unknown mutation (known: ${MUTATIONS.join(', ')})`);
      finite(w, `mutationWeights.${k}`, 0);
    }
    if (!Object.values(d.mutationWeights).some((w) => w > 0)) throw new DNAError('mutationWeights', 'expected at least one weight above 0');
  }
  return d;
}

/** JSON text of a DNA (stable key order). */
export function serializeDNA(dna: GraphDNA): string {
  return `${JSON.stringify(dna, null, 2)}\n`;
}

/** @throws {DNAError|SyntaxError} */
export function parseDNA(text: string): GraphDNA {
  return validateDNA(JSON.parse(text));
}

/**
 * A hash equal for isomorphic DNAs: vertices are named by backbone position
 * and edges by their endpoints' positions, so ids do not matter.
 */
export function hashDNA(dna: GraphDNA): string {
  const pos = new Map(dna.vertices.map((v, i) => [v.id, i]));
  const edges = dna.edges
    .map((e) => [pos.get(e.from), pos.get(e.to), e.kind, e.skip, e.depthFactor, e.filterHalfWidth, e.filterHalfHeight, e.strideScale, e.depthPrecedence, e.scalePrecedence])
    .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const canonical = {
    lr: dna.learningRate,
    ...(dna.mutationWeights !== undefined ? { mutationWeights: Object.entries(dna.mutationWeights).sort(([a], [b]) => (a < b ? -1 : 1)) } : {}),
    ...(dna.minChannels !== undefined ? { minChannels: dna.minChannels } : {}),
    vertices: dna.vertices.map((v) => [v.activation, v.inputsMutable, v.outputsMutable, v.propertiesMutable]),
    edges,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}
