import { EvonasError } from './errors.js';

/** '90s', '30m', '2h' (or fractions: '1.5h') in milliseconds; `fallback` when absent. @throws {EvonasError} ERR_USAGE naming the flag. */
export function parseDuration(v: string | undefined, fallback: number, flag = '--time-budget'): number {
  if (v === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(v);
  if (!m || Number(m[1]) === 0) throw new EvonasError('ERR_USAGE', `Expected a duration like 90s, 30m or 2h for ${flag} but received "${v}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] * 1000;
}
