import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXPERIMENT_FILE, loadConfig, saveConfig } from '../evolution/config.js';
import type { ExperimentConfig } from '../evolution/config.js';
import { settingsOf, spaceOf } from '../spaces/index.js';
import { isStoreUrl } from '../store/index.js';
import { withHome } from '../store/home.js';
import type { ExperimentHome } from '../store/home.js';
import { seedStore, startRun, supervise } from '../worker/supervisor.js';
import { CliError, intOption, parse, str, untilStopped } from './args.js';
import { parseDuration } from '../util/duration.js';
import { checkTableBudget, configFromFlags, EVOLVE_OPTIONS, fieldFlagsHelp, TABLE_NO_TIME_LIMIT } from './evolve-options.js';
import type { Parsed } from './args.js';
import { Progress } from './progress.js';

const HELP = `usage: evonas evolve --data <cache> --out <experiment> [options]
       evonas evolve --data <cache> --store postgresql://user@host/db?schema=exp1 [options]
       evonas evolve --resume <experiment or URL> [--time-budget T]
       evonas evolve --space nb201 --evaluator table --benchmark <file.csv>
                     --dataset cifar10 --out <experiment> --max-children N [options]

Starts (or resumes) an evolution: creates the experiment, starts the workers
under a supervisor that restarts any that die, shows progress, and stops at
the time budget or on Ctrl-C (children in flight are dropped, never
half-written). Add workers from another shell with "evonas worker <experiment>".

  --prepare            create the experiment (and its deadline) and start no
                       workers: for evonas worker or evonas slurm elsewhere
  --store URL          keep the experiment (settings, run state, population
                       and weights) in PostgreSQL instead of a folder, so
                       that workers on any host that reaches the server can
                       join with "evonas worker URL"; the password may come
                       from PGPASSWORD, and is never printed

  --config FILE        experiment settings (JSON); flags override it
  --print-config       print the effective configuration (defaults, file and
                       flags together, validated) and exit, writing nothing
${fieldFlagsHelp()}
  --time-budget T      e.g. 90s, 30m, 2h (default 30m); with evaluator table,
                       time on the simulated clock (no default)
  --max-children N     also stop once the store holds N children (a budget
                       that repeats: with 1 worker, 1 thread and a seed, two
                       runs make the same individuals)
  --stagnation W       graph space: when no new best by validation has been
                       born for W (e.g. 4m), apply the paper's section-5
                       remedies by itself, recorded in <experiment>/events/
                       and marked on Figure 1; each remedy gets W to work
  --stagnation-remedy R  both (default), mutation-rate (5 mutations per
                       child for W/2) or weight-reset (every individual's)

Scaled for minutes on 2 cores rather than days on 250 machines, and saved in
the experiment: mutation weights that favour growth (insert-convolution and
alter-channels 3, identity 2, reset-weights 0.2, others 0.5-1) and 3 mutations
per child for the first 3 minutes, population 20, the finish (--finish 0.25),
a learning-rate floor (--min-lr 0.02) and a channel floor (--min-channels 16).
For the paper's algorithm put "mutationWeights": {} and "schedule": {} in
--config, --finish 0, --min-lr 0 and --min-channels 1.
`;

/** Where the experiment lives: --out <folder>, --store <postgresql:// URL>, or --resume <either>. */
function locationOf(p: Parsed): string {
  const [out, store, resume] = [str(p, 'out'), str(p, 'store'), str(p, 'resume')];
  if ([out, store, resume].filter((x) => x !== undefined).length !== 1) throw new CliError(`give one of --out <experiment folder>, --store <postgresql:// URL> or --resume <experiment>\n\n${HELP}`);
  if (store !== undefined && !isStoreUrl(store)) throw new CliError(`--store ${JSON.stringify(store)}: expected a postgresql:// URL (for a folder, use --out)`);
  return resume ?? store ?? resolve(out!);
}

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, EVOLVE_OPTIONS, HELP);
  if (!p) return 0;
  const maxChildren = str(p, 'max-children') === undefined ? undefined : intOption(str(p, 'max-children'), '--max-children', 0, 1);
  if (p.values['print-config']) {
    const resume = str(p, 'resume');
    const config = resume ? await withHome(resume, (home) => loadConfig(home)) : configFromFlags(p);
    console.log(JSON.stringify(config, null, 2));
    return 0;
  }
  const resume = str(p, 'resume');
  const location = locationOf(p);
  if (!resume && !isStoreUrl(location) && existsSync(join(location, EXPERIMENT_FILE))) throw new CliError(`${str(p, 'out')} already holds an experiment; resume it with --resume ${str(p, 'out')}`, 1);
  // Every refusal comes before anything is connected to or written: a bad flag, a bad budget, --prepare of a table run.
  parseDuration(str(p, 'time-budget'), 0);
  let fresh: ExperimentConfig | undefined;
  if (!resume) {
    fresh = configFromFlags(p); // validated once: its dataset or table is read here, not again
    checkTableBudget(p, fresh);
    if (p.values.prepare && fresh.evaluator === 'table') throw new CliError('--prepare: a table-driven run is simulated in one go by evonas evolve; leave out --prepare', 2);
  }
  return withHome(location, (home) => evolveAt(p, home, fresh, maxChildren));
}

/** Creates the experiment with `fresh` (a new one's settings, validated) or resumes the one at `home`, then runs it. */
async function evolveAt(p: Parsed, home: ExperimentHome, fresh: ExperimentConfig | undefined, maxChildren: number | undefined): Promise<number> {
  const dir = home.name;
  const resume = fresh === undefined;
  let config: ExperimentConfig;
  if (!fresh) {
    config = await loadConfig(home);
    if (config.evaluator === 'table') throw new CliError(`${dir}: a table-driven run is simulated in one go and is not resumed; start a new one (it takes seconds, and repeats with its seed)`, 1);
  } else {
    config = fresh;
    await saveConfig(home, config);
    await seedStore(home.store, config);
  }
  const table = config.evaluator === 'table';
  const budget = parseDuration(str(p, 'time-budget'), table ? TABLE_NO_TIME_LIMIT : 30 * 60_000);
  const deadline = Date.parse((await startRun(home.url ?? dir, budget, maxChildren)).deadline);
  const breeding = spaceOf(config.space).breeding;
  const settings = settingsOf(config.space, config);
  const epochs = breeding?.epochs(settings);
  const training = table
    ? `accuracies looked up in ${config.benchmark!.path} (${config.benchmark!.dataset}) on a simulated clock`
    : `${epochs ? `${epochs} epochs` : `${config.stepsPerChild} steps`} per child${config.finish > 0 && !breeding ? `, the last ${Math.round(config.finish * 100)}% of the time annealing the best` : ''}`;
  const shape = breeding ? `${breeding.generations(settings)} generations of ${config.population}` : `population ${config.population}`;
  const until = table ? [maxChildren && `${maxChildren} evaluations`, str(p, 'time-budget') && `${str(p, 'time-budget')} simulated`].filter(Boolean).join(' or ') : new Date(deadline).toISOString();
  if (p.values.prepare) {
    console.log(`prepared ${dir}: ${config.space} space, ${config.algorithm}, ${shape}, ${training}, until ${until}; no workers started`);
    console.log(`add workers with: evonas worker ${dir} (each takes the lowest free number), or evonas slurm ${dir} --workers N`);
    return 0;
  }
  console.log(`${resume ? 'resuming' : 'evolving'} ${dir}: ${config.space} space, ${config.algorithm}, ${shape}, ${config.workers} ${table ? 'simulated ' : ''}workers, ${training}, until ${until}`);

  const progress = new Progress();
  try {
    const r = await untilStopped((signal) => supervise(home.url ?? dir, { signal, onProgress: (l: string) => progress.update(l), onLog: (l: string) => progress.log(l) }));
    progress.done();
    console.log(`stopped: ${r.children} children ${table ? 'evaluated' : 'trained'}, ${r.alive} alive; best validation accuracy ${r.best ? `${r.best.fitness!.toFixed(4)} (${r.best.id})` : '-'}`);
  } finally {
    progress.done();
  }
  return 0;
}
