/**
 * ONNX export (opset 13) of a NetIR and its trained weights: an inference
 * graph that takes float32 NCHW images with pixel values 0-255, standardizes
 * them with the training statistics, and returns `logits` and
 * `probabilities` (softmax). Batch norm is exported as BatchNormalization
 * with the running statistics; an add whose inputs differ in size or
 * channels resolves them as the engine does (nearest-neighbour resize by
 * Gather with the engine's indices, then Slice or Pad of channels); dropout
 * is the identity at inference. An ensemble holds each member's graph and
 * votes by majority or averages the members' probabilities. A vote breaks
 * ties as the report's does (report/curves.ts majorityVote): by the members'
 * summed probabilities, then the lowest class index.
 */
import { analyze } from '../net/analyze.js';
import { INPUT_ID } from '../net/ir.js';
import type { NetIR, Shape } from '../net/ir.js';
import { OPS } from '../net/ops.js';
import type { OnnxAttr, OnnxBuilder } from '../net/ops.js';
import type { WeightMap } from '../engine/safetensors.js';
import { Writer } from './protobuf.js';
import { EvonasError } from '../util/errors.js';

export { nearestIndex } from '../net/ops.js';

export const OPSET = 13;
const IR_VERSION = 7; // the IR that goes with opset 13
const FLOAT = 1;
const INT64 = 7;

type Attr = OnnxAttr;

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

interface Init {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export class ExportError extends EvonasError {
  constructor(message: string) {
    super('ERR_EXPORT', message);
  }
}

/** A graph under construction: nodes, initializers, and unique value names. */
class Graph {
  readonly nodes: Node[] = [];
  readonly inits: Init[] = [];
  private n = 0;

  add(op: string, inputs: string[], attrs?: Record<string, Attr>, name?: string): string {
    const out = name ?? `${op.toLowerCase()}_${this.n++}`;
    this.nodes.push({ op, inputs, outputs: [out], attrs });
    return out;
  }

  float(name: string, dims: number[], data: ArrayLike<number>): string {
    this.inits.push({ name, dims, data: Float32Array.from(data) });
    return name;
  }

  ints(name: string, values: number[]): string {
    this.inits.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }
}

/**
 * Lowers one network into `g`, reading `input` (standardized NCHW) and
 * naming its values with `prefix`: each node by its op's entry in the op
 * table. @returns the value holding the logits.
 */
function lower(g: Graph, ir: NetIR, weights: WeightMap, input: string, prefix: string): string {
  const a = analyze(ir);
  const shapes = new Map<string, Shape>([[INPUT_ID, a.input]]);
  ir.nodes.forEach((n, i) => {
    shapes.set(n.id, a.shapes[i]!);
  });
  const value = new Map<string, string>([[INPUT_ID, input]]);
  for (const [i, n] of ir.nodes.entries()) {
    const builder: OnnxBuilder = {
      node: (op, inputs, attrs, output) => g.add(op, inputs, attrs, output),
      ints: (name, values) => g.ints(name, values),
      weight(suffix) {
        const tensor = `${n.id}.${suffix}`;
        const t = weights.get(tensor);
        if (!t) throw new ExportError(`no weights for ${tensor}`);
        const init = `${prefix}${tensor}`;
        if (!g.inits.some((x) => x.name === init)) g.float(init, t.shape, t.data as ArrayLike<number>);
        return init;
      },
      name: (suffix) => `${prefix}${n.id}${suffix ? `.${suffix}` : ''}`,
    };
    const inputs = n.inputs.map((id) => ({ value: value.get(id)!, shape: shapes.get(id)! }));
    value.set(n.id, OPS[n.op].onnx(builder, n, inputs, a.shapes[i]!));
  }
  return value.get(ir.nodes[ir.nodes.length - 1]!.id)!;
}

/** Pixels 0-255 to the standardized values the network was trained on: x / (255 std) - mean / std. */
function standardize(g: Graph, input: string, stats: { mean: number[]; std: number[] }): string {
  const c = stats.mean.length;
  const scale = g.float(
    'standardize.scale',
    [1, c, 1, 1],
    stats.std.map((s) => 1 / (255 * s)),
  );
  const offset = g.float(
    'standardize.offset',
    [1, c, 1, 1],
    stats.mean.map((m, i) => -m / stats.std[i]!),
  );
  return g.add('Add', [g.add('Mul', [input, scale]), offset], undefined, 'standardized');
}

export interface OnnxMember {
  ir: NetIR;
  weights: WeightMap;
}

export interface OnnxOptions {
  stats: { mean: number[]; std: number[] };
  classes: string[];
  /** Model metadata (class names are added as `classes`, a JSON array). */
  metadata?: Record<string, string>;
  /** Ensembles: majority vote (default) or the mean of the members' probabilities. */
  combine?: 'vote' | 'average';
  docString?: string;
}

function valueInfo(name: string, dims: (number | string)[]): Writer {
  const shape = new Writer();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().string(2, d));
  const tensor = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().string(1, name).message(2, new Writer().message(1, tensor));
}

function encodeAttr(name: string, a: Attr): Writer {
  const w = new Writer().string(1, name);
  if ('i' in a) return w.int(3, a.i).int(20, 2);
  if ('f' in a) return w.float(2, a.f).int(20, 1);
  if ('s' in a) return w.string(4, a.s).int(20, 3);
  return w.packedInts(8, a.ints).int(20, 7);
}

function encodeInit(t: Init): Writer {
  const w = new Writer();
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64).string(8, t.name);
  return w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

/** One network, or several as an ensemble, as the bytes of an ONNX model. */
export function exportOnnx(members: OnnxMember[], o: OnnxOptions): Uint8Array {
  if (members.length === 0) throw new ExportError('nothing to export');
  const { input: shape, classes } = members[0]!.ir;
  for (const m of members) {
    if (m.ir.classes !== classes || m.ir.input.channels !== shape.channels || m.ir.input.height !== shape.height || m.ir.input.width !== shape.width) {
      throw new ExportError('ensemble members must share their input shape and classes');
    }
  }
  if (o.classes.length !== classes) throw new ExportError(`expected ${classes} class names but received ${o.classes.length}`);
  const g = new Graph();
  const x = standardize(g, 'image', o.stats);
  const logits = members.map((m, k) => lower(g, m.ir, m.weights, x, members.length === 1 ? '' : `m${k}/`));
  if (members.length === 1) {
    g.add('Identity', [logits[0]!], undefined, 'logits');
    g.add('Softmax', ['logits'], { axis: { i: 1 } }, 'probabilities');
  } else if (o.combine === 'average') {
    const probs = logits.map((l) => g.add('Softmax', [l], { axis: { i: 1 } }));
    const mean = g.add('Div', [g.add('Sum', probs), g.float('ensemble.size', [], [members.length])], undefined, 'probabilities');
    // Logits whose softmax is the averaged probabilities.
    g.add('Log', [mean], undefined, 'logits');
  } else {
    const depth = g.ints('ensemble.classes', [classes]);
    const onOff = g.float('ensemble.on_off', [2], [0, 1]);
    const votes = logits.map((l) => g.add('OneHot', [g.add('ArgMax', [l], { axis: { i: 1 }, keepdims: { i: 0 } }), depth, onOff], { axis: { i: -1 } }));
    const count = g.add('Sum', votes);
    // The report's rule: most votes, then the largest summed probability, then the lowest class (ArgMax's first).
    // The summed probability (at most M) over M + 1 is below one vote, so it only ever breaks a tie.
    const mass = g.add(
      'Sum',
      logits.map((l) => g.add('Softmax', [l], { axis: { i: 1 } })),
    );
    const m = members.length;
    const score = g.add('Add', [count, g.add('Div', [mass, g.float('ensemble.size_plus_one', [], [m + 1])])], undefined, 'logits');
    // Each row's scores sum to M + M / (M + 1): normalized, the vote shares with the tie-break folded in.
    g.add('Div', [score, g.float('ensemble.score_total', [], [m + m / (m + 1)])], undefined, 'probabilities');
  }
  const graph = new Writer();
  for (const n of g.nodes) {
    const w = new Writer();
    for (const i of n.inputs) w.string(1, i);
    for (const out of n.outputs) w.string(2, out);
    w.string(3, n.outputs[0]!).string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, encodeAttr(k, v));
    graph.message(1, w);
  }
  graph.string(2, members.length === 1 ? 'evonas' : `evonas-ensemble-${members.length}`);
  for (const t of g.inits) graph.message(5, encodeInit(t));
  if (o.docString) graph.string(10, o.docString);
  graph.message(11, valueInfo('image', ['batch', shape.channels, shape.height, shape.width]));
  graph.message(12, valueInfo('logits', ['batch', classes]));
  graph.message(12, valueInfo('probabilities', ['batch', classes]));
  const model = new Writer().int(1, IR_VERSION).string(2, 'evonas').string(3, '0.1.0');
  model.message(7, graph);
  model.message(8, new Writer().string(1, '').int(2, OPSET));
  const metadata = { classes: JSON.stringify(o.classes), input: 'image: float32 [batch, channels, height, width], pixel values 0-255', ...(o.metadata ?? {}) };
  for (const [k, v] of Object.entries(metadata)) model.message(14, new Writer().string(1, k).string(2, v));
  return model.finish();
}
