import { paretoOf } from '../experiment/pareto.js';
import type { Objective } from '../evolution/pareto.js';
import { CliError, experimentArg, parse, str } from './args.js';

const HELP = `usage: evonas pareto <experiment folder or postgresql:// URL> [--objectives LIST] [--json]

The Pareto front now: every trained individual within the experiment's
constraints that no other beats in every objective, by validation accuracy,
parameters, forward FLOPs per image and, where the search measured it,
latency, cheapest first. Test accuracies are
the report's (evonas report tests each member once); any member can be
exported (evonas export --id) and used (evonas predict --id).

  --objectives LIST  judge by these instead of the experiment's, e.g.
                     accuracy,flops (accuracy first)
  --json             the front as JSON`;

export async function run(argv: string[]): Promise<number> {
  const p = parse(argv, { objectives: { type: 'string' }, json: { type: 'boolean' } }, HELP, true);
  if (!p) return 0;
  if (p.positionals.length !== 1) throw new CliError(`expected one experiment\n\n${HELP}`);
  const list = str(p, 'objectives');
  const objectives = list === undefined ? undefined : (list.split(',').map((x) => x.trim()) as Objective[]);
  const f = await paretoOf(experimentArg(p.positionals[0]!), objectives ? { objectives } : {});
  if (p.values.json) {
    console.log(JSON.stringify(f, null, 2));
    return 0;
  }
  console.log(`${f.experiment}: ${f.members.length} on the front of ${f.objectives.join(', ')}`);
  const latency = f.members.some((m) => m.latency !== undefined);
  console.log(`${'id'.padEnd(28)} ${'validation'.padStart(10)} ${'parameters'.padStart(12)} ${'MFLOPs'.padStart(10)}${latency ? ` ${'ms/image'.padStart(9)}` : ''}  state`);
  for (const m of f.members)
    console.log(
      `${m.id.padEnd(28)} ${m.validationAccuracy.toFixed(4).padStart(10)} ${m.parameters.toLocaleString('en').padStart(12)} ${(m.flops / 1e6).toFixed(2).padStart(10)}${latency ? ` ${(m.latency?.toFixed(3) ?? '-').padStart(9)}` : ''}  ${m.state}`,
    );
  const on = f.members.find((m) => m.latencyOn)?.latencyOn;
  if (on) console.log(`latency measured on ${on}`);
  return 0;
}
