/**
 * Genetic CNN's operators (Xie & Yuille 2017, section 3.2): Bernoulli
 * initialization, per-bit mutation, per-stage crossover and roulette
 * selection with probability proportional to r - r_min.
 */
import type { Rng } from '../../util/rng.js';
import { STAGES_DNA_FORMAT, STAGES_DNA_VERSION, stageLength } from './dna.js';
import type { StagesDNA } from './dna.js';

/** Every bit independently 1 with probability `p` (paper: 0.5). */
export function randomStagesDNA(nodes: number[], rng: Rng, p = 0.5): StagesDNA {
  return {
    format: STAGES_DNA_FORMAT,
    version: STAGES_DNA_VERSION,
    nodes: [...nodes],
    bits: nodes.map((k) => Array.from({ length: stageLength(k) }, () => (rng.next() < p ? '1' : '0')).join('')),
  };
}

/** Flips each bit independently with probability `qM`. @returns the child and the flipped positions (stage, bit). */
export function mutateBits(dna: StagesDNA, qM: number, rng: Rng): { dna: StagesDNA; flipped: [number, number][] } {
  const flipped: [number, number][] = [];
  const bits = dna.bits.map((b, s) =>
    [...b]
      .map((c, i) => {
        if (rng.next() >= qM) return c;
        flipped.push([s, i]);
        return c === '1' ? '0' : '1';
      })
      .join(''),
  );
  return { dna: { ...dna, nodes: [...dna.nodes], bits }, flipped };
}

/** Exchanges each pair of corresponding stages with probability `qC`. @returns both children and the swapped stages. */
export function crossover(a: StagesDNA, b: StagesDNA, qC: number, rng: Rng): { children: [StagesDNA, StagesDNA]; swapped: number[] } {
  if (a.nodes.join() !== b.nodes.join()) throw new RangeError(`Expected parents with the same stages but received (${a.nodes}) and (${b.nodes})`);
  const x = [...a.bits];
  const y = [...b.bits];
  const swapped: number[] = [];
  for (let s = 0; s < x.length; s++) {
    if (rng.next() < qC) {
      [x[s], y[s]] = [y[s]!, x[s]!];
      swapped.push(s);
    }
  }
  return {
    children: [
      { ...a, nodes: [...a.nodes], bits: x },
      { ...b, nodes: [...b.nodes], bits: y },
    ],
    swapped,
  };
}

/**
 * Russian roulette: `n` independent draws, each picking i with probability
 * proportional to r_i - min r, so the worst is never picked (unless all are
 * equal, when every one is equally likely). @returns the picked indices.
 */
export function roulette(fitness: number[], n: number, rng: Rng): number[] {
  if (fitness.length === 0) throw new RangeError('Expected at least one individual to select from');
  const min = Math.min(...fitness);
  const w = fitness.map((r) => r - min);
  const total = w.reduce((a, b) => a + b, 0);
  return Array.from({ length: n }, () => {
    if (!(total > 0)) return rng.int(fitness.length);
    let r = rng.next() * total;
    for (let i = 0; i < w.length; i++) {
      if (!(w[i]! > 0)) continue;
      r -= w[i]!;
      if (r < 0) return i;
    }
    let last = w.length - 1;
    while (w[last]! <= 0) last--;
    return last; // rounding at the very end of the wheel
  });
}
