/** The workers' own reports (workers/<name>.json): how each spent its time. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Workers' time split from their reports: busy = training + evaluating. */
export function utilization(dir: string): { workers: number; wall: number; busy: number; store: number; children: number } {
  const out = { workers: 0, wall: 0, busy: 0, store: 0, children: 0 };
  const d = join(dir, 'workers');
  if (!existsSync(d)) return out;
  for (const f of readdirSync(d).filter((x) => x.endsWith('.json'))) {
    const w = JSON.parse(readFileSync(join(d, f), 'utf8')) as { wall: number; train: number; evaluate: number; store: number; children?: number };
    out.workers++;
    out.children += w.children ?? 0;
    out.wall += w.wall;
    out.busy += w.train + w.evaluate;
    out.store += w.store;
  }
  return out;
}
