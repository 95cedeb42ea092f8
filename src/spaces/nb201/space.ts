/** The nb201 space as a SearchSpace: NAS-Bench-201's cell, one edge per mutation, and its tabular benchmark. */
import type { SearchSpace } from '../types.js';
import { EDGES, formatCell, mutateCell, parseCell, randomCell, validateNb201 } from './cell.js';
import { compileNb201 } from './compile.js';
import { renderNb201 } from './render.js';
import { Nb201SettingsSchema } from './settings.js';
import type { Nb201SettingsConfig } from './settings.js';
import { BENCHMARK_DATASETS, BENCHMARK_TRAINING, BenchmarkError, readBenchmark } from './table.js';
import type { BenchmarkDataset } from './table.js';

export const nb201Space: SearchSpace<Nb201SettingsConfig> = {
  name: 'nb201',
  title: "NAS-Bench-201's cell (Dong & Yang 2020)",
  algorithms: ['aging', 'tournament', 'random'],
  settings: Nb201SettingsSchema,
  validate: validateNb201,
  compile: (dna, io, s) => compileNb201(parseCell(validateNb201(dna).cell), io, s),
  selectionKey: (i) => i.id,
  render: (dna, _io, title) => renderNb201(parseCell(validateNb201(dna).cell), title),
  describe: (dna) => ({ cell: validateNb201(dna).cell }),
  training: (_dna, s) => ({ learningRate: s.learningRate }),
  // The field's regularized-evolution baselines start from cells drawn uniformly.
  initialPopulation: (size, rng) => Array.from({ length: size }, () => ({ cell: formatCell(randomCell(rng)) })),
  randomIndividual: (rng) => ({ cell: formatCell(randomCell(rng)) }),
  // One edge per child throughout, as the field's regularized-evolution baseline: no warm-up of raised mutation rates.
  mutate(dna, rng, k) {
    let ops = parseCell(validateNb201(dna).cell);
    const records: unknown[] = [];
    for (let i = 0; i < k; i++) {
      const m = mutateCell(ops, rng);
      ops = m.ops;
      records.push({ type: 'alter-edge', detail: { edge: `${EDGES[m.edge]![0]}->${EDGES[m.edge]![1]}`, from: m.from, to: m.to } });
    }
    // Weights are named by edge, so an unchanged edge keeps its parent's and a changed one starts afresh.
    return { dna: { cell: formatCell(ops) }, records, inherit: 'matching' };
  },
  table: {
    datasets: BENCHMARK_DATASETS,
    read(path, dataset) {
      const b = readBenchmark(path, dataset as BenchmarkDataset);
      const { io, ...training } = BENCHMARK_TRAINING[b.dataset];
      const entry = (dna: unknown) => {
        const cell = validateNb201(dna).cell;
        const e = b.byCell.get(cell);
        if (!e) throw new BenchmarkError(`${path}: no row for cell ${cell}`, [path, cell]);
        return e;
      };
      return {
        path,
        dataset,
        io,
        training,
        bestTest: b.bestTest,
        validation: (dna) => entry(dna).validation,
        test: (dna) => entry(dna).test,
      };
    },
  },
};
