import { resolve } from 'node:path';
import { runWorker } from '../worker/worker.js';
import { intOption, parse, CliError } from './args.js';

const HELP = `usage: evonas worker <experiment> [--id N]

Joins a running experiment (from another shell, or another host sharing the
experiment folder) and works until its deadline or SIGINT/SIGTERM; a child
in flight is then dropped, never half-written.`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { id: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment folder\n\n${HELP}`);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const counts = await runWorker({ dir: resolve(p.positionals[0]!), id: intOption(p.values.id as string | undefined, '--id', process.pid, 0), signal: ac.signal });
  console.log(JSON.stringify(counts));
  return 0;
}
