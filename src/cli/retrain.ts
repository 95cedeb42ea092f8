import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { retrain } from '../train/retrain.js';
import { CliError, intOption, numberOption, parse, str, untilStopped } from './args.js';
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
    {
      id: { type: 'string' },
      widths: { type: 'string' },
      fc: { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string' },
      threads: { type: 'string' },
      seed: { type: 'string' },
    },
    HELP,
    true,
  );
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const widthsText = str(p, 'widths');
  if (!widthsText) throw new CliError(`--widths is required (one per stage, e.g. 64,128,256)\n\n${HELP}`);
  const epochs = numberOption(str(p, 'epochs'), '--epochs', NaN, 0, 10_000);
  if (!(epochs > 0)) throw new CliError(`--epochs E is required (paper: 240)\n\n${HELP}`);
  const progress = new Progress();
  const t0 = Date.now();
  try {
    const r = await untilStopped((signal) =>
      retrain(resolve(p.positionals[0]!), {
        ...(str(p, 'id') ? { id: str(p, 'id')! } : {}),
        widths: widthsText.split(',').map((w) => Number(w)),
        fc: intOption(str(p, 'fc'), '--fc', 1024, 1),
        epochs,
        learningRate: numberOption(str(p, 'lr'), '--lr', 0.01, 0, 10),
        ...(str(p, 'batch') ? { batchSize: intOption(str(p, 'batch'), '--batch', 50, 1, 4096) } : {}),
        threads: intOption(str(p, 'threads'), '--threads', availableParallelism(), 1, 1024),
        seed: intOption(str(p, 'seed'), '--seed', 0, 0, 2 ** 32 - 1),
        signal,
        onStart: (s) =>
          console.log(
            `retraining ${s.id} (${s.bits}) with widths ${widthsText} and FC ${str(p, 'fc') ?? 1024}: ${(s.params / 1e6).toFixed(2)}M parameters, ${epochs} epochs = ${s.steps} steps of ${s.batchSize}`,
          ),
        onProgress: (q) => {
          const eta = (((Date.now() - t0) / q.step) * (q.steps - q.step)) / 1000;
          progress.update(
            `step ${q.step}/${q.steps}  loss ${q.loss.toFixed(3)}  lr ${q.learningRate.toExponential(0)}  ${q.imagesPerSecond.toFixed(0)} img/s  eta ${eta.toFixed(0)} s${q.validation ? `  val acc ${q.validation.accuracy.toFixed(4)}` : ''}`,
          );
        },
      }),
    );
    progress.done();
    if (!r) throw new CliError('interrupted; nothing written', 130);
    console.log(
      `validation accuracy ${r.validationAccuracy.toFixed(4)}, test accuracy ${r.testAccuracy.toFixed(4)} (searched at validation ${r.searchValidationAccuracy?.toFixed(4) ?? '-'}); wrote ${r.out}`,
    );
    return 0;
  } finally {
    progress.done();
  }
}
