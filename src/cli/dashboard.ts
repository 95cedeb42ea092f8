import { resolve } from 'node:path';
import { startDashboard } from '../server/dashboard.js';
import { CliError, experimentArg, intOption, parse, str, untilStopped } from './args.js';

const HELP = `usage: evonas dashboard <experiment folder or postgresql:// URL> [--port N] [--host H] [--data DIR]

Serves a live, read-only view of an experiment (running or finished): every
individual against wall time, the best so far, the top individuals and their
diagrams, Genetic CNN's generations; new individuals and deaths appear
without a reload. Binds 127.0.0.1 (--host 0.0.0.0 to share it) on port 8080
(--port 0 picks a free one). Ctrl-C stops it. --data: the dataset cache on
this host, when it is not at the path the experiment records.`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { port: { type: 'string' }, host: { type: 'string' }, data: { type: 'string' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment (a folder or a postgresql:// URL)\n\n${HELP}`);
  const d = await startDashboard(experimentArg(p.positionals[0]!), {
    port: intOption(str(p, 'port'), '--port', 8080, 0, 65535),
    host: str(p, 'host') ?? '127.0.0.1',
    ...(str(p, 'data') ? { data: resolve(str(p, 'data')!) } : {}),
  });
  const host = str(p, 'host') ?? '127.0.0.1';
  const local = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host);
  // Bound beyond this host, the first line says so: whoever reaches it reads the population.
  console.log(
    local
      ? `dashboard at ${d.url} (read-only; Ctrl-C stops it)`
      : `dashboard at ${d.url} (read-only) on ${host}: reachable from the network, where anyone who reaches this host's port can read the population, its history and its settings; Ctrl-C stops it`,
  );
  await untilStopped((signal) => new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true })));
  await d.close();
  return 0;
}
