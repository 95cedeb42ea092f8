/** Hand-written networks as NetIR: the engine benchmark's three, and baselines for `evonas train`. */
import type { NetIR, NetNode } from './ir.js';

/** The input and output of a network: image shape and class count. */
export interface IOSpec {
  channels: number;
  height: number;
  width: number;
  classes: number;
}

export const CIFAR10_IO: IOSpec = { channels: 3, height: 32, width: 32, classes: 10 };

function ir(nodes: NetNode[], io: IOSpec): NetIR {
  const { channels, height, width, classes } = io;
  return { format: 'evonas.netir', version: 1, input: { channels, height, width }, classes, nodes };
}

/** The paper's initial individual: global pool, then the fully connected output. */
export function initialIndividual(io: IOSpec = CIFAR10_IO): NetIR {
  return ir(
    [
      { id: 'gap', op: 'globalavgpool', inputs: ['input'] },
      { id: 'fc', op: 'dense', inputs: ['gap'], units: io.classes },
    ],
    io,
  );
}

/** conv3x3·32 → conv3x3·32 → maxpool → conv3x3·64 → global pool → dense (ReLU after each conv). */
export function smallConv(io: IOSpec = CIFAR10_IO): NetIR {
  return ir(
    [
      { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 32, kernel: [3, 3], bias: true },
      { id: 'r1', op: 'relu', inputs: ['c1'] },
      { id: 'c2', op: 'conv2d', inputs: ['r1'], channels: 32, kernel: [3, 3], bias: true },
      { id: 'r2', op: 'relu', inputs: ['c2'] },
      { id: 'p', op: 'maxpool', inputs: ['r2'], kernel: [2, 2], stride: 2 },
      { id: 'c3', op: 'conv2d', inputs: ['p'], channels: 64, kernel: [3, 3], bias: true },
      { id: 'r3', op: 'relu', inputs: ['c3'] },
      { id: 'gap', op: 'globalavgpool', inputs: ['r3'] },
      { id: 'fc', op: 'dense', inputs: ['gap'], units: io.classes },
    ],
    io,
  );
}

/**
 * ResNet-20 (He et al. 2016, CIFAR variant): 3 stages of 3 basic blocks with
 * 16/32/64 channels. The shortcut of a downsampling block is the add's own
 * shape resolution (subsample + zero-pad channels: the paper's option A).
 */
export function resnet20(io: IOSpec = CIFAR10_IO): NetIR {
  const nodes: NetNode[] = [
    { id: 'stem', op: 'conv2d', inputs: ['input'], channels: 16, kernel: [3, 3] },
    { id: 'stem_bn', op: 'batchnorm', inputs: ['stem'] },
    { id: 'stem_relu', op: 'relu', inputs: ['stem_bn'] },
  ];
  let prev = 'stem_relu';
  [16, 32, 64].forEach((width, stage) => {
    for (let b = 0; b < 3; b++) {
      const p = `s${stage}b${b}`;
      const stride = stage > 0 && b === 0 ? 2 : 1;
      nodes.push(
        { id: `${p}_c1`, op: 'conv2d', inputs: [prev], channels: width, kernel: [3, 3], stride },
        { id: `${p}_bn1`, op: 'batchnorm', inputs: [`${p}_c1`] },
        { id: `${p}_r1`, op: 'relu', inputs: [`${p}_bn1`] },
        { id: `${p}_c2`, op: 'conv2d', inputs: [`${p}_r1`], channels: width, kernel: [3, 3] },
        { id: `${p}_bn2`, op: 'batchnorm', inputs: [`${p}_c2`] },
        { id: `${p}_add`, op: 'add', inputs: [`${p}_bn2`, prev] },
        { id: `${p}_out`, op: 'relu', inputs: [`${p}_add`] },
      );
      prev = `${p}_out`;
    }
  });
  nodes.push({ id: 'gap', op: 'globalavgpool', inputs: [prev] }, { id: 'fc', op: 'dense', inputs: ['gap'], units: io.classes });
  return ir(nodes, io);
}

export const PRESETS: Record<string, (io: IOSpec) => NetIR> = { initial: initialIndividual, small: smallConv, resnet20 };
