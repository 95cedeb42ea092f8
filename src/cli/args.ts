import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { resolve } from 'node:path';
import { isStoreUrl } from '../store/index.js';
import { EvonasError } from '../util/errors.js';

/** A usage or input error: printed without a stack, with this exit code. */
export class CliError extends EvonasError {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(exitCode === 2 ? 'ERR_USAGE' : 'ERR_INPUT', message);
  }
}

/** A command's flags, as node:util parseArgs takes them. */
export type ParseOptions = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** parseArgs with errors that name the flag; undefined after printing --help. */
export function parse(argv: string[], options: ParseOptions, help: string, allowPositionals = false): Parsed | undefined {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true }) as Parsed;
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n\n${help}`);
  }
  if (parsed.values.help) {
    console.log(help);
    return undefined;
  }
  return parsed;
}

/** A string option's value, or undefined. */
export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A whole number option within [min, max]. */
export function intOption(value: string | undefined, flag: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`Expected a whole number from ${min} to ${max} for ${flag} but received "${value}"`);
  }
  return n;
}

/** A number option within [min, max]. */
export function numberOption(value: string | undefined, flag: string, fallback: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new CliError(`Expected a number from ${min} to ${max} for ${flag} but received "${value}"`);
  }
  return n;
}

/** An experiment given on the command line: a postgresql:// URL as it is, a folder made absolute. */
export function experimentArg(s: string): string {
  return isStoreUrl(s) ? s : resolve(s);
}

/**
 * Runs `work` with a signal that SIGINT or SIGTERM aborts (Ctrl-C, or a
 * scheduler stopping the job): the command stops cleanly, dropping what is
 * in flight. The handlers are removed when `work` ends.
 */
export async function untilStopped<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await work(ac.signal);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
