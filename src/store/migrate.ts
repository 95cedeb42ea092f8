/**
 * evonas store migrate: copies an experiment between the two backends
 * (folder -> PostgreSQL and back): its individuals as they are (alive or
 * dead, with their weights where they still have them) and its files
 * beside the population (experiment.json, run.json, stagnation events,
 * generation plans and statistics, worker reports), then checks both sides.
 * The copy is whole or absent: one transaction into PostgreSQL, a staging
 * folder renamed into place for a folder.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { EvonasError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { FileStore } from './fs-store.js';
import { isStoreUrl, PgStore } from './pg-store.js';
import type { Individual, PopulationStore, StoreCheck } from './types.js';

/** Folders of an experiment that are not its files: the population itself, staging, claims and derived output. */
const NOT_FILES = new Set(['population', 'tmp', 'trash', 'leases', 'report']);

/** The JSON files of an experiment folder beside its population, by relative path. */
export function experimentFiles(dir: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (statSync(p).isDirectory()) {
        if (!(d === dir && NOT_FILES.has(name))) walk(p);
      } else if (name.endsWith('.json')) {
        try {
          out.set(rel, JSON.parse(readFileSync(p, 'utf8')));
        } catch (e) {
          throw new EvonasError('ERR_INPUT', `${p}: ${(e as Error).message}`, [p]);
        }
      }
    }
  };
  walk(dir);
  return out;
}

export interface MigrateResult {
  individuals: number;
  files: number;
  from: StoreCheck;
  to: StoreCheck;
}

async function* withWeights(store: PopulationStore, all: Individual[]): AsyncIterable<{ individual: Individual; weights?: Buffer }> {
  for (const i of all) {
    let weights: Buffer | undefined;
    if (i.hasWeights) {
      try {
        weights = await store.readWeights(i.id);
      } catch {
        weights = undefined; // collected meanwhile: the record stays, as history
      }
    }
    yield { individual: i, ...(weights ? { weights } : {}) };
  }
}

/**
 * Copies the experiment at `from` (a folder or a postgresql:// URL) to `to`
 * (the other kind), which must be empty.
 * @throws {EvonasError} naming what is wrong: no experiment at `from`, `to` not empty, a server that refuses.
 */
export async function migrateExperiment(from: string, to: string, log: (line: string) => void = () => {}): Promise<MigrateResult> {
  if (isStoreUrl(from) === isStoreUrl(to)) throw new EvonasError('ERR_INPUT', 'store migrate copies between a folder and a postgresql:// URL (one of each)');
  const pgs: PgStore[] = [];
  try {
    let source: PopulationStore;
    let files: Map<string, unknown>;
    if (isStoreUrl(from)) {
      const s = await PgStore.open(from);
      pgs.push(s);
      source = s;
      files = await s.files();
    } else {
      if (!existsSync(join(from, 'experiment.json'))) throw new EvonasError('ERR_INPUT', `${from}: no experiment here (no experiment.json)`);
      source = new FileStore(from);
      files = experimentFiles(from);
    }
    if (!files.has('experiment.json')) throw new EvonasError('ERR_INPUT', `${isStoreUrl(from) ? pgs[0]!.url.redacted : from}: no experiment there (no experiment.json)`);
    const all = await source.list();
    const fromCheck = await source.check();
    log(`${all.length} individuals (${fromCheck.alive} alive) and ${files.size} files to copy`);
    let target: PopulationStore;
    if (isStoreUrl(to)) {
      const t = await PgStore.open(to);
      pgs.push(t);
      if (!(await t.empty())) throw new EvonasError('ERR_INPUT', `${t.url.redacted}: schema ${t.url.schema} holds an experiment already; name an empty one (?schema=...)`);
      await t.importExperiment(files, withWeights(source, all));
      target = t;
    } else {
      if (existsSync(to) && readdirSync(to).length > 0) throw new EvonasError('ERR_INPUT', `${to}: not empty; name a new folder`);
      const stage = `${to}.partial-${process.pid}`;
      rmSync(stage, { recursive: true, force: true });
      try {
        for (const [rel, value] of files) {
          mkdirSync(dirname(join(stage, rel)), { recursive: true });
          writeFileAtomic(join(stage, rel), `${JSON.stringify(value, null, 2)}\n`);
        }
        const staged = new FileStore(stage);
        for await (const { individual, weights } of withWeights(source, all)) await staged.restore(individual, weights);
        if (existsSync(to)) rmSync(to, { recursive: true }); // empty, checked above
        renameSync(stage, to);
      } catch (e) {
        rmSync(stage, { recursive: true, force: true });
        throw e;
      }
      target = new FileStore(to);
    }
    const toCheck = await target.check();
    const copied = await target.list();
    const same = copied.length === all.length && copied.every((c, k) => c.id === all[k]!.id && c.state === all[k]!.state && c.fitness === all[k]!.fitness);
    if (!same || toCheck.problems.length)
      throw new EvonasError('ERR_STORE', `the copy differs from its source (${copied.length} of ${all.length} individuals; ${toCheck.problems.join('; ') || 'states or fitness differ'})`);
    return { individuals: all.length, files: files.size, from: fromCheck, to: toCheck };
  } finally {
    for (const s of pgs) await s.close();
  }
}
