/**
 * Drives an evolution from TypeScript: start it with a configuration, watch
 * each individual as it is evaluated (here: print every new best by
 * validation accuracy), then make the report and read its figures.
 *
 *   node dist/examples/evolve.js <dataset cache> <experiment folder> [seconds]
 *
 * The cache is one that `evonas data import` (or importDataset) made.
 */
import { buildReport, evolve } from '../src/index.js';
import type { Individual } from '../src/index.js';

const [cache, dir, seconds = '20'] = process.argv.slice(2);
if (!cache || !dir) {
  console.error('usage: node dist/examples/evolve.js <dataset cache> <experiment folder> [seconds]');
  process.exit(2);
}

let best: Individual | undefined;
const result = await evolve(dir, {
  config: { data: cache, population: 4, workers: 1, stepsPerChild: 20, batchSize: 10, seed: 1 },
  budgetMs: Number(seconds) * 1000,
  onIndividual(i) {
    if (best && i.fitness! <= best.fitness!) return;
    best = i;
    console.log(`new best: ${i.id} validation ${i.fitness!.toFixed(4)} (${i.mutations.length ? `${i.mutations.length} mutations` : 'initial'})`);
  },
});
console.log(`evolved: ${result.children} children, ${result.alive} alive`);
const report = await buildReport(dir);
console.log(`best by validation ${report.best.id}: validation ${report.best.validationAccuracy.toFixed(4)}, test ${report.best.testAccuracy.toFixed(4)}, ${report.best.params} parameters`);
