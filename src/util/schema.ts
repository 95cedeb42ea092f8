/**
 * Declaring a file's layout once, with zod: the type, the defaults, the
 * checks and the words of every refusal come from one declaration. These
 * helpers keep the refusals in evonas's voice: "<path>: expected ... but
 * found <value>", one line per fault, every unknown key by its own path.
 */
import { z } from 'zod';

export type Path = (string | number)[];

/** ['schedule', 'mutationRate', 0, 'k'] as 'schedule.mutationRate[0].k'. */
export function dotted(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** A whole number from min to max (inclusive). */
export function whole(min: number, max = Number.MAX_SAFE_INTEGER): z.ZodNumber {
  const error = max === Number.MAX_SAFE_INTEGER ? `expected a whole number >= ${min}` : `expected a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A number >= min (or > min when `exclusive`). */
export function atLeast(min: number, exclusive = false): z.ZodNumber {
  const error = `expected a number ${exclusive ? '>' : '>='} ${min}`;
  return exclusive ? z.number({ error }).gt(min, { error }) : z.number({ error }).min(min, { error });
}

/** A probability in [0, 1]. */
export function probability(): z.ZodNumber {
  const error = 'expected a probability in [0, 1]';
  return z.number({ error }).min(0, { error }).max(1, { error });
}

/** One of `values`, refused with the list. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, { error: `expected one of ${values.join(', ')}` });
}

/**
 * An object whose every key is declared: an unknown one is refused with its
 * path and the keys that are known (`what` names them: field, mutation...).
 */
export function strict<T extends z.ZodRawShape>(shape: T, what = 'field'): z.ZodObject<T, z.core.$strict> {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, { error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown ${what} (known: ${known})` : 'expected an object') });
}

/** A zod issue as evonas says it: its path, its message and, where the value helps, what was found. */
export interface Fault {
  path: Path;
  message: string;
}

export function faults(error: z.ZodError): Fault[] {
  const out: Fault[] = [];
  for (const iss of error.issues) {
    const path = iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) out.push({ path: [...path, k], message: iss.message });
    } else if (iss.code === 'custom' || !('input' in iss) || iss.message.includes(' but found ')) {
      out.push({ path, message: iss.message });
    } else {
      out.push({ path, message: `${iss.message} but found ${iss.input === undefined ? 'nothing' : JSON.stringify(iss.input)}` });
    }
  }
  return out;
}

/**
 * `raw` parsed by `schema`, or the error `refuse` makes of its faults (the
 * first one's path, every one's line; paths below `at`).
 */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, refuse: (path: Path, message: string) => Error, at: Path = []): z.output<S> {
  const r = schema.safeParse(raw, { reportInput: true });
  if (r.success) return r.data;
  const all = faults(r.error).map((f) => ({ path: [...at, ...f.path], message: f.message }));
  const lines = all.map((f) => (f.path.length ? `${dotted(f.path)}: ${f.message}` : f.message));
  throw refuse(all[0]!.path, lines.join('\n'));
}
