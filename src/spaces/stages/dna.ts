/**
 * The binary stage encoding of Genetic CNN (Xie & Yuille 2017, section 3.1).
 *
 * A network has S stages; stage s has K_s ordered ordinary nodes. Bit (i, j),
 * i < j, says whether node i feeds node j. A stage's bits come in the paper's
 * order: (1,2), then (1,3), (2,3), then (1,4), (2,4), (3,4), ... so that
 * stage s takes K_s(K_s - 1)/2 bits and the whole string L = sum of those.
 * The paper's notation writes a stage as the groups for nodes 2..K joined by
 * dashes ("0-01-100") and stages separated by spaces.
 */
import { createHash } from 'node:crypto';
import { EvonasError, pathOf } from '../../util/errors.js';

export const STAGES_DNA_FORMAT = 'evonas.stages-dna';
export const STAGES_DNA_VERSION = 1;

export interface StagesDNA {
  format: typeof STAGES_DNA_FORMAT;
  version: typeof STAGES_DNA_VERSION;
  /** K_s: ordinary nodes per stage. */
  nodes: number[];
  /** One bit string per stage, in the paper's order, as '0'/'1' characters. */
  bits: string[];
}

export class StagesDNAError extends EvonasError {
  constructor(at: string, message: string) {
    super('ERR_DNA_INVALID', `${at}: ${message}`, pathOf(at));
  }
}

/** Bits a stage of K nodes takes. */
export const stageLength = (k: number): number => (k * (k - 1)) / 2;

/** Index of bit (i, j) (1-based nodes, i < j) within its stage. */
export function bitIndex(i: number, j: number): number {
  if (!(Number.isInteger(i) && Number.isInteger(j) && 1 <= i && i < j)) throw new RangeError(`Expected nodes 1 <= i < j but received (${i}, ${j})`);
  return stageLength(j - 1) + (i - 1);
}

/** The connections a stage's bits imply, as [from, to] pairs of 1-based nodes. */
export function connections(bits: string): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 2; stageLength(j - 1) < bits.length; j++) for (let i = 1; i < j; i++) if (bits[bitIndex(i, j)] === '1') out.push([i, j]);
  return out;
}

/** The stage bits that a list of connections implies. */
export function stageBits(k: number, links: [number, number][]): string {
  const b = Array.from({ length: stageLength(k) }, () => '0');
  for (const [i, j] of links) {
    if (j > k) throw new RangeError(`Expected nodes up to ${k} but received (${i}, ${j})`);
    b[bitIndex(i, j)] = '1';
  }
  return b.join('');
}

export function zeroDNA(nodes: number[]): StagesDNA {
  return { format: STAGES_DNA_FORMAT, version: STAGES_DNA_VERSION, nodes: [...nodes], bits: nodes.map((k) => '0'.repeat(stageLength(k))) };
}

/** The paper's notation: "1-01 0-01-100 0-11-101-0001". */
export function formatBits(dna: Pick<StagesDNA, 'bits'>): string {
  return dna.bits
    .map((b) => {
      const groups: string[] = [];
      for (let j = 2; stageLength(j - 1) < b.length; j++) groups.push(b.slice(stageLength(j - 1), stageLength(j)));
      return groups.join('-');
    })
    .join(' ');
}

/** Parses the paper's notation; node counts follow from the groups. */
export function parseBits(text: string): StagesDNA {
  const stages = text.trim().split(/\s+/);
  const nodes: number[] = [];
  const bits: string[] = [];
  stages.forEach((stage, s) => {
    const groups = stage.split('-');
    groups.forEach((g, i) => {
      if (!/^[01]+$/.test(g) || g.length !== i + 1) {
        throw new StagesDNAError(`stage ${s + 1}`, `group ${i + 1} of "${stage}" must be ${i + 1} bits of 0/1 (the inputs of node ${i + 2}) but is "${g}"`);
      }
    });
    nodes.push(groups.length + 1);
    bits.push(groups.join(''));
  });
  return { format: STAGES_DNA_FORMAT, version: STAGES_DNA_VERSION, nodes, bits };
}

/** @throws {StagesDNAError} naming the field when `raw` is not a valid stages DNA. */
export function validateStagesDNA(raw: unknown): StagesDNA {
  if (typeof raw !== 'object' || raw === null) throw new StagesDNAError('dna', 'expected an object');
  const d = raw as Record<string, unknown>;
  if (d.format !== STAGES_DNA_FORMAT) throw new StagesDNAError('format', `expected "${STAGES_DNA_FORMAT}" but found ${JSON.stringify(d.format)}`);
  if (d.version !== STAGES_DNA_VERSION) throw new StagesDNAError('version', `expected ${STAGES_DNA_VERSION} but found ${JSON.stringify(d.version)}`);
  if (!Array.isArray(d.nodes) || d.nodes.length === 0) throw new StagesDNAError('nodes', 'expected a non-empty array of node counts');
  d.nodes.forEach((k, s) => {
    if (!Number.isInteger(k) || (k as number) < 1) throw new StagesDNAError(`nodes[${s}]`, `expected a whole number >= 1 but found ${JSON.stringify(k)}`);
  });
  if (!Array.isArray(d.bits) || d.bits.length !== d.nodes.length) throw new StagesDNAError('bits', `expected one bit string per stage (${d.nodes.length})`);
  d.bits.forEach((b, s) => {
    const n = stageLength((d.nodes as number[])[s]!);
    if (typeof b !== 'string' || b.length !== n || !/^[01]*$/.test(b)) throw new StagesDNAError(`bits[${s}]`, `expected ${n} characters of 0/1 but found ${JSON.stringify(b)}`);
  });
  return d as unknown as StagesDNA;
}

/** Equal bit strings hash equal: the key for "evaluated before". */
export function hashStagesDNA(dna: StagesDNA): string {
  return createHash('sha256')
    .update(`${dna.nodes.join(',')}|${dna.bits.join('|')}`)
    .digest('hex')
    .slice(0, 16);
}
