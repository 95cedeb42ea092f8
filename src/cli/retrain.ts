import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { openDataset } from '../data/dataset.js';
import { createDataset } from '../engine/dataset.js';
import { fit } from '../engine/fit.js';
import { compile } from '../engine/net.js';
import { saveSafetensors } from '../engine/safetensors.js';
import { openExperiment, rankByValidation, testSplit } from '../report/models.js';
import { compileStages, formatBits, validateStagesDNA } from '../spaces/stages/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { CliError, intOption, numberOption, parse, str } from './args.js';
import { Progress } from './progress.js';

const HELP = `usage: evonas retrain <experiment> [--id best|ID] --widths 64,128,256 --epochs E [options]

Genetic CNN's transfer experiment: trains a structure found by a stages run
again from scratch, wider, on the training split with the paper's stepped
schedule, and reports its validation and test accuracy. Writes
<experiment>/retrain/<id>-w<widths>-e<E>/{weights.safetensors,result.json}.

  --id ID          the individual (default: the best by validation accuracy)
  --widths LIST    channels per stage (paper: 64,128,256)
  --fc N           units of the first fully connected layer (paper: 1024)
  --epochs E       epochs (paper: 240); fractions allowed
  --lr X           base learning rate of the stepped schedule (paper: 0.01)
  --batch N        (default: the experiment's)
  --threads N      (default: all cores)
  --seed N         (default 0)`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(
    argv,
    { id: { type: 'string' }, widths: { type: 'string' }, fc: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, batch: { type: 'string' }, threads: { type: 'string' }, seed: { type: 'string' } },
    HELP,
    true,
  );
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const x = openExperiment(resolve(p.positionals[0]!));
  if (x.config.space !== 'stages') throw new CliError(`${x.dir} searched the ${x.config.space} space; retrain takes a stages (Genetic CNN) experiment`, 1);
  const all = await x.store.list();
  const id = str(p, 'id') ?? 'best';
  const chosen = id === 'best' ? rankByValidation(all)[0] ?? all.find((i) => i.fitness !== null) : all.find((i) => i.id === id);
  if (!chosen) throw new CliError(id === 'best' ? `${x.dir}: no trained individual yet` : `${x.dir}: no individual "${id}"`, 1);
  const dna = validateStagesDNA(chosen.dna);
  const widthsText = str(p, 'widths');
  if (!widthsText) throw new CliError(`--widths is required (one per stage, e.g. 64,128,256)\n\n${HELP}`);
  const widths = widthsText.split(',').map((w) => Number(w));
  if (widths.length !== dna.nodes.length || !widths.every((w) => Number.isInteger(w) && w >= 1)) {
    throw new CliError(`--widths: expected ${dna.nodes.length} whole numbers >= 1 (one per stage) but received "${widthsText}"`);
  }
  const epochs = numberOption(str(p, 'epochs'), '--epochs', NaN, 0, 10_000);
  if (!(epochs > 0)) throw new CliError(`--epochs E is required (paper: 240)\n\n${HELP}`);
  const fc = intOption(str(p, 'fc'), '--fc', 1024, 1);
  const learningRate = numberOption(str(p, 'lr'), '--lr', 0.01, 0, 10);
  const batchSize = intOption(str(p, 'batch'), '--batch', x.config.batchSize, 1, 4096);
  const threads = intOption(str(p, 'threads'), '--threads', availableParallelism(), 1, 1024);
  const seed = intOption(str(p, 'seed'), '--seed', 0, 0, 2 ** 32 - 1);

  const base = { ...x.config.stages, widths, fc };
  const net = compile(compileStages(dna, x.io, base), { threads, seed });
  const data = openDataset(x.config.data);
  const t = data.train();
  const v = data.validation();
  const train = createDataset({ images: t.images, labels: t.labels, height: t.height, width: t.width, channels: t.channels });
  const validation = createDataset({ images: v.images, labels: v.labels, height: v.height, width: v.width, channels: v.channels, ...x.stats });
  const steps = Math.ceil((epochs * train.count) / batchSize);
  console.log(`retraining ${chosen.id} (${formatBits(dna)}) with widths ${widths.join(',')} and FC ${fc}: ${(net.analysis.params / 1e6).toFixed(2)}M parameters, ${epochs} epochs = ${steps} steps of ${batchSize}`);
  const progress = new Progress();
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  const t0 = Date.now();
  try {
    const r = await fit(net, {
      data: train,
      validation,
      steps,
      batchSize,
      learningRate,
      schedule: 'stepped',
      momentum: x.config.momentum,
      weightDecay: x.config.weightDecay,
      seed,
      evalEvery: Math.max(200, Math.ceil(steps / 8)),
      signal: ac.signal,
      onProgress: (q) => {
        const eta = (((Date.now() - t0) / q.step) * (q.steps - q.step)) / 1000;
        progress.update(`step ${q.step}/${q.steps}  loss ${q.loss.toFixed(3)}  lr ${q.learningRate.toExponential(0)}  ${q.imagesPerSecond.toFixed(0)} img/s  eta ${eta.toFixed(0)} s${q.validation ? `  val acc ${q.validation.accuracy.toFixed(4)}` : ''}`);
      },
    });
    progress.done();
    if (!r.ok) throw new CliError(`training failed: ${r.failure}`, 1);
    if (r.cancelled) throw new CliError('interrupted; nothing written', 130);
    const val = r.validation ?? (await net.evaluate(validation));
    const test = testSplit(x).data;
    const te = await net.evaluate(test);
    test.dispose();
    const out = join(x.dir, 'retrain', `${chosen.id}-w${widths.join('-')}-e${epochs}`);
    mkdirSync(out, { recursive: true });
    saveSafetensors(join(out, 'weights.safetensors'), net.weights(), { dna: JSON.stringify(dna), stages: JSON.stringify(base) });
    const result = { id: chosen.id, bits: formatBits(dna), widths, fc, epochs, steps: r.steps, seconds: r.seconds, params: net.analysis.params, validationAccuracy: val.accuracy, testAccuracy: te.accuracy, searchValidationAccuracy: chosen.fitness };
    writeFileAtomic(join(out, 'result.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(`validation accuracy ${val.accuracy.toFixed(4)}, test accuracy ${te.accuracy.toFixed(4)} (searched at validation ${chosen.fitness?.toFixed(4) ?? '-'}); wrote ${out}`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
    net.dispose();
    train.dispose();
    validation.dispose();
  }
}
