// One test per mutation, pinning the paper's semantics; DNA validation,
// serialization and the canonical hash.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze } from '../src/net/analyze.js';
import { compileDNA, vertexShapes } from '../src/spaces/graph/compile.js';
import { DNAError, hashDNA, initialDNA, parseDNA, serializeDNA, validateDNA } from '../src/spaces/graph/dna.js';
import type { GraphDNA } from '../src/spaces/graph/dna.js';
import { applyMutation, inheritance, mutate } from '../src/spaces/graph/mutations.js';
import type { MutationName } from '../src/spaces/graph/mutations.js';
import { createRng } from '../src/util/rng.js';

const io = { channels: 3, height: 32, width: 32, classes: 10 };

/** Applies `name` with successive seeds until it applies. */
function apply(dna: GraphDNA, name: MutationName, seed = 1) {
  const r = applyMutation(dna, name, createRng(seed));
  assert.ok(r, `${name} should apply`);
  validateDNA(r.dna);
  return r;
}

/** input -> conv -> v(bn_relu) -> conv -> output, built by mutations. */
function twoConvs(): GraphDNA {
  let dna = initialDNA();
  dna = apply(dna, 'insert-convolution', 1).dna;
  dna = apply(dna, 'insert-convolution', 2).dna;
  return dna;
}

const convs = (d: GraphDNA) => d.edges.filter((e) => e.kind === 'conv');

describe('the initial individual', () => {
  it('is input -> global pool -> dense, no convolution, learning rate 0.1', () => {
    const dna = initialDNA();
    assert.equal(dna.learningRate, 0.1);
    assert.equal(convs(dna).length, 0);
    const ir = compileDNA(dna, io);
    assert.deepEqual(
      ir.nodes.map((n) => n.op),
      ['globalavgpool', 'dense'],
    );
    assert.equal(analyze(ir).params, 3 * 10 + 10);
  });
});

describe('mutations', () => {
  it('alter-learning-rate multiplies by 2^U(-1, 1) and keeps every weight', () => {
    const rates = Array.from({ length: 200 }, (_, s) => apply(initialDNA(), 'alter-learning-rate', s).dna.learningRate / 0.1);
    assert.ok(rates.every((r) => r >= 0.5 && r <= 2));
    assert.ok(Math.min(...rates) < 0.55 && Math.max(...rates) > 1.9, 'covers the range');
    assert.equal(apply(initialDNA(), 'alter-learning-rate').record.inherit, 'all');
  });

  it('alter-learning-rate sets no less than minLearningRate, and through mutate() too', () => {
    const low = { ...initialDNA(), learningRate: 0.03 };
    const floored = Array.from({ length: 200 }, (_, s) => applyMutation(low, 'alter-learning-rate', createRng(s), { minLearningRate: 0.02 })!.dna.learningRate);
    assert.ok(floored.every((r) => r >= 0.02 && r <= 0.06));
    assert.ok(floored.filter((r) => r === 0.02).length > 20, 'the draws below the floor land on it');
    assert.ok(
      floored.some((r) => r > 0.05),
      'upward draws are untouched',
    );
    // Without a floor the same draws go below it (the paper).
    assert.ok(Array.from({ length: 200 }, (_, s) => apply(low, 'alter-learning-rate', s).dna.learningRate).some((r) => r < 0.02));
    // A lineage of 50 children, 3 rate changes each: the floor holds the whole way (the same draws without it go below).
    const lowest = (minLearningRate?: number) => {
      let dna: GraphDNA = low;
      let least = dna.learningRate;
      for (let s = 0; s < 50; s++) {
        dna = mutate(dna, createRng(s), { weights: { 'alter-learning-rate': 1 }, k: 3, ...(minLearningRate ? { minLearningRate } : {}) }).dna;
        least = Math.min(least, dna.learningRate);
      }
      return least;
    };
    assert.ok(lowest() < 0.02);
    assert.equal(lowest(0.02), 0.02);
  });

  it('minChannels floors every convolution through mutate(), and compiles, counts and hashes with it', () => {
    // Two 3-channel convolutions (INSERT-CONVOLUTION keeps the image's 3), then a narrowing.
    let dna = twoConvs();
    const narrowed = structuredClone(dna);
    convs(narrowed)[0]!.depthFactor = 0.5;
    assert.deepEqual(
      compileDNA(narrowed, io)
        .nodes.filter((n) => n.op === 'conv2d')
        .map((n) => (n as { channels: number }).channels),
      [2, 2],
    );
    assert.deepEqual(
      compileDNA({ ...narrowed, minChannels: 16 }, io)
        .nodes.filter((n) => n.op === 'conv2d')
        .map((n) => (n as { channels: number }).channels),
      [16, 16],
    );
    assert.ok(analyze(compileDNA({ ...dna, minChannels: 16 }, io)).params > analyze(compileDNA(dna, io)).params);
    assert.notEqual(hashDNA({ ...dna, minChannels: 16 }), hashDNA(dna));
    // mutate() stamps the floor on the child, and takes it away where the experiment has none (the paper).
    dna = mutate(dna, createRng(3), { minChannels: 16 }).dna;
    assert.equal(validateDNA(dna).minChannels, 16);
    assert.ok([...vertexShapes(dna, io).values()].slice(1).every((v) => v.c >= 16));
    assert.equal(mutate(dna, createRng(4), { minChannels: 1 }).dna.minChannels, undefined);
    assert.equal(mutate(dna, createRng(4)).dna.minChannels, undefined);
  });

  it('identity changes nothing and keeps training; reset-weights changes nothing and inherits nothing', () => {
    const dna = twoConvs();
    const id = apply(dna, 'identity');
    assert.deepEqual(id.dna, dna);
    assert.equal(id.record.inherit, 'all');
    const reset = apply(dna, 'reset-weights');
    assert.deepEqual(reset.dna, dna);
    assert.equal(reset.record.inherit, 'none');
    assert.equal(inheritance([id.record, reset.record]), 'none');
  });

  it('insert-convolution adds a 3x3 conv, stride 1 or 2, as many channels as its input, into a new vertex with bn+relu or none at random', () => {
    const strides = new Set<number>();
    const activations = new Set<string>();
    for (let s = 0; s < 40; s++) {
      const parent = twoConvs();
      const { dna, record } = apply(parent, 'insert-convolution', s);
      const [w, id] = record.targets as [string, string];
      const added = dna.edges.find((e) => e.id === id)!;
      assert.equal(added.kind, 'conv');
      assert.equal(added.skip, false);
      assert.equal(added.depthFactor, 1);
      assert.deepEqual([added.filterHalfHeight, added.filterHalfWidth], [1, 1]);
      strides.add(2 ** added.strideScale);
      // The new conv's output is the new vertex, which carries the random activation.
      assert.equal(added.to, w);
      activations.add(dna.vertices.find((v) => v.id === w)!.activation);
      // The edge it split now leaves the new vertex and keeps its id.
      const split = dna.edges.find((e) => !e.skip && e.from === w)!;
      assert.ok(parent.edges.some((e) => e.id === split.id && e.to === split.to));
      // channels same as input
      const after = vertexShapes(dna, io);
      assert.equal(after.get(w)!.c, after.get(added.from)!.c);
      assert.equal(dna.vertices.length, parent.vertices.length + 1);
      // every parent tensor survives with its shape: the child inherits them all
      const child = new Map(analyze(compileDNA(dna, io)).tensors.map((t) => [t.name, String(t.shape)]));
      for (const t of analyze(compileDNA(parent, io)).tensors) assert.equal(child.get(t.name), String(t.shape), t.name);
    }
    assert.deepEqual([...strides].sort(), [1, 2]);
    assert.deepEqual([...activations].sort(), ['bn_relu', 'linear']);
  });

  it('remove-convolution removes a conv and its vertex; the last conv becomes the identity', () => {
    const dna = twoConvs(); // 4 vertices, 2 convs
    const { dna: child, record } = apply(dna, 'remove-convolution', 3);
    assert.equal(convs(child).length, 1);
    assert.equal(child.vertices.length, 3);
    assert.ok(!child.edges.some((e) => e.id === record.targets[0]));
    assert.ok(!child.vertices.some((v) => v.id === record.targets[1]));
    const last = apply(child, 'remove-convolution');
    assert.equal(convs(last.dna).length, 0);
    assert.equal(last.dna.vertices.length, 2);
    // a conv straight from input to output has no vertex to remove: it becomes an identity again
    const direct = initialDNA();
    Object.assign(direct.edges[0]!, { kind: 'conv', filterHalfWidth: 1, filterHalfHeight: 1 });
    const r = apply(direct, 'remove-convolution');
    assert.equal(r.record.detail.replacedBy, 'identity');
    assert.deepEqual(r.dna, initialDNA());
    assert.equal(applyMutation(initialDNA(), 'remove-convolution', createRng(1)), undefined, 'no conv: cannot apply');
  });

  it('alter-stride moves the stride on the log2 scale: always a power of two, at least 1', () => {
    let dna = twoConvs();
    const seen = new Set<number>();
    for (let s = 0; s < 60; s++) {
      const { dna: child, record } = apply(dna, 'alter-stride', s);
      const e = child.edges.find((x) => x.id === record.targets[0])!;
      const before = dna.edges.find((x) => x.id === e.id)!.strideScale;
      assert.ok(e.strideScale >= 0 && Math.abs(e.strideScale - before) <= 1 + 1e-12);
      assert.ok(Number.isInteger(Math.log2(record.detail.to as number)));
      seen.add(record.detail.to as number);
      dna = child;
    }
    assert.ok(seen.has(1) && seen.has(2), `strides seen: ${[...seen]}`);
    assert.equal(applyMutation(initialDNA(), 'alter-stride', createRng(1)), undefined);
  });

  it('alter-channels multiplies the depth factor by U(0.5, 2), floats accumulating', () => {
    const dna = twoConvs();
    const factors = Array.from({ length: 200 }, (_, s) => apply(dna, 'alter-channels', s).record.detail.factor as number);
    assert.ok(factors.every((f) => f >= 0.5 && f <= 2));
    assert.ok(Math.min(...factors) < 0.6 && Math.max(...factors) > 1.9);
    // small changes accumulate even when each one rounds away
    let d = dna;
    const e = convs(d)[0]!.id;
    for (let s = 0; s < 5; s++) d.edges.find((x) => x.id === e)!.depthFactor *= 1.1;
    assert.equal(compileDNA(d, io).nodes.find((n) => n.id === e)!.op, 'conv2d');
    d = structuredClone(d);
    assert.ok(Math.abs(d.edges.find((x) => x.id === e)!.depthFactor - 1.1 ** 5) < 1e-12);
  });

  it('filter-size changes one axis by U(-1, 1) on the half-size: odd sizes only; only that conv loses its filters', () => {
    const axes = new Set<string>();
    for (let s = 0; s < 60; s++) {
      const parent = twoConvs();
      const { dna, record } = apply(parent, 'filter-size', s);
      axes.add(record.detail.axis as string);
      const node = compileDNA(dna, io).nodes.find((n) => n.id === record.targets[0]) as { kernel: [number, number] };
      assert.ok(
        node.kernel.every((k) => k % 2 === 1 && k >= 1),
        `kernel ${node.kernel}`,
      );
      const pt = new Map(analyze(compileDNA(parent, io)).tensors.map((t) => [t.name, t.shape.join('x')]));
      const changed = analyze(compileDNA(dna, io))
        .tensors.filter((t) => pt.get(t.name) !== t.shape.join('x'))
        .map((t) => t.name);
      assert.deepEqual(changed, record.detail.from === record.detail.to ? [] : [`${record.targets[0]}.weight`]);
    }
    assert.deepEqual([...axes].sort(), ['horizontal', 'vertical']);
  });

  it('insert-one-to-one adds an identity into a new vertex with bn+relu or none at random; every tensor kept', () => {
    const activations = new Set<string>();
    for (let s = 0; s < 20; s++) {
      const parent = twoConvs();
      const { dna, record } = apply(parent, 'insert-one-to-one', s);
      const e = dna.edges.find((x) => x.id === record.targets[1])!;
      assert.equal(e.kind, 'identity');
      assert.equal(e.skip, false);
      assert.equal(e.to, record.targets[0]);
      activations.add(dna.vertices.find((v) => v.id === record.targets[0])!.activation);
      const child = new Map(analyze(compileDNA(dna, io)).tensors.map((t) => [t.name, String(t.shape)]));
      for (const t of analyze(compileDNA(parent, io)).tensors) assert.equal(child.get(t.name), String(t.shape), t.name);
    }
    assert.deepEqual([...activations].sort(), ['bn_relu', 'linear']);
  });

  it('add-skip joins an earlier backbone vertex to a later one, never backwards, never twice; the backbone stays primary', () => {
    let dna = twoConvs();
    for (let s = 0; s < 10; s++) {
      const r = applyMutation(dna, 'add-skip', createRng(s));
      if (!r) break;
      const e = r.dna.edges.find((x) => x.id === r.record.targets[0])!;
      const pos = (id: string) => r.dna.vertices.findIndex((v) => v.id === id);
      assert.ok(e.skip && e.kind === 'identity' && pos(e.from) < pos(e.to));
      assert.ok(r.dna.vertices.find((v) => v.id === e.from)!.outputsMutable);
      assert.ok(r.dna.vertices.find((v) => v.id === e.to)!.inputsMutable);
      const add = compileDNA(r.dna, io).nodes.find((n) => n.id === `${e.to}_add`)!;
      const backbone = r.dna.edges.find((x) => !x.skip && x.to === e.to)!;
      assert.equal(add.inputs[0], backbone.kind === 'conv' ? backbone.id : add.inputs[0], 'primary input first');
      dna = r.dna;
    }
    // 4 backbone vertices give 6 forward pairs (the input only sends, the output only receives)
    assert.equal(dna.edges.filter((e) => e.skip).length, 6);
    assert.equal(applyMutation(dna, 'add-skip', createRng(99)), undefined, 'every pair taken');
  });

  it('remove-skip removes a skip and nothing else', () => {
    const withSkip = apply(twoConvs(), 'add-skip', 2).dna;
    const { dna, record } = apply(withSkip, 'remove-skip');
    assert.equal(dna.edges.length, withSkip.edges.length - 1);
    assert.ok(!dna.edges.some((e) => e.id === record.targets[0]));
    assert.equal(applyMutation(twoConvs(), 'remove-skip', createRng(1)), undefined);
  });

  it('mutate() sets aside mutations that cannot apply, honours weights, and applies k in turn', () => {
    const rng = createRng(7);
    for (let i = 0; i < 50; i++) {
      const r = mutate(initialDNA(), rng, { weights: { 'remove-skip': 1, 'alter-stride': 1, identity: 1 } });
      assert.equal(r.records[0]!.type, 'identity', 'the others cannot apply to the initial individual');
    }
    const many = mutate(initialDNA(), rng, { k: 5 });
    assert.equal(many.records.length, 5);
    assert.throws(() => mutate(initialDNA(), rng, { weights: { 'remove-skip': 1 } }), /no mutation with a positive weight can apply/);
  });

  it('never changes its input DNA', () => {
    const dna = twoConvs();
    const copy = structuredClone(dna);
    for (let s = 0; s < 100; s++) mutate(dna, createRng(s));
    assert.deepEqual(dna, copy);
  });
});

describe('DNA files', () => {
  it('round-trip through JSON and refuse bad DNA with the path of the fault', () => {
    const dna = apply(twoConvs(), 'add-skip').dna;
    assert.deepEqual(parseDNA(serializeDNA(dna)), dna);
    const bad = (mutateFn: (d: GraphDNA) => void, pattern: RegExp) => {
      const d = structuredClone(dna);
      mutateFn(d);
      assert.throws(
        () => validateDNA(d),
        (e: unknown) => e instanceof DNAError && pattern.test(e.message),
      );
    };
    bad((d) => {
      const s = d.edges.find((e) => e.skip)!;
      [s.from, s.to] = [s.to, s.from];
    }, /does not go forward along the backbone \(it would make a cycle\)/);
    bad((d) => (d.edges[0]!.kind = 'pool' as never), /edges\[0\]\.kind: expected "identity" or "conv"/);
    bad((d) => (d.vertices[1]!.id = d.vertices[2]!.id), /duplicate id/);
    bad((d) => (d.edges[0]!.depthFactor = -1), /depthFactor: expected a finite number/);
    bad((d) => (d.version = 2 as never), /version: expected 1/);
    bad((d) => (d.minChannels = 0), /minChannels: expected a whole number of at least 1 but found 0/);
    bad((d) => (d.minChannels = 2.5), /minChannels: expected a whole number of at least 1 but found 2.5/);
  });

  it('hash equal for isomorphic DNAs (other ids), different for different ones', () => {
    const dna = apply(twoConvs(), 'add-skip').dna;
    const renamed = structuredClone(dna);
    const map = new Map<string, string>();
    const rename = (id: string) => {
      if (!map.has(id)) map.set(id, `${id[0]}${100 + map.size}`);
      return map.get(id)!;
    };
    renamed.vertices.forEach((v) => {
      v.id = rename(v.id);
    });
    renamed.edges.reverse().forEach((e) => {
      Object.assign(e, { id: rename(e.id), from: rename(e.from), to: rename(e.to) });
    });
    renamed.nextId = 200;
    validateDNA(renamed);
    assert.equal(hashDNA(renamed), hashDNA(dna));
    assert.notEqual(hashDNA(apply(dna, 'alter-channels').dna), hashDNA(dna));
    assert.notEqual(hashDNA(apply(dna, 'alter-learning-rate').dna), hashDNA(dna));
  });
});
