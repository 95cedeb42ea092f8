/**
 * One table, one entry per op: how it checks its fields, the shape it
 * produces, the tensors it owns and its forward FLOPs per image. Shared code
 * (validation, counting, the engine spec) reads this table and never switches
 * on an op itself.
 */
import type { NetNode, OpName, Pair, PoolNode, Shape } from './ir.js';
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

function windowShape(win: Window, input: { h: number; w: number }, c: number): Shape {
  return {
    kind: 'spatial',
    c,
    h: windowOut(input.h, win.kernel[0], win.stride[0], win.padding[0], 'height'),
    w: windowOut(input.w, win.kernel[1], win.stride[1], win.padding[1], 'width'),
  };
}

const elementwise = (flopsPerElement: number): Pick<OpSpec, 'flops' | 'backwardFactor' | 'tensors'> => ({
  tensors: () => [],
  flops: (_n, _i, out) => flopsPerElement * shapeSize(out),
  backwardFactor: 1,
});

export const OPS: Record<OpName, OpSpec> = {
  conv2d: {
    arity: [1, 1],
    shape(node, [input]) {
      const n = node as Extract<NetNode, { op: 'conv2d' }>;
      const x = spatial(input!, 'conv2d');
      const channels = positiveInt(n.channels, 'channels');
      return windowShape(windowOf(n, true), x, channels);
    },
    tensors(node, [input], out) {
      const n = node as Extract<NetNode, { op: 'conv2d' }>;
      const k = pair(n.kernel, 1);
      const cin = (input as { c: number }).c;
      const t: TensorSpec[] = [{ suffix: 'weight', shape: [(out as { c: number }).c, cin, k[0], k[1]], trainable: true }];
      if (n.bias) t.push({ suffix: 'bias', shape: [(out as { c: number }).c], trainable: true });
      return t;
    },
    flops(node, [input], out) {
      const n = node as Extract<NetNode, { op: 'conv2d' }>;
      const k = pair(n.kernel, 1);
      const cin = (input as { c: number }).c;
      return 2 * k[0] * k[1] * cin * shapeSize(out) + (n.bias ? shapeSize(out) : 0);
    },
    backwardFactor: 2,
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
  },
  relu: { arity: [1, 1], shape: (_n, [input]) => input!, ...elementwise(1) },
  add: {
    arity: [2, Infinity],
    shape(_node, inputs) {
      inputs.forEach((s) => spatial(s, 'add'));
      return inputs[0]!;
    },
    tensors: () => [],
    flops: (_n, inputs, out) => (inputs.length - 1) * shapeSize(out),
    backwardFactor: 1,
  },
  maxpool: {
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
  },
  avgpool: {
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
  },
  globalavgpool: {
    arity: [1, 1],
    shape(_node, [input]) {
      return { kind: 'flat', features: spatial(input!, 'globalavgpool').c };
    },
    tensors: () => [],
    flops: (_n, [input]) => shapeSize(input!),
    backwardFactor: 1,
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
  },
};

export function isOpName(op: unknown): op is OpName {
  return typeof op === 'string' && Object.prototype.hasOwnProperty.call(OPS, op);
}
