/**
 * NAS-Bench-201's cell (Dong & Yang, ICLR 2020): four nodes, node 0 the
 * cell's input and node 3 its output; each node j > 0 is the sum of one op
 * on every earlier node, so six edges, each one of five ops. Its string
 * form is the benchmark's own: |op~0|+|op~0|op~1|+|op~0|op~1|op~2|.
 */
import { EvonasError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';

export const NB201_OPS = ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3'] as const;
export type Nb201Op = (typeof NB201_OPS)[number];

/** The six edges in the string's order: (0→1), (0→2), (1→2), (0→3), (1→3), (2→3). */
export const EDGES: readonly (readonly [from: number, to: number])[] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [0, 3],
  [1, 3],
  [2, 3],
];

/** A stored individual of the space: the cell as the benchmark writes it. */
export interface Nb201DNA {
  cell: string;
}

export class CellError extends EvonasError {
  constructor(message: string, path: (string | number)[] = ['cell']) {
    super('ERR_NB201_CELL', message, path);
  }
}

/** The six ops of a cell string. @throws {CellError} naming the part at fault. */
export function parseCell(cell: string): Nb201Op[] {
  if (typeof cell !== 'string') throw new CellError(`expected a cell string like |nor_conv_3x3~0|+|...| but found ${JSON.stringify(cell)}`);
  const nodes = cell.split('+');
  if (nodes.length !== 3) throw new CellError(`${JSON.stringify(cell)}: expected 3 nodes joined by + but found ${nodes.length}`);
  const ops: Nb201Op[] = [];
  nodes.forEach((node, j) => {
    const m = /^\|(.*)\|$/.exec(node);
    const parts = m ? m[1]!.split('|') : [];
    if (parts.length !== j + 1) throw new CellError(`${JSON.stringify(cell)}: node ${j + 1} should have ${j + 1} inputs as |op~i|... but found ${JSON.stringify(node)}`);
    parts.forEach((p, i) => {
      const [op, from] = p.split('~');
      if (!(NB201_OPS as readonly string[]).includes(op!)) throw new CellError(`${JSON.stringify(cell)}: unknown op ${JSON.stringify(op)} (known: ${NB201_OPS.join(', ')})`);
      if (from !== String(i)) throw new CellError(`${JSON.stringify(cell)}: node ${j + 1}'s input ${i} should read ~${i} but found ${JSON.stringify(p)}`);
      ops.push(op as Nb201Op);
    });
  });
  return ops;
}

/** The benchmark's string of six ops. */
export function formatCell(ops: readonly Nb201Op[]): string {
  let k = 0;
  return [1, 2, 3].map((j) => `|${Array.from({ length: j }, (_, i) => `${ops[k++]}~${i}`).join('|')}|`).join('+');
}

/** @throws {CellError} when `dna` is not an NB201 individual. */
export function validateNb201(dna: unknown): Nb201DNA {
  if (typeof dna !== 'object' || dna === null || typeof (dna as Nb201DNA).cell !== 'string') throw new CellError(`expected {"cell": "|op~0|+|...|"} but found ${JSON.stringify(dna)}`, []);
  parseCell((dna as Nb201DNA).cell);
  return dna as Nb201DNA;
}

/** A cell drawn uniformly: each edge's op independently. */
export function randomCell(rng: Rng): Nb201Op[] {
  return EDGES.map(() => NB201_OPS[rng.int(NB201_OPS.length)]!);
}

/**
 * The mutation of the field's regularized-evolution baselines (Real et al.
 * 2019 as run on NAS-Bench-201): one edge, uniformly, to a different op,
 * uniformly.
 */
export function mutateCell(ops: readonly Nb201Op[], rng: Rng): { ops: Nb201Op[]; edge: number; from: Nb201Op; to: Nb201Op } {
  const edge = rng.int(EDGES.length);
  const from = ops[edge]!;
  const others = NB201_OPS.filter((o) => o !== from);
  const to = others[rng.int(others.length)]!;
  const out = [...ops];
  out[edge] = to;
  return { ops: out, edge, from, to };
}

/**
 * The canonical form NAS-Bench-201 itself uses to identify isomorphic cells
 * (its `CellStructure.to_unique_str(consider_zero=True)`), so that evonas
 * equates exactly the cells the benchmark does: a `none` edge, or any edge
 * out of a node that is zero, contributes zero ('#'); `skip_connect` passes
 * its input's form on; every other op wraps it; a node is the sorted sum of
 * its inputs' terms. A node is zero only when it has a single zero term, as
 * in the reference: node 1 cut off by a `none` makes its other edges
 * irrelevant. Over the benchmark's 15,625 cells this gives its 6,466 unique
 * ones.
 */
export function canonicalCell(ops: readonly Nb201Op[]): string {
  const node: string[] = ['0'];
  for (let j = 1; j <= 3; j++) {
    const terms: string[] = [];
    EDGES.forEach(([from, to], k) => {
      if (to !== j) return;
      const input = node[from]!;
      if (ops[k] === 'none' || input === '#') terms.push('#');
      else if (ops[k] === 'skip_connect') terms.push(input);
      else terms.push(`(${input})@${ops[k]}`);
    });
    node[j] = terms.sort().join('+');
  }
  return node[3]!;
}
