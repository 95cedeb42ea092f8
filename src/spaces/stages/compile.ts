/**
 * Compiles a stages DNA to NetIR (Xie & Yuille 2017, sections 3.1 and 4.1.1).
 *
 * Inside a stage every node sums its inputs, then applies convolution, batch
 * normalization and ReLU; all convolutions of a stage share kernel size and
 * channel count. The default input node convolves the stage's input and feeds
 * every ordinary node without a predecessor; the default output node sums the
 * ordinary nodes without a successor and convolves them. An isolated ordinary
 * node is dropped; a stage with no connections is a single convolution. Each
 * stage ends in max pooling (3x3, stride 2, as the paper's LeNet base), and
 * the network ends in the paper's head FC -> ReLU -> dropout -> FC.
 */
import { INPUT_ID, NETIR_FORMAT, NETIR_VERSION } from '../../net/ir.js';
import type { NetIR, NetNode } from '../../net/ir.js';
import type { IOSpec } from '../../net/presets.js';
import { connections } from './dna.js';
import type { StagesDNA } from './dna.js';

export interface StagesBase {
  /** Channels of every convolution in each stage. Paper (CIFAR-10 search): 8, 8, 16; its retraining: 64, 128, 256. */
  widths: number[];
  /** Kernel size of the stages' convolutions (paper: 3). */
  kernel: number;
  /** Units of the first fully connected layer (paper: 32 in the search, 1024 when retrained). */
  fc: number;
  /** Dropout after it (paper: 0.5). */
  dropout: number;
}

export const GENETIC_CNN_BASE: StagesBase = { widths: [8, 8, 16], kernel: 3, fc: 32, dropout: 0.5 };

/** Which ordinary nodes (1-based) a stage keeps: those with at least one connection. */
export function activeNodes(k: number, links: [number, number][]): number[] {
  const touched = new Set(links.flat());
  return Array.from({ length: k }, (_, i) => i + 1).filter((j) => touched.has(j));
}

export function compileStages(dna: StagesDNA, io: IOSpec, base: StagesBase = GENETIC_CNN_BASE): NetIR {
  if (base.widths.length !== dna.nodes.length) {
    throw new RangeError(`Expected one width per stage (${dna.nodes.length}) but received ${base.widths.length} (${base.widths.join(',')})`);
  }
  const nodes: NetNode[] = [];
  const kernel: [number, number] = [base.kernel, base.kernel];
  /** conv -> batch norm -> ReLU on the sum of `inputs`; returns the ReLU's id. */
  const unit = (id: string, inputs: string[], channels: number): string => {
    let x = inputs[0]!;
    if (inputs.length > 1) {
      nodes.push({ id: `${id}_sum`, op: 'add', inputs });
      x = `${id}_sum`;
    }
    nodes.push({ id, op: 'conv2d', inputs: [x], channels, kernel, bias: false }, { id: `${id}_bn`, op: 'batchnorm', inputs: [id] }, { id: `${id}_relu`, op: 'relu', inputs: [`${id}_bn`] });
    return `${id}_relu`;
  };
  let x = INPUT_ID;
  dna.bits.forEach((bits, si) => {
    const s = `s${si + 1}`;
    const width = base.widths[si]!;
    const links = connections(bits);
    if (links.length === 0) {
      x = unit(`${s}_conv`, [x], width);
    } else {
      const input = unit(`${s}_in`, [x], width);
      const out = new Map<number, string>();
      for (const j of activeNodes(dna.nodes[si]!, links)) {
        const preds = links.filter(([, to]) => to === j).map(([from]) => out.get(from)!);
        out.set(j, unit(`${s}_n${j}`, preds.length ? preds : [input], width));
      }
      const ends = [...out.keys()].filter((j) => !links.some(([from]) => from === j)).map((j) => out.get(j)!);
      x = unit(`${s}_out`, ends, width);
    }
    nodes.push({ id: `${s}_pool`, op: 'maxpool', inputs: [x], kernel: [3, 3], stride: 2, padding: [1, 1] });
    x = `${s}_pool`;
  });
  nodes.push(
    { id: 'head_fc1', op: 'dense', inputs: [x], units: base.fc },
    { id: 'head_relu', op: 'relu', inputs: ['head_fc1'] },
    { id: 'head_dropout', op: 'dropout', inputs: ['head_relu'], rate: base.dropout },
    { id: 'head_fc2', op: 'dense', inputs: ['head_dropout'], units: io.classes },
  );
  return { format: NETIR_FORMAT, version: NETIR_VERSION, input: { channels: io.channels, height: io.height, width: io.width }, classes: io.classes, nodes };
}
