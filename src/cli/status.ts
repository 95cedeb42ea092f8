import { resolve } from 'node:path';
import { readConfig } from '../evolution/config.js';
import { FileStore, GenerationFiles } from '../store/index.js';
import { spaceOf } from '../spaces/index.js';
import { formatStatsRow, STATS_HEADER } from '../evolution/generational.js';
import type { GenerationStats } from '../evolution/generational.js';
import { summarizePopulation } from '../store/summary.js';
import { readRun } from '../store/run-state.js';
import { utilization } from '../worker/reports.js';
import { CliError, parse } from './args.js';

const HELP = `usage: evonas status <experiment> [--json]

The population now: alive and dead, trained and failed individuals, the best
by validation accuracy, the run's start and deadline.`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { json: { type: 'boolean' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const dir = resolve(p.positionals[0]!);
  const config = readConfig(dir);
  const s = await summarizePopulation(new FileStore(dir));
  const runState = readRun(dir);
  const best = s.best && { id: s.best.id, validationAccuracy: s.best.fitness, stepsTrained: s.best.stepsTrained, state: s.best.state };
  const u = utilization(dir);
  const workerUtilization = u.wall ? u.busy / u.wall : null;
  const storeShare = u.wall ? u.store / u.wall : null;
  if (p.values.json) {
    const generations = spaceOf(config.space).generational ? new GenerationFiles(dir).stats<GenerationStats>() : undefined;
    console.log(
      JSON.stringify(
        { experiment: dir, space: config.space, algorithm: config.algorithm, population: config.population, ...runState, children: u.children, alive: s.alive, dead: s.dead, trained: s.trained, failed: s.failed, best, workerUtilization, storeShare, ...(generations ? { generations } : {}) },
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(`${dir}: ${config.algorithm}, set-point ${config.population}, started ${runState.startedAt}, deadline ${runState.deadline}`);
  console.log(`children trained by the workers ${u.children}; in the store: alive ${s.alive}, dead ${s.dead}, failed ${s.failed}`);
  console.log(best ? `best: ${best.id} validation accuracy ${best.validationAccuracy!.toFixed(4)} after ${best.stepsTrained} steps (${best.state})` : 'best: none trained yet');
  if (spaceOf(config.space).generational) {
    const rows = new GenerationFiles(dir).stats<GenerationStats>();
    if (rows.length) console.log([STATS_HEADER, ...rows.map(formatStatsRow)].join('\n'));
  }
  if (u.wall) console.log(`workers: ${u.workers} reports, ${((100 * u.busy) / u.wall).toFixed(1)}% of their time training and evaluating, ${((100 * u.store) / u.wall).toFixed(2)}% in the store`);
  return 0;
}
