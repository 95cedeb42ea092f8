import { resolve } from 'node:path';
import { isStoreUrl } from '../store/index.js';
import { runWorker } from '../worker/worker.js';
import { CliError, intOption, parse, str, untilStopped } from './args.js';

const HELP = `usage: evonas worker <experiment folder or postgresql:// URL> [--id N [--takeover]] [--data <cache>]

Joins a running experiment (from another shell, or another host sharing the
experiment folder or reaching its PostgreSQL server) and works until its
deadline or SIGINT/SIGTERM; a child in flight is then dropped, never
half-written. Its report, rewritten every 30 s, is its heartbeat in
"evonas status".

  --id N       the worker's number: its random stream is the experiment's
               seed and this number (and how often the number was started
               before, so a restart does not replay it). Claimed while the
               worker runs: a number a live worker holds is refused
               (default: the lowest free number)
  --takeover   take --id over although its claim looks live: its last
               holder is known dead (evonas evolve restarting a worker)
  --data DIR   the dataset cache on this host, when it is not at the path
               the experiment records`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { id: { type: 'string' }, takeover: { type: 'boolean' }, data: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment (a folder or a postgresql:// URL)\n\n${HELP}`);
  const where = p.positionals[0]!;
  if (p.values.takeover && p.values.id === undefined) throw new CliError('--takeover takes over a number: give it with --id');
  const data = str(p, 'data');
  const id = p.values.id === undefined ? undefined : intOption(p.values.id as string, '--id', 0, 0);
  const counts = await untilStopped((signal) =>
    runWorker({
      location: isStoreUrl(where) ? where : resolve(where),
      ...(id === undefined ? {} : { id }),
      ...(p.values.takeover ? { takeover: true } : {}),
      signal,
      ...(data ? { data: resolve(data) } : {}),
    }),
  );
  console.log(JSON.stringify(counts));
  return 0;
}
