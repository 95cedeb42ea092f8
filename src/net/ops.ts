/**
 * One table, one entry per op: how it checks its fields, the shape it
 * produces, the tensors it owns, its forward FLOPs per image, the fields the
 * native engine reads and its ONNX lowering. Shared code (validation,
 * counting, the engine spec, the exporter) reads this table and never
 * switches on an op itself: a new op is one entry here and one case in the
 * native forward pass.
 */
import type { Conv2dNode as ConvNode, NetNode, OpName, Pair, PoolNode, Shape } from './ir.js';
import { pair, shapeSize } from './ir.js';

/** Raised by an op's check; the validator adds the node index, id and op. */
export class OpFault extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface TensorSpec {
  /** Suffix after `<node id>.`. */
  suffix: string;
  shape: number[];
  /** False for running statistics. */
  trainable: boolean;
}

/** An ONNX node attribute. */
export type OnnxAttr = { i: number } | { f: number } | { ints: number[] } | { s: string };

/** What an op's ONNX lowering may ask of the exporter (export/onnx.ts implements it for one node at a time). */
export interface OnnxBuilder {
  /** Adds an ONNX node; @returns its output's name (`output`, or a fresh one). */
  node(op: string, inputs: string[], attrs?: Record<string, OnnxAttr>, output?: string): string;
  /** An int64 vector constant named `name`. */
  ints(name: string, values: number[]): string;
  /** The initializer of this node's tensor `suffix` (weight, bias, running_mean, ...). */
  weight(suffix: string): string;
  /** This node's output name, or with a suffix a name for one of its constants. */
  name(suffix?: string): string;
}

/** One input of a node being lowered: its ONNX value and its shape. */
export interface LoweredInput {
  value: string;
  shape: Shape;
}

/** torch's nearest-neighbour source index (upsample_nearest2d, align_corners false), exactly: the engine resizes an add's inputs so. */
export function nearestIndex(out: number, inSize: number, outSize: number): number {
  if (outSize === inSize) return out;
  if (outSize === 2 * inSize) return out >> 1;
  const scale = Math.fround(inSize / outSize);
  return Math.min(Math.floor(Math.fround(out * scale)), inSize - 1);
}

interface OpSpec {
  /** Smallest and largest number of inputs. */
  arity: [number, number];
  /** Checks the node's own fields and its input shapes; returns the output shape. */
  shape(node: NetNode, inputs: Shape[]): Shape;
  tensors(node: NetNode, inputs: Shape[], out: Shape): TensorSpec[];
  /** Forward FLOPs for one image; a multiply-add is 2 FLOPs. */
  flops(node: NetNode, inputs: Shape[], out: Shape): number;
  /** Backward cost relative to forward: 2 for conv and dense (input and weight gradients), 1 otherwise. */
  backwardFactor: number;
  /** The fields the native engine reads besides id, op, inputs and the output's c, h, w: the node's `fields`, bound by name in native/ops.cc. */
  native(node: NetNode, inputs: Shape[]): Record<string, number | boolean>;
  /** Adds the node to an ONNX graph; @returns the value holding its output. */
  onnx(b: OnnxBuilder, node: NetNode, inputs: LoweredInput[], out: Shape): string;
}

function positiveInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new OpFault(field, `Expected a positive integer for ${field} but received ${JSON.stringify(v)}`);
  }
  return v;
}

function nonNegativeInt(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new OpFault(field, `Expected a non-negative integer for ${field} but received ${JSON.stringify(v)}`);
  }
  return v;
}

function pairField(v: unknown, field: string, fallback: number | undefined, check: (x: unknown, f: string) => number): Pair {
  if (v === undefined && fallback !== undefined) return [fallback, fallback];
  if (typeof v === 'number') return [check(v, field), check(v, field)];
  if (!Array.isArray(v) || v.length !== 2) {
    throw new OpFault(field, `Expected a number or a pair [h, w] for ${field} but received ${JSON.stringify(v)}`);
  }
  return [check(v[0], `${field}[0]`), check(v[1], `${field}[1]`)];
}

function spatial(s: Shape, what: string): { c: number; h: number; w: number } {
  if (s.kind !== 'spatial') throw new OpFault('inputs', `Expected a spatial input for ${what} but received a flat vector`);
  return s;
}

/** Output size of a padded window; refuses a window larger than its padded input. */
function windowOut(size: number, k: number, s: number, p: number, axis: string): number {
  if (k > size + 2 * p) {
    throw new OpFault('kernel', `Expected kernel ${axis} ${k} to fit the padded input (${size} + 2*${p}) but it does not`);
  }
  return Math.floor((size + 2 * p - k) / s) + 1;
}

interface Window {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
}

function windowOf(node: { kernel?: unknown; stride?: unknown; padding?: unknown }, samePadding: boolean): Window {
  const kernel = pairField(node.kernel, 'kernel', undefined, positiveInt);
  const stride = pairField(node.stride, 'stride', 1, positiveInt);
  let padding: Pair;
  if (node.padding === undefined && samePadding) {
    kernel.forEach((k, i) => {
      if (k % 2 !== 1) throw new OpFault(`kernel[${i}]`, `Expected an odd kernel size for kernel[${i}] but received ${k}`);
    });
    padding = [(kernel[0] - 1) / 2, (kernel[1] - 1) / 2];
  } else {
    padding = pairField(node.padding, 'padding', 0, nonNegativeInt);
  }
  return { kernel, stride, padding };
}

/** A window's fields as the native engine reads them. */
function nativeWindow(w: Window): Record<string, number> {
  return { kh: w.kernel[0], kw: w.kernel[1], sh: w.stride[0], sw: w.stride[1], ph: w.padding[0], pw: w.padding[1] };
}

/** A window's attributes as ONNX's Conv and pools take them. */
function onnxWindow(w: Window): Record<string, OnnxAttr> {
  return { kernel_shape: { ints: w.kernel }, strides: { ints: w.stride }, pads: { ints: [w.padding[0], w.padding[1], w.padding[0], w.padding[1]] } };
}

function windowShape(win: Window, input: { h: number; w: number }, c: number): Shape {
  return {
    kind: 'spatial',
    c,
    h: windowOut(input.h, win.kernel[0], win.stride[0], win.padding[0], 'height'),
    w: windowOut(input.w, win.kernel[1], win.stride[1], win.padding[1], 'width'),
  };
}

const elementwise = (flopsPerElement: number): Pick<OpSpec, 'flops' | 'backwardFactor' | 'tensors' | 'native'> => ({
  tensors: () => [],
  flops: (_n, _i, out) => flopsPerElement * shapeSize(out),
  backwardFactor: 1,
  native: () => ({}),
});

/** maxpool and avgpool: the same window, one ONNX op each. */
const pool = (onnxOp: 'MaxPool' | 'AveragePool'): OpSpec => ({
  arity: [1, 1],
  shape(node, [input]) {
    const x = spatial(input!, node.op);
    return windowShape(windowOf(node as PoolNode, false), x, x.c);
  },
  tensors: () => [],
  flops: (node, _i, out) => {
    const k = pair((node as PoolNode).kernel, 1);
    return k[0] * k[1] * shapeSize(out);
  },
  backwardFactor: 1,
  native: (node) => nativeWindow(windowOf(node as PoolNode, false)),
  // The engine's average excludes padding (count_include_pad false), as ONNX's default.
  onnx: (b, node, [x]) => b.node(onnxOp, [x!.value], onnxWindow(windowOf(node as PoolNode, false)), b.name()),
});

export const OPS: Record<OpName, OpSpec> = {
  conv2d: {
    arity: [1, 1],
    shape(node, [input]) {
      const n = node as ConvNode;
      const x = spatial(input!, 'conv2d');
      const channels = positiveInt(n.channels, 'channels');
      return windowShape(windowOf(n, true), x, channels);
    },
    tensors(node, [input], out) {
      const n = node as ConvNode;
      const k = pair(n.kernel, 1);
      const cin = (input as { c: number }).c;
      const t: TensorSpec[] = [{ suffix: 'weight', shape: [(out as { c: number }).c, cin, k[0], k[1]], trainable: true }];
      if (n.bias) t.push({ suffix: 'bias', shape: [(out as { c: number }).c], trainable: true });
      return t;
    },
    flops(node, [input], out) {
      const n = node as ConvNode;
      const k = pair(n.kernel, 1);
      const cin = (input as { c: number }).c;
      return 2 * k[0] * k[1] * cin * shapeSize(out) + (n.bias ? shapeSize(out) : 0);
    },
    backwardFactor: 2,
    native: (node) => ({ ...nativeWindow(windowOf(node as ConvNode, true)), bias: (node as ConvNode).bias === true }),
    onnx(b, node, [x]) {
      const n = node as ConvNode;
      return b.node('Conv', [x!.value, b.weight('weight'), ...(n.bias ? [b.weight('bias')] : [])], onnxWindow(windowOf(n, true)), b.name());
    },
  },
  batchnorm: {
    arity: [1, 1],
    shape(node, [input]) {
      const n = node as Extract<NetNode, { op: 'batchnorm' }>;
      if (n.eps !== undefined && !(typeof n.eps === 'number' && n.eps > 0)) {
        throw new OpFault('eps', `Expected a positive number for eps but received ${JSON.stringify(n.eps)}`);
      }
      if (n.momentum !== undefined && !(typeof n.momentum === 'number' && n.momentum >= 0 && n.momentum <= 1)) {
        throw new OpFault('momentum', `Expected a number in [0, 1] for momentum but received ${JSON.stringify(n.momentum)}`);
      }
      return { ...spatial(input!, 'batchnorm'), kind: 'spatial' };
    },
    tensors: (_n, [input]) => {
      const c = (input as { c: number }).c;
      return [
        { suffix: 'weight', shape: [c], trainable: true },
        { suffix: 'bias', shape: [c], trainable: true },
        { suffix: 'running_mean', shape: [c], trainable: false },
        { suffix: 'running_var', shape: [c], trainable: false },
      ];
    },
    flops: (_n, _i, out) => 2 * shapeSize(out), // a scale and a shift per element
    backwardFactor: 1,
    native: (node) => {
      const n = node as Extract<NetNode, { op: 'batchnorm' }>;
      return { eps: n.eps ?? 1e-5, momentum: n.momentum ?? 0.1 };
    },
    onnx: (b, node, [x]) =>
      b.node(
        'BatchNormalization',
        [x!.value, ...['weight', 'bias', 'running_mean', 'running_var'].map((t) => b.weight(t))],
        { epsilon: { f: (node as Extract<NetNode, { op: 'batchnorm' }>).eps ?? 1e-5 } },
        b.name(),
      ),
  },
  relu: { arity: [1, 1], shape: (_n, [input]) => input!, ...elementwise(1), onnx: (b, _n, [x]) => b.node('Relu', [x!.value], undefined, b.name()) },
  // x - x: zeros of x's shape in ONNX without a float constant (a non-finite input would give NaN; the engine never feeds one).
  zero: { arity: [1, 1], shape: (_n, [input]) => input!, ...elementwise(0), onnx: (b, _n, [x]) => b.node('Sub', [x!.value, x!.value], undefined, b.name()) },
  add: {
    arity: [2, Infinity],
    shape(_node, inputs) {
      inputs.forEach((s) => {
        spatial(s, 'add');
      });
      return inputs[0]!;
    },
    tensors: () => [],
    flops: (_n, inputs, out) => (inputs.length - 1) * shapeSize(out),
    backwardFactor: 1,
    native: () => ({}),
    // Inputs that differ from the first are resolved as the engine does: nearest-neighbour resize
    // (Gather with the engine's indices), then Slice or zero Pad of channels.
    onnx(b, _node, inputs, out) {
      const target = out as Extract<Shape, { kind: 'spatial' }>;
      const terms = inputs.map(({ value, shape }, k) => {
        if (k === 0) return value;
        const s = shape as Extract<Shape, { kind: 'spatial' }>;
        let v = value;
        if (s.h !== target.h)
          v = b.node(
            'Gather',
            [
              v,
              b.ints(
                b.name(`rows${k}`),
                Array.from({ length: target.h }, (_, o) => nearestIndex(o, s.h, target.h)),
              ),
            ],
            { axis: { i: 2 } },
          );
        if (s.w !== target.w)
          v = b.node(
            'Gather',
            [
              v,
              b.ints(
                b.name(`cols${k}`),
                Array.from({ length: target.w }, (_, o) => nearestIndex(o, s.w, target.w)),
              ),
            ],
            { axis: { i: 3 } },
          );
        if (s.c > target.c) v = b.node('Slice', [v, b.ints(b.name(`start${k}`), [0]), b.ints(b.name(`end${k}`), [target.c]), b.ints(b.name(`axis${k}`), [1])]);
        if (s.c < target.c) v = b.node('Pad', [v, b.ints(b.name(`pads${k}`), [0, 0, 0, 0, 0, target.c - s.c, 0, 0])], { mode: { s: 'constant' } });
        return v;
      });
      return b.node('Sum', terms, undefined, b.name());
    },
  },
  maxpool: pool('MaxPool'),
  avgpool: pool('AveragePool'),
  globalavgpool: {
    arity: [1, 1],
    shape(_node, [input]) {
      return { kind: 'flat', features: spatial(input!, 'globalavgpool').c };
    },
    tensors: () => [],
    flops: (_n, [input]) => shapeSize(input!),
    backwardFactor: 1,
    native: () => ({}),
    onnx: (b, _n, [x]) => b.node('Flatten', [b.node('GlobalAveragePool', [x!.value])], { axis: { i: 1 } }, b.name()),
  },
  dense: {
    arity: [1, 1],
    shape(node) {
      return { kind: 'flat', features: positiveInt((node as Extract<NetNode, { op: 'dense' }>).units, 'units') };
    },
    tensors(node, [input], out) {
      const n = node as Extract<NetNode, { op: 'dense' }>;
      const t: TensorSpec[] = [{ suffix: 'weight', shape: [shapeSize(out), shapeSize(input!)], trainable: true }];
      if (n.bias !== false) t.push({ suffix: 'bias', shape: [shapeSize(out)], trainable: true });
      return t;
    },
    flops(node, [input], out) {
      const n = node as Extract<NetNode, { op: 'dense' }>;
      return 2 * shapeSize(input!) * shapeSize(out) + (n.bias !== false ? shapeSize(out) : 0);
    },
    backwardFactor: 2,
    native: (node, [input]) => ({ inFeatures: shapeSize(input!), bias: (node as Extract<NetNode, { op: 'dense' }>).bias !== false }),
    onnx(b, node, [x]) {
      const flat = x!.shape.kind === 'spatial' ? b.node('Flatten', [x!.value], { axis: { i: 1 } }) : x!.value;
      const bias = (node as Extract<NetNode, { op: 'dense' }>).bias !== false ? [b.weight('bias')] : [];
      return b.node('Gemm', [flat, b.weight('weight'), ...bias], { transB: { i: 1 } }, b.name());
    },
  },
  dropout: {
    arity: [1, 1],
    shape(node, [input]) {
      const rate = (node as Extract<NetNode, { op: 'dropout' }>).rate;
      if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
        throw new OpFault('rate', `Expected a number in [0, 1) for rate but received ${JSON.stringify(rate)}`);
      }
      return input!;
    },
    // Dropout is a mask, not arithmetic the network's function needs; it counts nothing.
    ...elementwise(0),
    native: (node) => ({ rate: (node as Extract<NetNode, { op: 'dropout' }>).rate }),
    onnx: (_b, _n, [x]) => x!.value, // the identity at inference
  },
};

export function isOpName(op: unknown): op is OpName {
  return typeof op === 'string' && Object.hasOwn(OPS, op);
}
