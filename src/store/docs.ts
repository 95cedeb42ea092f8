/**
 * An experiment's small documents beside its population, by relative path:
 * experiment.json (its settings), run.json (start and deadline),
 * events/stagnation-<n>.json, workers/<name>.json (each worker's time
 * split and heartbeat). In a folder they are files; in PostgreSQL, rows of
 * the schema's meta table under the same paths, so that `store migrate`
 * copies one into the other unchanged.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EvonasError } from '../util/errors.js';
import { createFileExclusive, writeFileAtomic } from '../util/fs.js';

export interface ExperimentDocs {
  /** The document at `path`, or undefined when there is none. */
  read<T>(path: string): Promise<T | undefined>;
  /** Writes (or replaces) the document at `path` whole. */
  write(path: string, value: unknown): Promise<void>;
  /** Writes the document at `path` unless one exists. @returns whether this call created it. */
  create(path: string, value: unknown): Promise<boolean>;
  /** The documents directly under the folder `prefix` (no trailing slash), in path order. */
  list<T>(prefix: string): Promise<T[]>;
  /** The names (last path part) of the documents directly under `prefix`, in order. */
  names(prefix: string): Promise<string[]>;
}

/** The documents of the experiment folder `dir`, as JSON files. */
export class FolderDocs implements ExperimentDocs {
  constructor(readonly dir: string) {}

  async read<T>(path: string): Promise<T | undefined> {
    const p = join(this.dir, path);
    if (!existsSync(p)) return undefined;
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as T;
    } catch (e) {
      throw new EvonasError('ERR_INPUT', `${p}: ${(e as Error).message}`, [p]);
    }
  }

  async write(path: string, value: unknown): Promise<void> {
    const p = join(this.dir, path);
    mkdirSync(dirname(p), { recursive: true });
    writeFileAtomic(p, `${JSON.stringify(value, null, 2)}\n`);
  }

  async create(path: string, value: unknown): Promise<boolean> {
    const p = join(this.dir, path);
    mkdirSync(dirname(p), { recursive: true });
    return createFileExclusive(p, `${JSON.stringify(value, null, 2)}\n`);
  }

  async list<T>(prefix: string): Promise<T[]> {
    const out: T[] = [];
    for (const f of await this.names(prefix)) out.push((await this.read<T>(join(prefix, f)))!);
    return out;
  }

  async names(prefix: string): Promise<string[]> {
    const d = join(this.dir, prefix);
    if (!existsSync(d)) return [];
    return readdirSync(d, { withFileTypes: true })
      .filter((f) => f.isFile() && f.name.endsWith('.json') && !f.name.startsWith('.'))
      .map((f) => f.name)
      .sort();
  }
}
