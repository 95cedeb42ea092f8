// Property: any sequence of mutations from the initial individual gives a
// valid DNA that survives JSON unchanged, compiles to the tensors the DNA
// implies, builds and trains a step on the engine, and passes to its child
// exactly the weights the inheritance rules predict.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { compile } from '../src/engine/net.js';
import { analyze } from '../src/net/analyze.js';
import { compileDNA } from '../src/spaces/graph/compile.js';
import { initialDNA, parseDNA, serializeDNA, validateDNA } from '../src/spaces/graph/dna.js';
import type { GraphDNA } from '../src/spaces/graph/dna.js';
import { inheritance, mutate } from '../src/spaces/graph/mutations.js';
import type { MutationRecord } from '../src/spaces/graph/mutations.js';
import { createRng } from '../src/util/rng.js';
import { randomData } from './support/helpers.js';

// Small images keep a thousand engine builds quick; the rules do not depend on size.
const io = { channels: 3, height: 8, width: 8, classes: 4 };
const data = randomData(8, 8, 8, 3, 4, 3);
after(() => data.dispose());

/** Every tensor's name and shape, derived from the DNA by the paper's rules alone. */
function dnaTensors(dna: GraphDNA): Map<string, string> {
  const channels = new Map<string, number>([[dna.vertices[0]!.id, io.channels]]);
  const out = new Map<string, string>();
  for (const v of dna.vertices.slice(1)) {
    const primary = dna.edges.find((e) => e.to === v.id && !e.skip)!; // backbone edges have the precedence
    const cin = channels.get(primary.from)!;
    let c = cin;
    if (primary.kind === 'conv') c = Math.max(1, Math.round(cin * primary.depthFactor));
    channels.set(v.id, c);
    for (const e of dna.edges.filter((x) => x.to === v.id && x.kind === 'conv')) {
      const ci = channels.get(e.from)!;
      const co = Math.max(1, Math.round(ci * e.depthFactor));
      out.set(`${e.id}.weight`, [co, ci, 2 * Math.round(e.filterHalfHeight) + 1, 2 * Math.round(e.filterHalfWidth) + 1].join('x'));
    }
    if (v.activation === 'bn_relu') for (const t of ['weight', 'bias', 'running_mean', 'running_var']) out.set(`${v.id}_bn.${t}`, String(c));
  }
  const last = channels.get(dna.vertices[dna.vertices.length - 1]!.id)!;
  out.set('head_fc.weight', `${io.classes}x${last}`);
  out.set('head_fc.bias', String(io.classes));
  return out;
}

function predictedInheritance(parent: Map<string, string>, child: Map<string, string>, records: MutationRecord[]): string[] {
  const rule = inheritance(records);
  if (rule === 'none') return [];
  const kept = [...child].filter(([name, shape]) => parent.get(name) === shape).map(([name]) => name);
  if (rule === 'all') assert.equal(kept.length, child.size, `${records.map((r) => r.type)} must keep every tensor`);
  return kept.sort();
}

/**
 * The three shapes the paper's insertion rules make reachable, read off the
 * compiled network: a conv followed by BN+ReLU into the global pool, BN+ReLU
 * stacked on BN+ReLU (Fig. 1's "C+BN+R+BN+R"), and a conv straight into the pool.
 */
function shapes(ir: ReturnType<typeof compileDNA>): { convBnReluPool: boolean; stackedBnRelu: boolean; convPool: boolean } {
  const byId = new Map(ir.nodes.map((n) => [n.id, n]));
  const op = (id: string | undefined) => (id === undefined ? undefined : byId.get(id)?.op);
  const input = (id: string | undefined) => (id === undefined ? undefined : byId.get(id)?.inputs[0]);
  const pooled = input('head_gap');
  return {
    convBnReluPool: op(pooled) === 'relu' && op(input(pooled)) === 'batchnorm' && op(input(input(pooled))) === 'conv2d',
    stackedBnRelu: ir.nodes.some((n) => n.op === 'batchnorm' && op(n.inputs[0]) === 'relu' && op(input(n.inputs[0])) === 'batchnorm'),
    convPool: op(pooled) === 'conv2d',
  };
}

describe('graph search space (property, fast-check)', () => {
  it('1,000 random sequences of up to 50 mutations', async () => {
    let trained = 0;
    let networks = 0;
    const seen = { convBnReluPool: 0, stackedBnRelu: 0, convPool: 0 };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 50 }), async (seed, length) => {
        const rng = createRng(seed);
        let dna = initialDNA();
        let parent = dna;
        let records: MutationRecord[] = [];
        for (let i = 0; i < length; i++) {
          parent = dna;
          ({ dna, records } = mutate(dna, rng));
          validateDNA(dna);
          assert.deepEqual(parseDNA(serializeDNA(dna)), dna);
          const ir = compileDNA(dna, io);
          const tensors = analyze(ir).tensors;
          networks++;
          for (const [k, v] of Object.entries(shapes(ir))) if (v) seen[k as keyof typeof seen]++;
          const expect = dnaTensors(dna);
          assert.deepEqual(new Map(tensors.map((t) => [t.name, t.shape.join('x')])), expect);
        }
        // The engine builds the last child and its parent, trains a step, and the child takes the predicted weights.
        const p = compile(compileDNA(parent, io), { threads: 1, seed: 1 });
        const c = compile(compileDNA(dna, io), { threads: 1, seed: 2 });
        try {
          const step = await c.train({ data, steps: 1, batchSize: 4, learningRate: dna.learningRate });
          assert.equal(step.steps, 1);
          const predicted = predictedInheritance(dnaTensors(parent), dnaTensors(dna), records);
          const loaded = inheritance(records) === 'none' ? [] : c.setWeights(p.weights()).loaded.sort();
          assert.deepEqual(loaded, predicted);
          trained++;
        } finally {
          p.dispose();
          c.dispose();
        }
      }),
      { numRuns: 1000, seed: 20261122 },
    );
    assert.equal(trained, 1000);
    // The paper's insertion places the random activation after the new conv: all three shapes occur.
    console.log(`shapes over ${networks} networks: ${JSON.stringify(seen)}`);
    for (const [k, v] of Object.entries(seen)) assert.ok(v > 0, `${k} never occurred in ${networks} networks`);
  });
});
