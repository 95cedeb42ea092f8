// The paper's three recombinations on the graph DNA: a fused child is valid,
// resolves its shapes, keeps both parents' weights by name and shape and
// computes each branch as its parent did; weight recombination takes whole
// layers from one parent or the other; evolved mutation probabilities follow
// the second parent; fused graphs survive further mutation and are drawn
// with their branches; and a real evolve run breeds recombined children.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { importDataset } from '../src/data/import.js';
import { compile } from '../src/engine/net.js';
import type { Tensor, WeightMap } from '../src/engine/safetensors.js';
import { validateConfig } from '../src/evolution/config.js';
import { analyze } from '../src/net/analyze.js';
import { describeMutations } from '../src/report/build.js';
import { compileDNA, vertexShapes } from '../src/spaces/graph/compile.js';
import { initialDNA, validateDNA } from '../src/spaces/graph/dna.js';
import type { GraphDNA } from '../src/spaces/graph/dna.js';
import { applyMutation, mutate, MUTATIONS } from '../src/spaces/graph/mutations.js';
import type { MutationName } from '../src/spaces/graph/mutations.js';
import { crossWeights, evolveWeights, fuse, fusedWeights, normalizedWeights } from '../src/spaces/graph/recombine.js';
import { renderDNA } from '../src/spaces/graph/render.js';
import { graphSpace } from '../src/spaces/graph/space.js';
import { GraphSettingsSchema } from '../src/spaces/graph/settings.js';
import { FileStore } from '../src/store/index.js';
import { createRng } from '../src/util/rng.js';
import { runCli } from './support/cli.js';
import { cifar10Folder } from './support/formats.js';
import { randomData } from './support/helpers.js';

const io = { channels: 3, height: 8, width: 8, classes: 4 };
const data = randomData(12, 8, 8, 3, 4, 5);
const root = mkdtempSync(join(tmpdir(), 'evonas-recombine-'));
after(() => {
  data.dispose();
  rmSync(root, { recursive: true, force: true });
});

/** A parent grown by `steps` of the named mutations, seeded. */
function grow(seed: number, steps: number, names: MutationName[]): GraphDNA {
  const rng = createRng(seed);
  let dna = initialDNA();
  for (let i = 0; i < steps; i++) dna = mutate(dna, rng, { weights: Object.fromEntries(names.map((n) => [n, 1])) }).dna;
  return dna;
}

/** A chain of convolutions through linear vertices: zeroing its first convolution zeroes its output. */
function linearChain(seed: number, steps: number): GraphDNA {
  const dna = grow(seed, steps, ['insert-convolution', 'alter-channels', 'filter-size', 'alter-stride']);
  for (const v of dna.vertices) v.activation = 'linear';
  return dna;
}

async function trained(dna: GraphDNA, seed: number, weights?: WeightMap) {
  const net = compile(compileDNA(dna, io), { threads: 1, seed });
  try {
    const loaded = weights ? net.setWeights(weights) : undefined;
    if (!weights) assert.ok((await net.train({ data, steps: 3, batchSize: 6, learningRate: 0.01, seed })).ok);
    return { weights: net.weights(), logits: (await net.predict(data)).logits, loaded };
  } finally {
    net.dispose();
  }
}

const shapesOf = (w: WeightMap) => new Map([...w].map(([n, t]) => [n, t.shape.join('x')]));
const same = (a: Tensor, b: Tensor) => a.shape.join('x') === b.shape.join('x') && a.data.every((x, i) => x === b.data[i]);

describe('side-by-side fusion', () => {
  it('joins both graphs from the input, resolves every shape, and keeps both parents weights by name and shape', async () => {
    const heads = new Set<string>();
    for (const [s1, s2] of [
      [1, 2],
      [3, 4],
      [5, 6],
    ] as const) {
      const a = grow(s1, 8, ['insert-convolution', 'alter-channels', 'add-skip', 'filter-size', 'alter-stride']);
      const b = grow(s2, 10, ['insert-convolution', 'alter-channels', 'add-skip', 'insert-one-to-one']);
      const f = fuse(a, b, io);
      validateDNA(f.dna);
      // Both branches leave the input: the first parent's first edge and the second's, renumbered.
      const fromInput = f.dna.edges.filter((e) => e.from === 'v0' && !e.skip);
      assert.equal(fromInput.length, 2, `seed ${s1}/${s2}: ${fromInput.length} branches from the input`);
      assert.equal(f.dna.edges.filter((e) => e.kind === 'conv').length, a.edges.filter((e) => e.kind === 'conv').length + b.edges.filter((e) => e.kind === 'conv').length);
      // The sum takes the wider branch's channels (the first's on a tie), so that the wider classifier fits.
      const out = (d: GraphDNA) => vertexShapes(d, io).get(d.vertices.at(-1)!.id)!.c;
      assert.equal(f.head, out(b) > out(a) ? 'second' : 'first');
      assert.equal(out(f.dna), Math.max(out(a), out(b)));
      heads.add(f.head);
      const ir = compileDNA(f.dna, io);
      const an = analyze(ir);
      // Both parents' parameters, less the classifier of the narrower one.
      const params = (d: GraphDNA) => analyze(compileDNA(d, io)).params;
      assert.equal(an.params, params(a) + params(b) - headParams(f.head === 'first' ? b : a));
      const pa = await trained(a, s1);
      const pb = await trained(b, s2);
      const child = await trained(f.dna, 9, fusedWeights(pa.weights, pb.weights, f));
      assert.deepEqual(child.loaded!.skipped, [], `seed ${s1}/${s2}: tensors not loaded`);
      assert.equal(child.loaded!.loaded.length, child.weights.size, 'every tensor of the child comes from a parent');
      // By name and shape: the first parent's under their names, the second's renamed.
      for (const [n, t] of pa.weights) if (!n.startsWith('head_fc')) assert.ok(same(child.weights.get(n)!, t), `first parent's ${n}`);
      for (const [n, t] of pb.weights) {
        if (n.startsWith('head_fc')) continue;
        const layer = n.slice(0, n.indexOf('.'));
        assert.ok(same(child.weights.get(f.rename.get(layer)! + n.slice(layer.length))!, t), `second parent's ${n} as ${f.rename.get(layer)}`);
      }
      const head = f.head === 'first' ? pa : pb;
      assert.ok(same(child.weights.get('head_fc.weight')!, head.weights.get('head_fc.weight')!), 'the wider parent classifies');
    }
    assert.deepEqual([...heads].sort(), ['first', 'second'], 'both cases met');
  });

  it('computes each branch as its parent did: with the other branch silenced, the child gives the wider parent its logits', async () => {
    for (const [s1, s2] of [
      [11, 12],
      [13, 14],
    ] as const) {
      const a = linearChain(s1, 4);
      const b = linearChain(s2, 5);
      const f = fuse(a, b, io);
      const pa = await trained(a, s1);
      const pb = await trained(b, s2);
      // Zero the first convolution of the branch that does not classify: its whole branch then adds zeros.
      const quiet = f.head === 'first' ? b : a;
      const firstConv = quiet.edges.find((e) => e.from === 'v0')!.id;
      const weights = fusedWeights(pa.weights, pb.weights, f);
      const name = `${f.head === 'first' ? f.rename.get(firstConv)! : firstConv}.weight`;
      const t = weights.get(name)!;
      weights.set(name, { shape: t.shape, data: new Float32Array(t.data.length) });
      const child = await trained(f.dna, 1, weights);
      const expected = (f.head === 'first' ? pa : pb).logits;
      assert.equal(child.logits.length, expected.length);
      for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(child.logits[i]! - expected[i]!) <= 1e-4 * (1 + Math.abs(expected[i]!)), `logit ${i}: ${child.logits[i]} vs ${expected[i]}`);
    }
  });

  it('stays valid and compiles under 300 random sequences of further mutations, and fuses again', () => {
    const rng = createRng(21);
    for (let trial = 0; trial < 300; trial++) {
      let dna = fuse(grow(trial, 6, [...MUTATIONS]), grow(trial + 1000, 6, [...MUTATIONS]), io).dna;
      for (let i = 0; i < 1 + rng.int(15); i++) {
        dna = mutate(dna, rng).dna;
        validateDNA(dna);
      }
      if (trial % 10 === 0) dna = fuse(dna, grow(trial + 2000, 5, [...MUTATIONS]), io).dna;
      validateDNA(dna);
      analyze(compileDNA(dna, io));
    }
  });

  it('removes a convolution at the end of a branch and never the only edge out of a branch', () => {
    const a = linearChain(31, 2);
    const b = linearChain(32, 2);
    const f = fuse(a, b, io).dna;
    const rng = createRng(1);
    for (let i = 0; i < 50; i++) {
      const r = applyMutation(f, 'remove-convolution', rng);
      if (r) validateDNA(r.dna);
      const s = applyMutation(f, 'remove-skip', rng);
      assert.equal(s, undefined, 'the skip that ends a branch is its only edge out: it stays');
    }
  });

  it('is drawn with its branches: every edge labelled, each jump a solid arc', () => {
    const f = fuse(grow(41, 6, ['insert-convolution', 'add-skip']), grow(42, 6, ['insert-convolution', 'alter-channels']), io).dna;
    const svg = renderDNA(f, io, 'fused');
    for (const e of f.edges) assert.ok(svg.includes(`${e.id}:`) || (e.skip && svg.includes(`>${e.id}<`)), `edge ${e.id} not drawn`);
    const jumps = f.edges.filter((e) => !e.skip && f.vertices.findIndex((v) => v.id === e.to) !== f.vertices.findIndex((v) => v.id === e.from) + 1);
    assert.ok(jumps.length >= 1);
    assert.equal((svg.match(/\(from v\d+\)/g) ?? []).length, jumps.length);
  });
});

/** The classifier's parameters: a weight per output channel and class, and a bias per class. */
function headParams(dna: GraphDNA): number {
  return (vertexShapes(dna, io).get(dna.vertices.at(-1)!.id)!.c + 1) * io.classes;
}

describe('weight recombination', () => {
  it('takes each layer whole from one parent of the same structure, both parents contributing', async () => {
    const dna = grow(51, 12, ['insert-convolution', 'alter-channels', 'add-skip']);
    const pa = await trained(dna, 1);
    const pb = await trained(dna, 2);
    const { weights, fromSecond } = crossWeights(pa.weights, pb.weights, createRng(3));
    assert.deepEqual(shapesOf(weights), shapesOf(pa.weights));
    const layers = new Set([...pa.weights.keys()].map((n) => n.slice(0, n.indexOf('.'))));
    assert.ok(fromSecond.length > 0 && fromSecond.length < layers.size, `${fromSecond.length} of ${layers.size} layers from the second`);
    for (const [n, t] of weights) {
      const layer = n.slice(0, n.indexOf('.'));
      assert.ok(same(t, (fromSecond.includes(layer) ? pb : pa).weights.get(n)!), `${n} from the wrong parent`);
    }
  });

  it('takes from the second parent only layers both have with the same shapes', async () => {
    const a = grow(61, 8, ['insert-convolution', 'alter-channels']);
    const b = mutate(a, createRng(62), { weights: { 'alter-channels': 1 }, k: 2 }).dna;
    const pa = await trained(a, 1);
    const pb = await trained(b, 2);
    for (let seed = 0; seed < 10; seed++) {
      const { weights, fromSecond } = crossWeights(pa.weights, pb.weights, createRng(seed));
      assert.deepEqual(shapesOf(weights), shapesOf(pa.weights));
      for (const layer of fromSecond) for (const [n, t] of pa.weights) if (n.startsWith(`${layer}.`)) assert.equal(pb.weights.get(n)?.shape.join('x'), t.shape.join('x'));
    }
  });
});

describe('evolved mutation probabilities', () => {
  it('mutates a distribution into another: sums to 1, none below 1%, a weight the experiment gave 0 stays 0', () => {
    const rng = createRng(7);
    let w = normalizedWeights({ 'insert-convolution': 3, identity: 1, 'reset-weights': 0 });
    for (let i = 0; i < 200; i++) {
      w = evolveWeights(w, rng);
      assert.ok(Math.abs(Object.values(w).reduce((a, b) => a + b, 0) - 1) < 1e-9);
      assert.ok(Object.values(w).every((x) => x >= 0.01 / 1.02));
      assert.deepEqual(Object.keys(w).sort(), ['identity', 'insert-convolution']);
    }
  });

  it("gives a recombined child the first parent's structure and the second parent's distribution, mutated", () => {
    const settings = GraphSettingsSchema.parse({});
    const first = { ...grow(71, 5, ['insert-convolution']), mutationWeights: { 'insert-convolution': 1 } };
    const second = { ...initialDNA(), mutationWeights: { identity: 0.5, 'alter-learning-rate': 0.5 } };
    const rng = createRng(8);
    for (let i = 0; i < 20; i++) {
      const child = graphSpace.recombination!.recombine('probabilities', first, second, rng, 1, settings, io);
      const dna = validateDNA(child.dna);
      assert.deepEqual(Object.keys(dna.mutationWeights!).sort(), ['alter-learning-rate', 'identity'], 'the distribution is the second parent’s');
      assert.deepEqual(dna.vertices.length, first.vertices.length, 'the structure is the first’s (identity or learning rate change only)');
      assert.equal((child.records[1] as { type: string }).type === 'identity' || (child.records[1] as { type: string }).type === 'alter-learning-rate', true);
    }
  });

  it('is refused by spaces that do not recombine and for unknown forms, naming the field', () => {
    assert.throws(() => validateConfig({ data: '/d', space: 'graph', recombination: 'crossover' }), /recombination: expected none or one of probabilities, weights, fusion but found "crossover"/);
    assert.throws(() => validateConfig({ data: '/d', space: 'stages', recombination: 'weights' }), /recombination: the stages space does not recombine/);
    assert.throws(() => validateConfig({ data: '/d', space: 'graph', recombination: 'fusion', recombinationRate: 2 }), /recombinationRate: expected a number from 0 to 1/);
  });
});

describe('a real evolve run with each recombination', () => {
  it('breeds children of two parents, recorded in their lineage, valid and trained', async () => {
    const cache = join(root, 'cache');
    await importDataset(cifar10Folder(join(root, 'src'), 40), { out: cache, validation: 20 });
    for (const form of ['fusion', 'weights', 'probabilities']) {
      const out = join(root, form);
      const tiny = ['--population', '4', '--workers', '1', '--threads', '1', '--steps', '2', '--batch', '10', '--finish', '0', '--max-children', '14', '--time-budget', '2m', '--seed', '3'];
      const r = await runCli(['evolve', '--data', cache, '--out', out, ...tiny, '--recombination', form, '--recombination-rate', '1']);
      assert.equal(r.code, 0, r.stderr);
      const all = await new FileStore(out).list();
      const twoParents = all.filter((i) => i.parents?.length === 2);
      assert.ok(twoParents.length >= 3, `${form}: ${twoParents.length} children of two parents`);
      for (const i of twoParents) {
        validateDNA(i.dna);
        assert.notEqual(i.parents![0], i.parents![1]);
        assert.equal(i.parent, i.parents![0]);
        const rec = i.mutations[0] as { type: string; detail: { form: string } };
        assert.equal(rec.type, 'recombine');
        assert.equal(rec.detail.form, form);
        assert.ok(i.fitness !== null, `${i.id} failed: ${i.failure}`);
        assert.match(describeMutations(i), new RegExp(`^recombination by ${form} with ${i.parents![1]}`), 'the lineage says how and with whom');
      }
      if (form === 'fusion') assert.ok(twoParents.some((i) => (i.dna as GraphDNA).edges.filter((e) => e.from === 'v0' && !e.skip).length >= 2));
      if (form === 'probabilities') {
        // Every child bred (not the initial population's training) carries its own distribution.
        const bred = all.filter((i) => i.parent !== null && !(i.mutations[0] as { detail: { initialTraining?: number } }).detail.initialTraining);
        assert.ok(bred.length >= 10);
        for (const i of bred) assert.ok((i.dna as GraphDNA).mutationWeights !== undefined, `${i.id} has no distribution`);
      }
    }
  });
});
