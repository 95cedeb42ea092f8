import { resolve } from 'node:path';
import { parseDuration } from '../util/duration.js';
import { submitWorkers } from '../worker/slurm.js';
import { CliError, experimentArg, intOption, parse, str } from './args.js';

const HELP = `usage: evonas slurm <experiment folder or postgresql:// URL> --workers N [options]

Submits the experiment's workers to Slurm as one sbatch job array: each task
is an "evonas worker" with its own id (--first-id plus the task index) and
works until the experiment's deadline. Stop them early with scancel <job>
(each drops its child in flight). "evonas status" lists them alive, with
their host and job. The experiment must exist (evonas evolve --prepare
creates one without starting workers) and every node must reach it: a
folder on a shared filesystem, or the PostgreSQL server. A password in the
URL is never written into the script: sbatch passes it to the job in
PGPASSWORD, from the environment it was submitted from.

  --workers N            array tasks, one worker each (required)
  --time T               the job's time limit (Slurm's form: 4:00:00)
  --partition P          the partition to run in
  --cpus-per-worker C    CPUs per task (default: the experiment's threads per worker)
  --gpus-per-worker G    GPUs per task (--gres=gpu:G)
  --time-budget T        set the experiment's deadline T from now (90s, 30m, 2h)
  --data DIR             the dataset cache's path on the nodes
  --first-id K           the first task's worker id (default 1000)
  --log-dir DIR          the tasks' output (default <experiment>/slurm, or here)
  --dry-run              print the script and submit nothing`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(
    argv,
    {
      workers: { type: 'string' },
      time: { type: 'string' },
      partition: { type: 'string' },
      'cpus-per-worker': { type: 'string' },
      'gpus-per-worker': { type: 'string' },
      'time-budget': { type: 'string' },
      data: { type: 'string' },
      'first-id': { type: 'string' },
      'log-dir': { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    HELP,
    true,
  );
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment (a folder or a postgresql:// URL)\n\n${HELP}`);
  if (str(p, 'workers') === undefined) throw new CliError(`--workers N is required\n\n${HELP}`);
  const opt = (name: string, min: number) => (str(p, name) === undefined ? undefined : intOption(str(p, name), `--${name}`, 0, min));
  const [workers, cpusPerWorker, gpusPerWorker, firstId] = [opt('workers', 1)!, opt('cpus-per-worker', 1), opt('gpus-per-worker', 0), opt('first-id', 0)];
  const [time, partition, data, logDir, budget] = [str(p, 'time'), str(p, 'partition'), str(p, 'data'), str(p, 'log-dir'), str(p, 'time-budget')];
  const r = await submitWorkers(experimentArg(p.positionals[0]!), {
    workers,
    ...(time ? { time } : {}),
    ...(partition ? { partition } : {}),
    ...(cpusPerWorker !== undefined ? { cpusPerWorker } : {}),
    ...(gpusPerWorker !== undefined ? { gpusPerWorker } : {}),
    ...(firstId !== undefined ? { firstId } : {}),
    ...(data ? { data: resolve(data) } : {}),
    ...(logDir ? { logDir: resolve(logDir) } : {}),
    ...(budget ? { budgetMs: parseDuration(budget, 0) } : {}),
    dryRun: p.values['dry-run'] === true,
  });
  if (p.values['dry-run']) {
    process.stdout.write(r.script);
    return 0;
  }
  console.log(`submitted job ${r.job}: ${workers} workers until ${r.deadline}; follow them with evonas status, stop them with scancel ${r.job}`);
  return 0;
}
