/**
 * Validation, shape inference, tensor names, parameter and FLOP counts of a
 * NetIR, all from the op table. Nothing reaches the engine before this has
 * accepted it.
 */
import { INPUT_ID, NETIR_FORMAT, NETIR_VERSION, shapeText } from './ir.js';
import type { NetIR, NetNode, Shape } from './ir.js';
import { isOpName, OPS, OpFault } from './ops.js';
import type { TensorSpec } from './ops.js';
import { EvonasError, pathOf } from '../util/errors.js';

export interface NetIRIssue {
  code: 'ERR_NETIR_INVALID';
  /** JSON path of the fault, e.g. `nodes[3].kernel[0]`. */
  path: string;
  message: string;
  /** Index of the faulty node, when the fault is in one. */
  nodeIndex?: number;
  op?: string;
}

/** A NetIR was refused; `issue` says where and why. */
export class NetIRError extends EvonasError {
  declare readonly code: 'ERR_NETIR_INVALID';
  constructor(readonly issue: NetIRIssue) {
    super('ERR_NETIR_INVALID', `Invalid NetIR at ${issue.path}: ${issue.message}`, pathOf(issue.path));
  }
}

export interface NamedTensor extends TensorSpec {
  name: string;
  node: string;
}

export interface NetAnalysis {
  input: Shape & { kind: 'spatial' };
  /** Output shape of each node, in node order. */
  shapes: Shape[];
  tensors: NamedTensor[];
  /** Trainable parameter count. */
  params: number;
  /** Forward FLOPs for one image (multiply-add = 2). */
  forwardFlops: number;
  /** Forward plus backward FLOPs for one training image (conv/dense backward = 2x forward). */
  trainFlopsPerImage: number;
}

function fail(path: string, message: string, nodeIndex?: number, op?: string): never {
  throw new NetIRError({ code: 'ERR_NETIR_INVALID', path, message, nodeIndex, op });
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Finds a cycle among nodes whose inputs point forward, for a precise message. */
function findCycle(nodes: NetNode[], start: number): string[] | undefined {
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const path: string[] = [];
  const seen = new Set<number>();
  const visit = (i: number): string[] | undefined => {
    const id = nodes[i]!.id;
    const at = path.indexOf(id);
    if (at >= 0) return [...path.slice(at), id];
    if (seen.has(i)) return undefined;
    seen.add(i);
    path.push(id);
    for (const input of nodes[i]!.inputs ?? []) {
      const j = index.get(input);
      if (j !== undefined) {
        const c = visit(j);
        if (c) return c;
      }
    }
    path.pop();
    return undefined;
  };
  return visit(start);
}

/**
 * Checks a NetIR and infers every shape. One pass over the nodes in
 * order, kept whole so that every check has the node's context for its
 * message (the per-op rules are in the op table).
 * @throws {NetIRError} naming the node index, op and field of the first fault.
 */
export function analyze(ir: NetIR): NetAnalysis {
  if (typeof ir !== 'object' || ir === null) fail('', `Expected a NetIR object but received ${JSON.stringify(ir)}`);
  if (ir.format !== NETIR_FORMAT) fail('format', `Expected "${NETIR_FORMAT}" but received ${JSON.stringify(ir.format)}`);
  if (ir.version !== NETIR_VERSION) fail('version', `Expected ${NETIR_VERSION} but received ${JSON.stringify(ir.version)}`);
  const inp = ir.input;
  for (const k of ['channels', 'height', 'width'] as const) {
    if (!isPositiveInt(inp?.[k])) fail(`input.${k}`, `Expected a positive integer but received ${JSON.stringify(inp?.[k])}`);
  }
  if (!isPositiveInt(ir.classes)) fail('classes', `Expected a positive integer but received ${JSON.stringify(ir.classes)}`);
  if (!Array.isArray(ir.nodes) || ir.nodes.length === 0) fail('nodes', 'Expected a non-empty array of nodes');

  const input: Shape & { kind: 'spatial' } = { kind: 'spatial', c: inp.channels, h: inp.height, w: inp.width };
  const known = new Map<string, Shape>([[INPUT_ID, input]]);
  const allIds = new Set(ir.nodes.map((n) => n?.id));
  const shapes: Shape[] = [];
  const tensors: NamedTensor[] = [];
  let params = 0;
  let forwardFlops = 0;
  let trainFlopsPerImage = 0;

  ir.nodes.forEach((node, i) => {
    const at = `nodes[${i}]`;
    if (typeof node !== 'object' || node === null) fail(at, 'Expected a node object', i);
    const op = node.op as unknown;
    if (!isOpName(op)) fail(`${at}.op`, `Unknown op ${JSON.stringify(op)}`, i, String(op));
    if (typeof node.id !== 'string' || node.id === '' || node.id === INPUT_ID || /[\s.]/.test(node.id)) {
      fail(`${at}.id`, `Expected a non-empty id without spaces or dots, not "${INPUT_ID}", but received ${JSON.stringify(node.id)}`, i, op);
    }
    if (known.has(node.id)) fail(`${at}.id`, `Duplicate node id "${node.id}"`, i, op);
    const spec = OPS[op];
    if (!Array.isArray(node.inputs)) fail(`${at}.inputs`, 'Expected an array of input ids', i, op);
    const [lo, hi] = spec.arity;
    if (node.inputs.length < lo || node.inputs.length > hi) {
      fail(`${at}.inputs`, `Expected ${lo === hi ? lo : `${lo} or more`} inputs for ${op} but received ${node.inputs.length}`, i, op);
    }
    const inShapes = node.inputs.map((id, k) => {
      const s = known.get(id);
      if (s) return s;
      if (allIds.has(id)) {
        const cycle = findCycle(ir.nodes, i);
        fail(`${at}.inputs[${k}]`, cycle ? `Cycle: ${cycle.join(' -> ')}` : `Input "${id}" is defined after this node; nodes must be in topological order`, i, op);
      }
      return fail(`${at}.inputs[${k}]`, `Missing input "${id}": no node has that id`, i, op);
    });
    let out: Shape;
    try {
      out = spec.shape(node, inShapes);
    } catch (e) {
      if (e instanceof OpFault) fail(`${at}.${e.field}`, `${e.message} (inputs ${inShapes.map(shapeText).join(', ')})`, i, op);
      throw e;
    }
    if (out.kind === 'spatial' && (out.c <= 0 || out.h <= 0 || out.w <= 0)) {
      fail(at, `Output shape ${shapeText(out)} is empty`, i, op);
    }
    known.set(node.id, out);
    shapes.push(out);
    for (const t of spec.tensors(node, inShapes, out)) {
      tensors.push({ ...t, name: `${node.id}.${t.suffix}`, node: node.id });
      if (t.trainable) params += t.shape.reduce((a, b) => a * b, 1);
    }
    const f = spec.flops(node, inShapes, out);
    forwardFlops += f;
    trainFlopsPerImage += f * (1 + spec.backwardFactor);
  });

  const last = shapes[shapes.length - 1]!;
  if (last.kind !== 'flat' || last.features !== ir.classes) {
    fail(`nodes[${shapes.length - 1}]`, `Expected the last node to output [${ir.classes}] logits but it outputs ${shapeText(last)}`, shapes.length - 1, ir.nodes[shapes.length - 1]!.op);
  }
  return { input, shapes, tensors, params, forwardFlops, trainFlopsPerImage };
}

/** FLOPs of one training step (forward and backward over a batch). */
export function trainFlopsPerStep(a: NetAnalysis, batchSize: number): number {
  return a.trainFlopsPerImage * batchSize;
}

/** FLOPs of evaluating one validation batch. */
export function evalFlopsPerBatch(a: NetAnalysis, batchSize: number): number {
  return a.forwardFlops * batchSize;
}

/** The paper's cost of an individual: Ft·Nt + Fv·Nv. */
export function individualCost(a: NetAnalysis, o: { trainSteps: number; batchSize: number; validationImages: number }): number {
  return trainFlopsPerStep(a, o.batchSize) * o.trainSteps + a.forwardFlops * o.validationImages;
}
