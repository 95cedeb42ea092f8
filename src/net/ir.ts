/**
 * NetIR: the plain-JSON network description that search spaces produce and
 * the engine consumes. Nodes are in topological order; each names its inputs
 * by node id, or `"input"` for the image. The last node gives the logits.
 * Every parameter tensor is named `<node id>.<tensor>` so weights survive
 * mutations by name.
 */

export const NETIR_FORMAT = 'evonas.netir';
export const NETIR_VERSION = 1;
/** The id by which nodes refer to the network's image input. */
export const INPUT_ID = 'input';

export type Pair = [number, number];

interface NodeBase {
  /** Stable id; parameter names derive from it. */
  id: string;
  /** Ids of the nodes (or `"input"`) this node reads, primary first. */
  inputs: string[];
}

/** Convolution with zero padding; odd kernels default to "same" padding ((k-1)/2). */
export interface Conv2dNode extends NodeBase {
  op: 'conv2d';
  channels: number;
  kernel: Pair;
  stride?: number | Pair;
  padding?: Pair;
  bias?: boolean;
}
export interface BatchNormNode extends NodeBase {
  op: 'batchnorm';
  eps?: number;
  momentum?: number;
}
export interface ReluNode extends NodeBase {
  op: 'relu';
}
/**
 * Sum of several inputs. Non-primary inputs are resized by nearest neighbour
 * to the primary input's spatial size and truncated or zero-padded to its
 * channel count.
 */
export interface AddNode extends NodeBase {
  op: 'add';
}
export interface PoolNode extends NodeBase {
  op: 'maxpool' | 'avgpool';
  kernel: Pair;
  stride?: number | Pair;
  padding?: Pair;
}
export interface GlobalAvgPoolNode extends NodeBase {
  op: 'globalavgpool';
}
/** Fully connected; a spatial input is flattened in (channel, row, column) order. */
export interface DenseNode extends NodeBase {
  op: 'dense';
  units: number;
  bias?: boolean;
}
export interface DropoutNode extends NodeBase {
  op: 'dropout';
  rate: number;
}
/** All zeros of its input's shape: an edge or a cell that passes nothing (NAS-Bench-201's `none`). */
export interface ZeroNode extends NodeBase {
  op: 'zero';
}

export type NetNode = Conv2dNode | BatchNormNode | ReluNode | AddNode | PoolNode | GlobalAvgPoolNode | DenseNode | DropoutNode | ZeroNode;

export type OpName = NetNode['op'];

export interface NetIR {
  format: typeof NETIR_FORMAT;
  version: typeof NETIR_VERSION;
  input: { channels: number; height: number; width: number };
  classes: number;
  nodes: NetNode[];
}

/** A spatial activation (per image) or a flat feature vector. */
export type Shape = { kind: 'spatial'; c: number; h: number; w: number } | { kind: 'flat'; features: number };

export function shapeSize(s: Shape): number {
  return s.kind === 'flat' ? s.features : s.c * s.h * s.w;
}

export function shapeText(s: Shape): string {
  return s.kind === 'flat' ? `[${s.features}]` : `[${s.c}x${s.h}x${s.w}]`;
}

export function pair(v: number | Pair | undefined, fallback: number): Pair {
  if (v === undefined) return [fallback, fallback];
  return typeof v === 'number' ? [v, v] : v;
}
