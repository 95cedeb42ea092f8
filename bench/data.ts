/**
 * npm run bench:data — imports CIFAR-10 (the JPEG archive in ../shared/datasets,
 * or BENCH_DATA_SOURCE) and prints the import rate, then times loading the
 * cache's train and validation splits against numpy.load of the same files.
 * Last line: `cache load seconds: X` (target: under 1).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataset } from '../src/data/dataset.js';
import { importDataset } from '../src/data/import.js';

const here = dirname(fileURLToPath(import.meta.url));
const source = process.env.BENCH_DATA_SOURCE ?? join(here, '..', '..', '..', 'shared', 'datasets', 'cifar10-jpg.tar.gz');
if (!existsSync(source)) {
  console.error(`bench:data: ${source} not found; set BENCH_DATA_SOURCE to a CIFAR-10 source`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'evonas-bench-data-'));
const out = join(dir, 'cifar10');
try {
  let t = process.hrtime.bigint();
  const m = await importDataset(source, { out });
  const importSecs = Number(process.hrtime.bigint() - t) / 1e9;
  const images = m.splits.train.count + m.splits.validation.count + m.splits.test.count;
  console.log(`import: ${images} images from ${source} in ${importSecs.toFixed(1)} s = ${(images / importSecs).toFixed(0)} images/s`);

  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    t = process.hrtime.bigint();
    const d = openDataset(out);
    const tr = d.train();
    const va = d.validation();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
    if (tr.count + va.count !== 50000 && source.includes('cifar10')) console.error('unexpected counts', tr.count, va.count);
  }
  console.log(`load (train + validation, ${(((m.splits.train.count + m.splits.validation.count) * 3072) / 1e6).toFixed(0)} MB): ${best.toFixed(3)} s (best of 5)`);
  const py = '/usr/bin/python3';
  if (spawnSync(py, ['-c', 'import numpy']).status === 0) {
    const code = `import numpy as np, time\nb=1e9\nfor _ in range(5):\n t=time.perf_counter(); a=np.load('${out}/train-images.npy'); l=np.load('${out}/train-labels.npy'); v=np.load('${out}/validation-images.npy'); w=np.load('${out}/validation-labels.npy'); b=min(b,time.perf_counter()-t)\nprint(b)`;
    const np = Number(execFileSync(py, ['-c', code], { encoding: 'utf8' }).trim());
    console.log(`numpy.load of the same files: ${np.toFixed(3)} s; evonas/numpy load-time ratio: ${(best / np).toFixed(2)}`);
  } else {
    console.log('(numpy not installed: no peer measurement; apt-get install python3-numpy)');
  }
  console.log(`cache load seconds: ${best.toFixed(3)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
