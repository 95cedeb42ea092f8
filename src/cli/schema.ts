import { FILE_SCHEMAS } from '../util/json-schemas.js';
import { CliError, parse } from './args.js';

const HELP = `usage: evonas schema [experiment|manifest]

Prints the JSON Schema (draft 2020-12) of an evonas file, made from the same
declaration that checks it: experiment (an experiment's experiment.json, the
default; what evolve --config takes) or manifest (a dataset cache's
manifest.json). Editors and validators can use it, e.g. VS Code's
"json.schemas" setting.`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, {}, HELP, true);
  if (!args) return 0;
  const name = args.positionals[0] ?? 'experiment';
  const make = FILE_SCHEMAS[name];
  if (!make || args.positionals.length > 1)
    throw new CliError(`expected one of ${Object.keys(FILE_SCHEMAS).join(', ')} but found ${args.positionals.map((p) => JSON.stringify(p)).join(' ')}\n\n${HELP}`);
  console.log(JSON.stringify(make(), null, 2));
  return 0;
}
