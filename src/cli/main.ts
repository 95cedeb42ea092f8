/**
 * The evonas command: parses arguments and delegates. Each command lives in
 * its own module and is loaded only when used.
 */
import { EvonasError } from '../util/errors.js';
import { CliError } from './args.js';

interface Command {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  dna: { summary: "make, draw and describe any space's DNAs", load: () => import('./dna.js') },
  evolve: { summary: 'start or resume an evolution (workers under a supervisor)', load: () => import('./evolve.js') },
  sweep: { summary: 'run one evolution per seed and report the mean and spread', load: () => import('./sweep.js') },
  worker: { summary: 'join a running evolution as one more worker', load: () => import('./worker.js') },
  slurm: { summary: "submit an experiment's workers to Slurm as a job array", load: () => import('./slurm.js') },
  status: { summary: 'the state of an evolution', load: () => import('./status.js') },
  data: { summary: 'import, download and describe datasets', load: () => import('./data.js') },
  report: { summary: 'the results: best and ensemble on the test split, charts, lineage, HTML', load: () => import('./report.js') },
  pareto: { summary: 'the Pareto front of accuracy against parameters or FLOPs', load: () => import('./pareto.js') },
  compare: { summary: 'best-so-far curves of several experiments in one chart', load: () => import('./compare.js') },
  dashboard: { summary: 'serve a live, read-only view of a running experiment', load: () => import('./dashboard.js') },
  retrain: { summary: 'train a structure from a Genetic CNN run wider, from scratch, and test it', load: () => import('./retrain.js') },
  export: { summary: 'write a trained individual or ensemble as ONNX or safetensors', load: () => import('./export.js') },
  predict: { summary: 'classify images with an experiment or an exported ONNX model', load: () => import('./predict.js') },
  train: { summary: 'train one fixed network on a dataset cache (a baseline)', load: () => import('./train.js') },
  schema: { summary: 'the JSON Schema of experiment.json or of a dataset manifest', load: () => import('./schema.js') },
  store: { summary: 'check a population, or copy an experiment between a folder and PostgreSQL', load: () => import('./store.js') },
  info: { summary: 'show the engine: libtorch version, threads, CUDA', load: () => import('./info.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: evonas <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "evonas <command> --help" for a command's options.`;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`evonas: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (await command.load()).run(rest);
  } catch (e) {
    if (e instanceof CliError) {
      console.error(`evonas ${name}: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof EvonasError && (e.code === 'ERR_USAGE' || e.code === 'ERR_INPUT')) {
      console.error(`evonas ${name}: ${e.message}`);
      return e.code === 'ERR_USAGE' ? 2 : 1;
    }
    const err = e as Error & { code?: string };
    console.error(`evonas ${name}: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(e)}`);
    if (process.env.EVONAS_DEBUG) console.error(err.stack);
    return 1;
  }
}
