import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, individualCost, NetIRError, trainFlopsPerStep } from '../src/net/analyze.js';
import type { NetNode } from '../src/net/ir.js';
import { netir } from './support/helpers.js';

function fault(nodes: NetNode[], o?: Parameters<typeof netir>[1]): NetIRError {
  try {
    analyze(netir(nodes, o));
  } catch (e) {
    assert.ok(e instanceof NetIRError, `expected NetIRError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the NetIR to be refused');
}

const head: NetNode[] = [
  { id: 'g', op: 'globalavgpool', inputs: ['c'] },
  { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
];

describe('NetIR analysis', () => {
  it('infers shapes, parameter counts and FLOPs of a small net by hand', () => {
    const a = analyze(
      netir([
        { id: 'c', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 3], stride: 2 },
        { id: 'b', op: 'batchnorm', inputs: ['c'] },
        { id: 'r', op: 'relu', inputs: ['b'] },
        { id: 'g', op: 'globalavgpool', inputs: ['r'] },
        { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
      ]),
    );
    assert.deepEqual(a.shapes[0], { kind: 'spatial', c: 4, h: 4, w: 4 });
    assert.deepEqual(a.shapes[3], { kind: 'flat', features: 4 });
    // conv 4*3*3*3 = 108, bn 4+4, dense 4*3+3 = 15
    assert.equal(a.params, 108 + 8 + 15);
    assert.deepEqual(
      a.tensors.map((t) => t.name),
      ['c.weight', 'b.weight', 'b.bias', 'b.running_mean', 'b.running_var', 'fc.weight', 'fc.bias'],
    );
    const conv = 2 * 9 * 3 * 64; // per output element: 2*k*k*cin, 4*4*4 = 64 outputs
    const bn = 2 * 64;
    const relu = 64;
    const gap = 64;
    const dense = 2 * 4 * 3 + 3;
    assert.equal(a.forwardFlops, conv + bn + relu + gap + dense);
    assert.equal(a.trainFlopsPerImage, 3 * conv + 2 * (bn + relu + gap) + 3 * dense);
    assert.equal(trainFlopsPerStep(a, 50), 50 * a.trainFlopsPerImage);
    assert.equal(individualCost(a, { trainSteps: 10, batchSize: 50, validationImages: 100 }), 10 * 50 * a.trainFlopsPerImage + 100 * a.forwardFlops);
  });

  it('resolves add to the primary input shape and pools with padding', () => {
    const a = analyze(
      netir([
        { id: 'c1', op: 'conv2d', inputs: ['input'], channels: 6, kernel: [1, 3] },
        { id: 'c2', op: 'conv2d', inputs: ['input'], channels: 2, kernel: [3, 1], stride: [2, 2] },
        { id: 'a', op: 'add', inputs: ['c2', 'c1'] },
        { id: 'p', op: 'avgpool', inputs: ['a'], kernel: [3, 3], stride: 2, padding: [1, 1] },
        { id: 'fc', op: 'dense', inputs: ['p'], units: 3 },
      ]),
    );
    assert.deepEqual(a.shapes[2], { kind: 'spatial', c: 2, h: 4, w: 4 });
    assert.deepEqual(a.shapes[3], { kind: 'spatial', c: 2, h: 2, w: 2 });
    assert.equal(a.tensors.find((t) => t.name === 'fc.weight')?.shape.join('x'), '3x8');
  });

  it('refuses a cycle, naming the node', () => {
    const e = fault([{ id: 'c', op: 'conv2d', inputs: ['r'], channels: 4, kernel: [3, 3] }, { id: 'r', op: 'relu', inputs: ['c'] }, ...head]);
    assert.equal(e.issue.nodeIndex, 0);
    assert.equal(e.issue.op, 'conv2d');
    assert.match(e.message, /Cycle: c -> r -> c/);
  });

  it('refuses an unknown op, a missing input and a duplicate id', () => {
    let e = fault([{ id: 'c', op: 'sigmoid', inputs: ['input'] } as unknown as NetNode, ...head]);
    assert.equal(e.issue.path, 'nodes[0].op');
    assert.match(e.message, /Unknown op "sigmoid"/);
    e = fault([{ id: 'c', op: 'relu', inputs: ['nothere'] }, ...head]);
    assert.equal(e.issue.path, 'nodes[0].inputs[0]');
    assert.match(e.message, /Missing input "nothere"/);
    e = fault([{ id: 'c', op: 'relu', inputs: ['input'] }, { id: 'c', op: 'relu', inputs: ['input'] }, ...head]);
    assert.equal(e.issue.nodeIndex, 1);
  });

  it('refuses zero channels, even kernels and kernels larger than the padded input', () => {
    let e = fault([{ id: 'c', op: 'conv2d', inputs: ['input'], channels: 0, kernel: [3, 3] }, ...head]);
    assert.equal(e.issue.path, 'nodes[0].channels');
    assert.match(e.message, /Expected a positive integer for channels but received 0/);
    e = fault([{ id: 'c', op: 'conv2d', inputs: ['input'], channels: 4, kernel: [3, 4] }, ...head]);
    assert.equal(e.issue.path, 'nodes[0].kernel[1]');
    e = fault(
      [
        { id: 'c', op: 'maxpool', inputs: ['input'], kernel: [5, 5] },
        { id: 'g', op: 'globalavgpool', inputs: ['c'] },
        { id: 'fc', op: 'dense', inputs: ['g'], units: 3 },
      ],
      { h: 4, w: 4 },
    );
    assert.equal(e.issue.op, 'maxpool');
    assert.match(e.message, /kernel height 5 to fit the padded input \(4 \+ 2\*0\)/);
  });

  it('refuses a net whose last node does not give the class logits', () => {
    const e = fault([
      { id: 'g', op: 'globalavgpool', inputs: ['input'] },
      { id: 'fc', op: 'dense', inputs: ['g'], units: 5 },
    ]);
    assert.match(e.message, /Expected the last node to output \[3\] logits but it outputs \[5\]/);
  });

  it('refuses a spatial op on a flat input and a wrong arity', () => {
    let e = fault([
      { id: 'g', op: 'globalavgpool', inputs: ['input'] },
      { id: 'c', op: 'conv2d', inputs: ['g'], channels: 2, kernel: [1, 1] },
      { id: 'fc', op: 'dense', inputs: ['c'], units: 3 },
    ]);
    assert.equal(e.issue.nodeIndex, 1);
    assert.match(e.message, /spatial input/);
    e = fault([{ id: 'c', op: 'add', inputs: ['input'] }, ...head]);
    assert.match(e.message, /Expected 2 or more inputs for add but received 1/);
  });
});
