import { formatStatsRow, STATS_HEADER } from '../evolution/generational.js';
import { status } from '../worker/status.js';
import { CliError, experimentArg, parse } from './args.js';

const HELP = `usage: evonas status <experiment folder or postgresql:// URL> [--json]

The population now: alive and dead, trained and failed individuals, the best
by validation accuracy, the run's start and deadline, and the workers alive
(each rewrites its report every 30 s: its host, Slurm job and children).`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { json: { type: 'boolean' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const { workerReports, ...s } = await status(experimentArg(p.positionals[0]!));
  if (p.values.json) {
    console.log(JSON.stringify(s, null, 2));
    return 0;
  }
  console.log(`${s.experiment}: ${s.algorithm}, set-point ${s.population}, started ${s.startedAt}, deadline ${s.deadline}`);
  console.log(`children trained by the workers ${s.children}; in the store: alive ${s.alive}, dead ${s.dead}, failed ${s.failed}`);
  const b = s.best;
  console.log(b ? `best: ${b.id} validation accuracy ${b.validationAccuracy!.toFixed(4)} after ${b.stepsTrained} steps (${b.state})` : 'best: none trained yet');
  if (s.generations?.length) console.log([STATS_HEADER, ...s.generations.map(formatStatsRow)].join('\n'));
  const ago = (iso: string) => `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))} s ago`;
  console.log(
    s.workers.length
      ? `workers alive: ${s.workers.length}\n${s.workers.map((w) => `  ${w.worker} on ${w.host}${w.job ? ` (Slurm job ${w.job})` : ''}: ${w.children} children, last seen ${ago(w.lastSeen)}`).join('\n')}`
      : 'workers alive: none',
  );
  if (s.workerUtilization !== null)
    console.log(`workers: ${workerReports} reports, ${(100 * s.workerUtilization).toFixed(1)}% of their time training and evaluating, ${(100 * s.storeShare!).toFixed(2)}% in the store`);
  return 0;
}
