import { resolve } from 'node:path';
import { formatStatsRow, STATS_HEADER } from '../evolution/generational.js';
import { status } from '../worker/status.js';
import { CliError, parse } from './args.js';

const HELP = `usage: evonas status <experiment> [--json]

The population now: alive and dead, trained and failed individuals, the best
by validation accuracy, the run's start and deadline.`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { json: { type: 'boolean' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const { workerReports, ...s } = await status(resolve(p.positionals[0]!));
  if (p.values.json) {
    console.log(JSON.stringify(s, null, 2));
    return 0;
  }
  console.log(`${s.experiment}: ${s.algorithm}, set-point ${s.population}, started ${s.startedAt}, deadline ${s.deadline}`);
  console.log(`children trained by the workers ${s.children}; in the store: alive ${s.alive}, dead ${s.dead}, failed ${s.failed}`);
  const b = s.best;
  console.log(b ? `best: ${b.id} validation accuracy ${b.validationAccuracy!.toFixed(4)} after ${b.stepsTrained} steps (${b.state})` : 'best: none trained yet');
  if (s.generations?.length) console.log([STATS_HEADER, ...s.generations.map(formatStatsRow)].join('\n'));
  if (s.workerUtilization !== null)
    console.log(`workers: ${workerReports} reports, ${(100 * s.workerUtilization).toFixed(1)}% of their time training and evaluating, ${(100 * s.storeShare!).toFixed(2)}% in the store`);
  return 0;
}
