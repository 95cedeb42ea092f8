/**
 * NAS-Bench-201's table, in the layout of ../shared/datasets/nas-bench-201.csv
 * (a user gives their own file): one row per cell, its index, its string and
 * accuracies in percent. A search reads a dataset's validation column; only
 * the report reads its test column.
 */
import { readFileSync } from 'node:fs';
import { EvonasError } from '../../util/errors.js';
import type { IOSpec } from '../../net/presets.js';
import { parseCell } from './cell.js';

export const BENCHMARK_DATASETS = ['cifar10', 'cifar100', 'imagenet16'] as const;
export type BenchmarkDataset = (typeof BENCHMARK_DATASETS)[number];

/**
 * What the benchmark's 12-epoch training of a cell read and wrote, per
 * dataset (Dong & Yang 2020, section 3 and its hp=12 records): the network's
 * input and classes, the images of one training epoch (CIFAR-10's train half
 * of its train/valid split, CIFAR-100's train set, ImageNet16-120's train
 * set) and of the validation pass, with its batch size. The simulated clock charges a lookup
 * for this much work.
 */
export const BENCHMARK_TRAINING: Record<BenchmarkDataset, { io: IOSpec; epochs: number; batchSize: number; trainImages: number; validationImages: number }> = {
  cifar10: { io: { height: 32, width: 32, channels: 3, classes: 10 }, epochs: 12, batchSize: 256, trainImages: 25_000, validationImages: 25_000 },
  cifar100: { io: { height: 32, width: 32, channels: 3, classes: 100 }, epochs: 12, batchSize: 256, trainImages: 50_000, validationImages: 5_000 },
  imagenet16: { io: { height: 16, width: 16, channels: 3, classes: 120 }, epochs: 12, batchSize: 256, trainImages: 151_700, validationImages: 3_000 },
};

export interface BenchmarkEntry {
  index: number;
  /** The search's signal (12-epoch validation accuracy, 0-1). */
  validation: number;
  /** The report's figure (200-epoch test accuracy, 0-1). */
  test: number;
}

export interface Benchmark {
  path: string;
  dataset: BenchmarkDataset;
  byCell: Map<string, BenchmarkEntry>;
  /** The best test accuracy in the whole table, for scale. */
  bestTest: number;
}

export class BenchmarkError extends EvonasError {
  constructor(message: string, path: (string | number)[] = []) {
    super('ERR_BENCHMARK', message, path);
  }
}

/**
 * Reads `path` for `dataset`: columns index, cell, <dataset>_valid_12ep and
 * <dataset>_test_200ep (others are ignored).
 * @throws {BenchmarkError} naming the file, line and column at fault.
 */
export function readBenchmark(path: string, dataset: BenchmarkDataset): Benchmark {
  if (!BENCHMARK_DATASETS.includes(dataset)) throw new BenchmarkError(`dataset: expected one of ${BENCHMARK_DATASETS.join(', ')} but found ${JSON.stringify(dataset)}`, ['dataset']);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BenchmarkError(`${path}: ${(e as Error).message}`, [path]);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  const header = (lines[0] ?? '').split(',');
  const want = { index: 'index', cell: 'cell', validation: `${dataset}_valid_12ep`, test: `${dataset}_test_200ep` };
  const col = Object.fromEntries(
    Object.entries(want).map(([k, name]) => {
      const i = header.indexOf(name);
      if (i < 0) throw new BenchmarkError(`${path}: no column ${name} in the header (found ${header.join(', ')})`, [path, name]);
      return [k, i];
    }),
  ) as Record<keyof typeof want, number>;
  const byCell = new Map<string, BenchmarkEntry>();
  let bestTest = 0;
  for (let n = 1; n < lines.length; n++) {
    const f = lines[n]!.split(',');
    const at = `${path}:${n + 1}`;
    const cell = f[col.cell]!;
    try {
      parseCell(cell);
    } catch (e) {
      throw new BenchmarkError(`${at}: ${(e as Error).message}`, [path, n + 1, 'cell']);
    }
    const num = (k: 'validation' | 'test') => {
      const v = Number(f[col[k]]);
      if (!(f[col[k]] !== '' && v >= 0 && v <= 100)) throw new BenchmarkError(`${at}: ${want[k]}: expected a percentage but found ${JSON.stringify(f[col[k]])}`, [path, n + 1, want[k]]);
      return v / 100;
    };
    if (byCell.has(cell)) throw new BenchmarkError(`${at}: cell ${cell} appears twice`, [path, n + 1, 'cell']);
    const entry = { index: Number(f[col.index]), validation: num('validation'), test: num('test') };
    byCell.set(cell, entry);
    bestTest = Math.max(bestTest, entry.test);
  }
  if (byCell.size === 0) throw new BenchmarkError(`${path}: no rows`, [path]);
  return { path, dataset, byCell, bestTest };
}
