/**
 * A NAS-Bench-201 cell in the benchmark's macro skeleton, as NetIR: a 3×3
 * stem convolution (C channels) and batch norm; three stages of N cells at C,
 * 2C and 4C channels with a residual reduction block between them (ReLU-conv
 * 3×3 stride 2-BN, ReLU-conv 3×3-BN, and a 2×2 average pool + 1×1 conv
 * shortcut); then batch norm, ReLU, global average pool and a dense
 * classifier. In a cell, `nor_conv_k` is ReLU → k×k conv → BN, `avg_pool_3x3`
 * a 3×3 average pool (padding not counted), `skip_connect` the identity and
 * `none` nothing; a node none of whose inputs pass anything is zeros (the
 * benchmark's Zero op), and a cell whose output is such a node outputs zeros.
 * The benchmark's own network is C 16, N 5.
 */
import { INPUT_ID, NETIR_FORMAT, NETIR_VERSION } from '../../net/ir.js';
import type { NetIR, NetNode } from '../../net/ir.js';
import type { IOSpec } from '../../net/presets.js';
import { EDGES } from './cell.js';
import type { Nb201Op } from './cell.js';

export interface Nb201Settings {
  /** Cells per stage (the benchmark: 5). */
  cellsPerStage: number;
  /** Channels of the first stage; the next two have twice and four times as many (the benchmark: 16). */
  channels: number;
}

export const NB201_BENCHMARK: Nb201Settings = { cellsPerStage: 5, channels: 16 };

/** ReLU -> k x k conv (no bias) -> batch norm, appended to `nodes`; @returns the batch norm's id. */
function reluConvBn(nodes: NetNode[], id: string, input: string, channels: number, k: number, stride: number): string {
  const p = (k - 1) / 2;
  nodes.push(
    { id: `${id}_relu`, op: 'relu', inputs: [input] },
    { id, op: 'conv2d', inputs: [`${id}_relu`], channels, kernel: [k, k], stride, padding: [p, p], bias: false },
    { id: `${id}_bn`, op: 'batchnorm', inputs: [id] },
  );
  return `${id}_bn`;
}

/** One cell on `x`, appended to `nodes`; @returns its output's id (node 3, or zeros when it receives nothing). */
function cell(nodes: NetNode[], ops: readonly Nb201Op[], id: string, x: string, channels: number): string {
  const value: string[] = [x];
  for (let j = 1; j <= 3; j++) {
    const terms: string[] = [];
    EDGES.forEach(([from, to], k) => {
      if (to !== j || ops[k] === 'none') return;
      const input = value[from]!;
      const e = `${id}_e${from}${to}`;
      if (ops[k] === 'skip_connect') terms.push(input);
      else if (ops[k] === 'nor_conv_1x1') terms.push(reluConvBn(nodes, e, input, channels, 1, 1));
      else if (ops[k] === 'nor_conv_3x3') terms.push(reluConvBn(nodes, e, input, channels, 3, 1));
      else {
        nodes.push({ id: `${e}_pool`, op: 'avgpool', inputs: [input], kernel: [3, 3], stride: 1, padding: [1, 1] });
        terms.push(`${e}_pool`);
      }
    });
    if (terms.length === 0) {
      // The benchmark's Zero: a node that receives nothing is zeros of the cell input's shape.
      nodes.push({ id: `${id}_n${j}_zero`, op: 'zero', inputs: [x] });
      value[j] = `${id}_n${j}_zero`;
    } else if (terms.length === 1) value[j] = terms[0]!;
    else {
      nodes.push({ id: `${id}_n${j}`, op: 'add', inputs: terms });
      value[j] = `${id}_n${j}`;
    }
  }
  return value[3]!;
}

export function compileNb201(ops: readonly Nb201Op[], io: IOSpec, s: Nb201Settings = NB201_BENCHMARK): NetIR {
  const nodes: NetNode[] = [];
  nodes.push({ id: 'stem', op: 'conv2d', inputs: [INPUT_ID], channels: s.channels, kernel: [3, 3], padding: [1, 1], bias: false }, { id: 'stem_bn', op: 'batchnorm', inputs: ['stem'] });
  let x = 'stem_bn';
  for (let stage = 0; stage < 3; stage++) {
    const c = s.channels * 2 ** stage;
    if (stage > 0) {
      const r = `r${stage}`;
      const a = reluConvBn(nodes, `${r}_a`, x, c, 3, 2);
      const b = reluConvBn(nodes, `${r}_b`, a, c, 3, 1);
      nodes.push(
        { id: `${r}_pool`, op: 'avgpool', inputs: [x], kernel: [2, 2], stride: 2, padding: [0, 0] },
        { id: `${r}_down`, op: 'conv2d', inputs: [`${r}_pool`], channels: c, kernel: [1, 1], bias: false },
        { id: `${r}_sum`, op: 'add', inputs: [`${r}_down`, b] },
      );
      x = `${r}_sum`;
    }
    for (let k = 0; k < s.cellsPerStage; k++) x = cell(nodes, ops, `s${stage + 1}c${k + 1}`, x, c);
  }
  nodes.push(
    { id: 'last_bn', op: 'batchnorm', inputs: [x] },
    { id: 'last_relu', op: 'relu', inputs: ['last_bn'] },
    { id: 'pool', op: 'globalavgpool', inputs: ['last_relu'] },
    { id: 'classifier', op: 'dense', inputs: ['pool'], units: io.classes },
  );
  return { format: NETIR_FORMAT, version: NETIR_VERSION, input: { channels: io.channels, height: io.height, width: io.width }, classes: io.classes, nodes };
}
