// Genetic CNN's space and operators: the paper's bit order, its special
// cases, the building blocks of its Figure 2, its best CIFAR-10 string, and
// the statistics of mutation, crossover and roulette selection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze } from '../src/net/analyze.js';
import type { NetIR, NetNode } from '../src/net/ir.js';
import { CIFAR10_IO } from '../src/net/presets.js';
import {
  bitIndex,
  compileStages,
  connections,
  crossover,
  formatBits,
  hashStagesDNA,
  mutateBits,
  parseBits,
  randomStagesDNA,
  roulette,
  stageBits,
  validateStagesDNA,
  zeroDNA,
} from '../src/spaces/stages/index.js';
import type { StagesDNA } from '../src/spaces/stages/index.js';
import { createRng } from '../src/util/rng.js';

/** The shape of node `id` as [c, h, w] or [features]. */
function shapeOf(ir: NetIR, id: string): number[] {
  const s = analyze(ir).shapes[ir.nodes.findIndex((n) => n.id === id)]!;
  return s.kind === 'flat' ? [s.features] : [s.c, s.h, s.w];
}
const node = (ir: NetIR, id: string): NetNode | undefined => ir.nodes.find((n) => n.id === id);
const convs = (ir: NetIR, stage: number) => ir.nodes.filter((n) => n.op === 'conv2d' && n.id.startsWith(`s${stage}_`)).map((n) => n.id);
/** The ReLU outputs that feed node `id` (through its sum when it has one). */
function feeds(ir: NetIR, id: string): string[] {
  const conv = node(ir, id)!;
  const src = conv.inputs[0]!;
  return src.endsWith('_sum') ? node(ir, src)!.inputs : [src];
}

describe('the stage encoding', () => {
  it('orders bits as the paper: (1,2), then (1,3), (2,3), then (1,4), ...', () => {
    assert.deepEqual(
      [
        [1, 2],
        [1, 3],
        [2, 3],
        [1, 4],
        [2, 4],
        [3, 4],
        [1, 5],
      ].map(([i, j]) => bitIndex(i!, j!)),
      [0, 1, 2, 3, 4, 5, 6],
    );
    // Two stages, K = (4, 5), node 2 of stage 2 isolated (the paper's Figure 1 shape).
    const a = stageBits(4, [
      [1, 2],
      [1, 3],
      [2, 4],
      [3, 4],
    ]);
    const b = stageBits(5, [
      [1, 3],
      [3, 4],
      [1, 5],
      [4, 5],
    ]);
    assert.equal(a, '110011');
    assert.equal(b, '0100011001');
    const dna: StagesDNA = { ...zeroDNA([4, 5]), bits: [a, b] };
    assert.equal(dna.bits.join('').length, 6 + 10, 'L = sum of K(K-1)/2');
    assert.equal(formatBits(dna), '1-10-011 0-10-001-1001');
    assert.deepEqual(parseBits('1-10-011 0-10-001-1001'), dna);
    assert.deepEqual(connections(b), [
      [1, 3],
      [3, 4],
      [1, 5],
      [4, 5],
    ]);
    const ir = compileStages(dna, CIFAR10_IO, { widths: [32, 64], kernel: 3, fc: 32, dropout: 0.5 });
    assert.deepEqual(convs(ir, 2), ['s2_in', 's2_n1', 's2_n3', 's2_n4', 's2_n5', 's2_out'], 'the isolated node 2 is dropped');
    assert.deepEqual(feeds(ir, 's2_n1'), ['s2_in_relu'], 'a node without predecessor reads the default input node');
    assert.deepEqual(feeds(ir, 's2_n5'), ['s2_n1_relu', 's2_n4_relu']);
    assert.deepEqual(feeds(ir, 's2_out'), ['s2_n5_relu'], 'the default output reads the nodes without successor');
    assert.deepEqual(shapeOf(ir, 's1_out'), [32, 32, 32]);
    assert.deepEqual(shapeOf(ir, 's2_out'), [64, 16, 16], 'pooling between stages; one width per stage');
  });

  it('an all-zero stage is a single convolution; a stage with links has default input and output nodes', () => {
    const ir = compileStages(parseBits('0-00 0-00-000 0-00-000-0000'), CIFAR10_IO);
    for (const s of [1, 2, 3]) assert.deepEqual(convs(ir, s), [`s${s}_conv`]);
    assert.deepEqual(
      ir.nodes.map((n) => n.op),
      [...Array(3).fill(['conv2d', 'batchnorm', 'relu', 'maxpool']).flat(), 'dense', 'relu', 'dropout', 'dense'],
    );
    const one = compileStages(parseBits('1-00 0-00-000 0-00-000-0000'), CIFAR10_IO);
    assert.deepEqual(convs(one, 1), ['s1_in', 's1_n1', 's1_n2', 's1_out'], 'node 3 is isolated');
  });

  it("encodes the paper's Figure 2 blocks to the strings their connections imply", () => {
    const chain = stageBits(4, [
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    const resnet = stageBits(4, [
      [1, 2],
      [2, 3],
      [3, 4],
      [1, 3],
      [2, 4],
    ]);
    const dense = stageBits(4, [
      [1, 2],
      [1, 3],
      [2, 3],
      [1, 4],
      [2, 4],
      [3, 4],
    ]);
    assert.equal(formatBits({ bits: [chain] }), '1-01-001', 'VGG-like: a chain');
    assert.equal(formatBits({ bits: [resnet] }), '1-11-011', 'ResNet-like: a chain with shortcuts over one node');
    assert.equal(formatBits({ bits: [dense] }), '1-11-111', 'DenseNet-like: every earlier node feeds every later one');
    const ir = (bits: string) => compileStages({ ...zeroDNA([4, 3, 3]), bits: [bits, '000', '000'] }, CIFAR10_IO);
    const c = ir(chain);
    assert.deepEqual(
      ['s1_n1', 's1_n2', 's1_n3', 's1_n4', 's1_out'].map((id) => feeds(c, id)),
      [['s1_in_relu'], ['s1_n1_relu'], ['s1_n2_relu'], ['s1_n3_relu'], ['s1_n4_relu']],
    );
    assert.equal(c.nodes.filter((n) => n.op === 'add').length, 0);
    const r = ir(resnet);
    assert.deepEqual(feeds(r, 's1_n3'), ['s1_n1_relu', 's1_n2_relu']);
    assert.deepEqual(feeds(r, 's1_n4'), ['s1_n2_relu', 's1_n3_relu']);
    const d = ir(dense);
    assert.deepEqual(feeds(d, 's1_n4'), ['s1_n1_relu', 's1_n2_relu', 's1_n3_relu']);
    assert.deepEqual(feeds(d, 's1_out'), ['s1_n4_relu']);
  });

  it("parses and compiles the paper's best CIFAR-10 string (Table 1)", () => {
    const best = parseBits('1-01 0-01-100 0-11-101-0001');
    assert.deepEqual(best.nodes, [3, 4, 5]);
    assert.equal(best.bits.join('').length, 19, 'L = 19 for K = (3, 4, 5)');
    assert.equal(formatBits(best), '1-01 0-01-100 0-11-101-0001');
    const ir = compileStages(best, CIFAR10_IO);
    assert.deepEqual(shapeOf(ir, 'head_fc2'), [10]);
    // Stage 2 "0-01-100": links (2,3) and (1,4); nodes 3 and 4 end the stage.
    assert.deepEqual(feeds(ir, 's2_n3'), ['s2_n2_relu']);
    assert.deepEqual(feeds(ir, 's2_n4'), ['s2_n1_relu']);
    assert.deepEqual(feeds(ir, 's2_out'), ['s2_n3_relu', 's2_n4_relu']);
    // Widths of the paper's search: 8, 8 and 16; FC 32.
    assert.deepEqual(shapeOf(ir, 's3_out'), [16, 8, 8]);
    assert.deepEqual(shapeOf(ir, 'head_fc1'), [32]);
    assert.equal(validateStagesDNA(JSON.parse(JSON.stringify(best))).bits.length, 3);
  });

  it('refuses malformed strings and DNA naming the place', () => {
    assert.throws(() => parseBits('1-011 0-01-100'), /stage 1: group 2 of "1-011" must be 2 bits/);
    assert.throws(() => parseBits('1-0x'), /stage 1/);
    assert.throws(() => validateStagesDNA({ ...zeroDNA([3]), bits: ['01'] }), /bits\[0\]: expected 3 characters/);
    assert.throws(() => compileStages(zeroDNA([3, 4]), CIFAR10_IO), /one width per stage \(2\)/);
  });
});

describe("Genetic CNN's operators", () => {
  it('mutation flips each bit with probability q_M: about q_M * L bits', () => {
    const rng = createRng(1);
    const dna = randomStagesDNA([3, 4, 5], rng);
    let flips = 0;
    const trials = 4000;
    for (let i = 0; i < trials; i++) {
      const { dna: child, flipped } = mutateBits(dna, 0.05, rng);
      const diff = [...child.bits.join('')].filter((c, k) => c !== dna.bits.join('')[k]).length;
      assert.equal(diff, flipped.length);
      flips += diff;
    }
    const mean = flips / trials;
    // Binomial(19, 0.05): mean 0.95, standard error of the mean 0.015.
    assert.ok(Math.abs(mean - 0.95) < 0.06, `mean flips ${mean}`);
  });

  it('crossover swaps whole stages with probability q_C and loses no bit', () => {
    const rng = createRng(2);
    const a = randomStagesDNA([3, 4, 5], rng);
    const b = randomStagesDNA([3, 4, 5], rng);
    let swapped = 0;
    for (let i = 0; i < 3000; i++) {
      const r = crossover(a, b, 0.2, rng);
      swapped += r.swapped.length;
      for (let s = 0; s < 3; s++) {
        const sw = r.swapped.includes(s);
        assert.equal(r.children[0].bits[s], sw ? b.bits[s] : a.bits[s]);
        assert.equal(r.children[1].bits[s], sw ? a.bits[s] : b.bits[s]);
      }
    }
    assert.ok(Math.abs(swapped / 3000 - 0.6) < 0.05, `stages swapped per crossover ${swapped / 3000}`);
  });

  it('roulette picks in proportion to r - r_min and never the worst', () => {
    const fitness = [0.7, 0.5, 0.8, 0.6, 0.5];
    const counts = new Array(5).fill(0);
    for (const i of roulette(fitness, 20_000, createRng(3))) counts[i]++;
    assert.equal(counts[1], 0);
    assert.equal(counts[4], 0, 'ties for the worst are both eliminated');
    const w = [0.2, 0, 0.3, 0.1, 0];
    counts.forEach((c, i) => {
      assert.ok(Math.abs(c / 20_000 - w[i]! / 0.6) < 0.02, `individual ${i}: ${c}`);
    });
    assert.deepEqual(new Set(roulette([0.5, 0.5, 0.5], 300, createRng(4))), new Set([0, 1, 2]), 'all equal: uniform');
  });

  it('initialization is Bernoulli(0.5) per bit; equal bits hash equal', () => {
    const rng = createRng(5);
    let ones = 0;
    for (let i = 0; i < 500; i++) ones += [...randomStagesDNA([3, 4, 5], rng).bits.join('')].filter((c) => c === '1').length;
    assert.ok(Math.abs(ones / (500 * 19) - 0.5) < 0.02);
    const x = parseBits('1-01 0-01-100 0-11-101-0001');
    assert.equal(hashStagesDNA(x), hashStagesDNA(parseBits('1-01 0-01-100 0-11-101-0001')));
    assert.notEqual(hashStagesDNA(x), hashStagesDNA(parseBits('1-01 0-01-100 0-11-101-0011')));
  });
});
