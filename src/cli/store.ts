import { resolve } from 'node:path';
import { closeStore, isStoreUrl, openStore, redactUrl } from '../store/index.js';
import { migrateExperiment } from '../store/migrate.js';
import { CliError, parse } from './args.js';

const HELP = `usage: evonas store check <experiment-or-url>
       evonas store migrate <from> <to>

check     reads every individual of a population and reports problems
          (records that do not parse, entries out of place); changes nothing
migrate   copies an experiment between a folder and PostgreSQL (either way):
          its individuals as they are, alive or dead, with the weights they
          still have, and its files (experiment.json, run.json, events,
          generations, worker reports); <to> must be empty; then checks both

A PostgreSQL store is a URL: postgresql://user@host:5432/database?schema=name
(schema default "evonas"; one schema per experiment). The password may be in
the URL or, better, in PGPASSWORD or ~/.pgpass; PGHOST, PGUSER, PGSSLMODE and
the other PG* variables work as they do for psql. Passwords never appear in
what evonas prints.`;

const where = (s: string) => (isStoreUrl(s) ? s : resolve(s));

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, {}, HELP, true);
  if (!p) return 0;
  const [verb, ...args] = p.positionals;
  if (verb === 'check') {
    if (args.length !== 1) throw new CliError(`store check takes one experiment folder or URL\n\n${HELP}`);
    const store = await openStore(where(args[0]!));
    try {
      const c = await store.check();
      console.log(`${isStoreUrl(args[0]!) ? redactUrl(args[0]!) : args[0]}: ${c.alive} alive, ${c.dead} dead, ${c.problems.length} problems`);
      for (const problem of c.problems) console.log(`  ${problem}`);
      return c.problems.length ? 1 : 0;
    } finally {
      await closeStore(store);
    }
  }
  if (verb === 'migrate') {
    if (args.length !== 2) throw new CliError(`store migrate takes <from> and <to>\n\n${HELP}`);
    const [from, to] = [where(args[0]!), where(args[1]!)];
    const r = await migrateExperiment(from, to, (line) => console.log(line));
    console.log(
      `copied ${r.individuals} individuals and ${r.files} files to ${isStoreUrl(to) ? redactUrl(to) : to}; check: source ${r.from.alive} alive, ${r.from.dead} dead, ${r.from.problems.length} problems; copy ${r.to.alive} alive, ${r.to.dead} dead, ${r.to.problems.length} problems`,
    );
    return 0;
  }
  throw new CliError(`expected check or migrate${verb ? ` but found "${verb}"` : ''}\n\n${HELP}`);
}
