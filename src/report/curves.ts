/**
 * The papers' reporting rules as plain functions over records: selection by
 * validation accuracy only, the best-so-far curve, majority votes and
 * lineage. Test accuracy is an input here, never a criterion.
 */

export { bestSoFar } from '../evolution/selection.js';
export type { Born } from '../evolution/selection.js';

/** The index of the largest value; the lowest index among equals. */
export function argmax(row: ArrayLike<number>): number {
  let k = 0;
  for (let c = 1; c < row.length; c++) if (row[c]! > row[k]!) k = c;
  return k;
}

/** Predicted class per row of `logits` ([rows x classes]). */
export function predictions(logits: Float32Array, classes: number): Int32Array {
  const out = new Int32Array(logits.length / classes);
  for (let r = 0; r < out.length; r++) out[r] = argmax(logits.subarray(r * classes, (r + 1) * classes));
  return out;
}

/** Row-wise softmax of `logits` ([rows x classes]). */
export function softmax(logits: Float32Array, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const max = Math.max(...row);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[r * classes + c] = Math.exp(row[c]! - max);
    for (let c = 0; c < classes; c++) out[r * classes + c]! /= sum;
  }
  return out;
}

/** One ensemble member's answers: its predicted class and its class probabilities per row. */
export interface Vote {
  classes: Int32Array;
  probabilities: Float64Array;
}

/**
 * Majority vote of several models (Real et al. 2017 ensemble the top two by
 * validation accuracy). Classes with the most votes tie-break by the
 * members' summed probabilities, so with two members who disagree the more
 * confident pair of answers wins; only exact equality falls to the lower
 * class index.
 */
export function majorityVote(members: Vote[], classes: number): Int32Array {
  if (members.length === 0) throw new RangeError('Expected at least one member to vote');
  const n = members[0]!.classes.length;
  const out = new Int32Array(n);
  const counts = new Int32Array(classes);
  for (let r = 0; r < n; r++) {
    counts.fill(0);
    for (const m of members) counts[m.classes[r]!]!++;
    let best = 0;
    let bestMass = -1;
    for (let c = 0; c < classes; c++) {
      if (counts[c]! < counts[best]!) continue;
      let mass = 0;
      for (const m of members) mass += m.probabilities[r * classes + c]!;
      if (counts[c]! > counts[best]! || mass > bestMass) [best, bestMass] = [c, mass];
    }
    out[r] = best;
  }
  return out;
}

export function accuracy(predicted: Int32Array, labels: Int32Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) right++;
  return right / labels.length;
}

/** An individual and its ancestors, oldest first, following `parent` links through the records. */
export function lineage<T extends { id: string; parent: string | null }>(byId: Map<string, T>, id: string): T[] {
  const out: T[] = [];
  const seen = new Set<string>();
  for (let cur = byId.get(id); cur && !seen.has(cur.id); cur = cur.parent ? byId.get(cur.parent) : undefined) {
    seen.add(cur.id);
    out.push(cur);
  }
  return out.reverse();
}
