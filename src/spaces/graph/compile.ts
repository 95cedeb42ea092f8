/**
 * DNA -> NetIR. Each conv edge becomes a conv2d node named by the edge's id
 * (no bias: a batch norm usually follows); a vertex with several incoming
 * edges becomes an add whose first input is its primary edge (highest depth
 * precedence, then scale precedence, the backbone edge on ties), so the
 * others are resized by nearest neighbour and truncated or zero-padded to it;
 * a bn_relu vertex adds batchnorm and relu. A convolution has at least
 * `dna.minChannels` output channels (1 when absent). The output vertex feeds a global
 * average pool and the fully connected classifier.
 *
 * Tensor names follow DNA ids (e7.weight, v3_bn.running_mean, head_fc.weight),
 * so a child inherits every tensor whose name and shape match its parent's.
 * Spatial size never drops below 1x1: convolutions pad to "same", so a stride
 * s maps size n to ceil(n / s) >= 1; no mutation needs to be refused for it.
 */
import type { NetIR, NetNode } from '../../net/ir.js';
import { INPUT_ID, NETIR_FORMAT, NETIR_VERSION } from '../../net/ir.js';
import type { IOSpec } from '../../net/presets.js';
import type { Edge, GraphDNA } from './dna.js';
import { kernelOf, strideOf } from './dna.js';

interface VShape {
  c: number;
  h: number;
  w: number;
  /** NetIR node id giving this vertex's output. */
  node: string;
}

function primaryFirst(edges: Edge[]): Edge[] {
  return [...edges].sort((a, b) => b.depthPrecedence - a.depthPrecedence || b.scalePrecedence - a.scalePrecedence || Number(a.skip) - Number(b.skip) || Number(a.id.slice(1)) - Number(b.id.slice(1)));
}

/** One walk along the backbone: the NetIR nodes and every vertex's shape. */
function walk(dna: GraphDNA, io: IOSpec): { nodes: NetNode[]; shapes: Map<string, VShape> } {
  const nodes: NetNode[] = [];
  const shapes = new Map<string, VShape>();
  const incoming = new Map<string, Edge[]>();
  for (const e of dna.edges) incoming.set(e.to, [...(incoming.get(e.to) ?? []), e]);
  dna.vertices.forEach((v, i) => {
    if (i === 0) {
      shapes.set(v.id, { c: io.channels, h: io.height, w: io.width, node: INPUT_ID });
      return;
    }
    const ins = primaryFirst(incoming.get(v.id) ?? []);
    const outs = ins.map((e) => {
      const src = shapes.get(e.from)!;
      if (e.kind === 'identity') return src;
      const channels = Math.max(dna.minChannels ?? 1, Math.round(src.c * e.depthFactor));
      const stride = strideOf(e);
      nodes.push({ id: e.id, op: 'conv2d', inputs: [src.node], channels, kernel: kernelOf(e), stride });
      return { c: channels, h: Math.ceil(src.h / stride), w: Math.ceil(src.w / stride), node: e.id };
    });
    let out = outs[0]!;
    if (outs.length > 1) {
      nodes.push({ id: `${v.id}_add`, op: 'add', inputs: outs.map((o) => o.node) });
      out = { ...out, node: `${v.id}_add` };
    }
    if (v.activation === 'bn_relu') {
      nodes.push({ id: `${v.id}_bn`, op: 'batchnorm', inputs: [out.node] }, { id: `${v.id}_relu`, op: 'relu', inputs: [`${v.id}_bn`] });
      out = { ...out, node: `${v.id}_relu` };
    }
    shapes.set(v.id, out);
  });
  return { nodes, shapes };
}

export function compileDNA(dna: GraphDNA, io: IOSpec): NetIR {
  const { nodes, shapes } = walk(dna, io);
  const last = shapes.get(dna.vertices[dna.vertices.length - 1]!.id)!;
  nodes.push({ id: 'head_gap', op: 'globalavgpool', inputs: [last.node] }, { id: 'head_fc', op: 'dense', inputs: ['head_gap'], units: io.classes });
  return { format: NETIR_FORMAT, version: NETIR_VERSION, input: { channels: io.channels, height: io.height, width: io.width }, classes: io.classes, nodes };
}

/** Channels and size of every vertex, by id (for tests and diagrams). */
export function vertexShapes(dna: GraphDNA, io: IOSpec): Map<string, { c: number; h: number; w: number }> {
  return new Map([...walk(dna, io).shapes].map(([id, { c, h, w }]) => [id, { c, h, w }]));
}
