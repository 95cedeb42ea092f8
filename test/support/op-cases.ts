// Every op of the engine, and every path it fuses or rewrites, as one small
// network each: checked against finite differences on the CPU
// (engine-gradients) and against the CPU on a GPU (engine-cuda).
import type { NetNode } from '../../src/net/ir.js';

/** One small network per op and per fused or rewritten path, on 2-channel 6x6 inputs with 3 classes. */
export const OP_CASES: Record<string, NetNode[]> = {
  'conv2d (3x3, bias) + globalavgpool + dense': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3], bias: true },
    { id: 'g', op: 'globalavgpool', inputs: ['c'] },
    { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
  ],
  'conv2d (non-square 1x3, stride 2, 5x1 after)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [1, 3], stride: 2 },
    { id: 'c2', op: 'conv2d', inputs: ['c'], channels: 2, kernel: [5, 1] },
    { id: 'fc', op: 'dense', inputs: ['c2'], units: 3 },
  ],
  'conv2d (1x1, stride 2x3, padding 1: a stride-1 convolution of the subsampled input)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [1, 1], stride: [2, 3], padding: [1, 1] },
    { id: 'fc', op: 'dense', inputs: ['c'], units: 3 },
  ],
  batchnorm: [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'b', op: 'batchnorm', inputs: ['c'] },
    { id: 'fc', op: 'dense', inputs: ['b'], units: 3 },
  ],
  'batchnorm + relu (fused kernel)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'b', op: 'batchnorm', inputs: ['c'] },
    { id: 'r', op: 'relu', inputs: ['b'] },
    { id: 'fc', op: 'dense', inputs: ['r'], units: 3 },
  ],
  'batchnorm + add + relu (fused residual kernel, resized shortcut)': [
    { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'b', op: 'batchnorm', inputs: ['c1'] },
    { id: 'c2', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [3, 3], stride: 2 },
    { id: 'a', op: 'add', inputs: ['b', 'c2'] },
    { id: 'r', op: 'relu', inputs: ['a'] },
    { id: 'fc', op: 'dense', inputs: ['r'], units: 3 },
  ],
  relu: [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'r', op: 'relu', inputs: ['c'] },
    { id: 'fc', op: 'dense', inputs: ['r'], units: 3 },
  ],
  'add (upsampled and zero-padded input)': [
    { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'c2', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [3, 3], stride: 2 },
    { id: 'a', op: 'add', inputs: ['c1', 'c2', 'input'] },
    { id: 'fc', op: 'dense', inputs: ['a'], units: 3 },
  ],
  'add (downsampled and truncated input)': [
    { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'c2', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [3, 3], stride: 2 },
    { id: 'a', op: 'add', inputs: ['c2', 'c1'] },
    { id: 'fc', op: 'dense', inputs: ['a'], units: 3 },
  ],
  maxpool: [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'p', op: 'maxpool', inputs: ['c'], kernel: [2, 2], stride: 2 },
    { id: 'fc', op: 'dense', inputs: ['p'], units: 3 },
  ],
  'relu read only by a maxpool (applied after the pool)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'r', op: 'relu', inputs: ['c'] },
    { id: 'p', op: 'maxpool', inputs: ['r'], kernel: [3, 3], stride: 2, padding: [1, 1] },
    { id: 'g', op: 'globalavgpool', inputs: ['p'] },
    { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
  ],
  'avgpool (padded)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'p', op: 'avgpool', inputs: ['c'], kernel: [3, 3], stride: 2, padding: [1, 1] },
    { id: 'fc', op: 'dense', inputs: ['p'], units: 3 },
  ],
  'dense on a flat input': [
    { id: 'g', op: 'globalavgpool', inputs: ['input'] },
    { id: 'h', op: 'dense', inputs: ['g'], units: 5 },
    { id: 'fc', op: 'dense', inputs: ['h'], units: 3, bias: false },
  ],
  'zero (an edge that passes nothing) into an add': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 3, kernel: [3, 3] },
    { id: 'z', op: 'zero', inputs: ['c'] },
    { id: 'a', op: 'add', inputs: ['z', 'c'] },
    { id: 'fc', op: 'dense', inputs: ['a'], units: 3 },
  ],
  'dropout (fixed mask)': [
    { id: 'c', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3] },
    { id: 'd', op: 'dropout', inputs: ['c'], rate: 0.5 },
    { id: 'fc', op: 'dense', inputs: ['d'], units: 3 },
  ],
};
