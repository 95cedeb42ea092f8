// A search space the product has never heard of, registered from this file
// alone, evolves (the steady-state worker), reports and exports through the
// normal paths: the registry is the only place shared code learns a space.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfig, writeConfig } from '../src/evolution/config.js';
import { exportOnnx } from '../src/export/onnx.js';
import { decodeSafetensors } from '../src/engine/safetensors.js';
import { buildReport } from '../src/report/build.js';
import { compileIndividual } from '../src/spaces/index.js';
import type { SearchSpace } from '../src/spaces/index.js';
import { FileStore } from '../src/store/index.js';
import { seedPopulation, startRun } from '../src/worker/supervisor.js';
import { runWorker } from '../src/worker/worker.js';
import { NO_SETTINGS, oneConvIR, useTestSpace } from './support/test-space.js';

/** One conv of `width` channels, then global pooling and the classifier; a mutation moves the width by one. */
interface ToyDNA {
  width: number;
}
const toyDNA = (dna: unknown): ToyDNA => {
  const w = (dna as ToyDNA | null)?.width;
  if (!Number.isInteger(w) || w! < 1) throw new RangeError(`toy DNA: width must be a whole number >= 1, found ${JSON.stringify(w)}`);
  return dna as ToyDNA;
};
const toy: SearchSpace = {
  name: 'toy',
  title: 'a one-convolution test space',
  algorithms: ['aging', 'tournament'],
  ...NO_SETTINGS,
  validate: toyDNA,
  compile: (dna, io) => oneConvIR(toyDNA(dna).width, io),
  selectionKey: (i) => i.id,
  render: (dna, _io, title) => `<svg xmlns="http://www.w3.org/2000/svg"><title>${title}</title><text>width ${toyDNA(dna).width}</text></svg>`,
  describe: (dna) => ({ width: String(toyDNA(dna).width) }),
  initialPopulation: (n) => Array.from({ length: n }, () => ({ width: 1 })),
  mutate(dna, rng, k) {
    let width = toyDNA(dna).width;
    for (let i = 0; i < k; i++) width = Math.max(1, width + (rng.next() < 0.7 ? 1 : -1));
    return { dna: { width }, records: [{ type: 'width', targets: [], detail: { to: width }, inherit: 'none' }], inherit: 'none' };
  },
};

const { root, cache } = useTestSpace(toy, 'evonas-toy-');

describe('a test-only search space', () => {
  it('evolves, reports and exports through the normal paths', async () => {
    const dir = join(root, 'exp');
    const config = validateConfig({ data: cache, space: 'toy', population: 3, workers: 1, threadsPerWorker: 1, stepsPerChild: 3, batchSize: 10, seed: 2 });
    assert.equal(config.algorithm, 'aging', "the space's default algorithm");
    mkdirSync(dir);
    writeConfig(dir, config);
    await seedPopulation(dir, config);
    await startRun(dir, 120_000, 12);
    const counts = await runWorker({ location: dir, id: 0 });
    assert.ok((counts.reproduced ?? 0) > 0 && (counts['trained-initial'] ?? 0) > 0, JSON.stringify(counts));
    const all = await new FileStore(dir).list();
    assert.equal(all.filter((i) => i.parent !== null).length, 12, 'stopped at the child budget');
    assert.ok(
      all.some((i) => (i.dna as ToyDNA).width > 1),
      'mutations grew some network',
    );
    const s = await buildReport(dir);
    assert.equal(s.space, 'toy');
    assert.equal((s.best as unknown as { width: string }).width, String((all.find((i) => i.id === s.best.id)!.dna as ToyDNA).width), 'describe() reaches the report');
    const best = all.find((i) => i.id === s.best.id)!;
    const onnx = exportOnnx(
      [{ ir: compileIndividual(best.space, best.dna, { channels: 3, height: 32, width: 32, classes: 10 }), weights: decodeSafetensors(await new FileStore(dir).readWeights(best.id), 'best').tensors }],
      { stats: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, classes: Array.from({ length: 10 }, (_, k) => `c${k}`) },
    );
    assert.ok(onnx.length > 100);
    assert.throws(() => validateConfig({ data: cache, space: 'toy', algorithm: 'generational' }), /algorithm: the toy space takes aging, tournament but found "generational"/);
  });
});
