/**
 * Where an experiment lives: a folder, or a PostgreSQL schema named by a
 * URL. Either way it is the population store, the experiment's documents
 * beside it (settings, run state, events, worker reports) and leases, so
 * that a worker on any host needs only the location (and the dataset).
 */
import { join, resolve } from 'node:path';
import { asyncLeases, LeaseClaims } from './claims.js';
import { FolderDocs } from './docs.js';
import type { ExperimentDocs } from './docs.js';
import { FileStore } from './fs-store.js';
import { isStoreUrl, PgStore } from './pg-store.js';
import type { Leases, PopulationStore } from './types.js';

export interface ExperimentHome {
  /** The folder, or the URL with its password redacted: what messages name. */
  readonly name: string;
  /** The folder, when the experiment lives in one. */
  readonly dir?: string;
  /** The URL as given (password included), for the workers this process starts; never printed. */
  readonly url?: string;
  readonly store: PopulationStore;
  readonly docs: ExperimentDocs;
  readonly leases: Leases;
  /** Lets go of connections (a database's); a folder's does nothing. */
  close(): Promise<void>;
}

/** The experiment home of a folder; its store and leases make their folders on first use only, so a refused command leaves nothing behind. */
export function folderHome(dir: string): ExperimentHome {
  const d = resolve(dir);
  let store: FileStore | undefined;
  let leases: Leases | undefined;
  return {
    name: d,
    dir: d,
    get store() {
      store ??= new FileStore(d);
      return store;
    },
    docs: new FolderDocs(d),
    get leases() {
      leases ??= asyncLeases(new LeaseClaims(join(d, 'leases')));
      return leases;
    },
    close: async () => {},
  };
}

/**
 * Opens the experiment home at `location`: a postgresql:// URL (connecting,
 * and making the schema on first use) or a folder.
 * @throws {EvonasError} naming the server and what is wrong (never the password).
 */
export async function openHome(location: string): Promise<ExperimentHome> {
  if (!isStoreUrl(location)) return folderHome(location);
  const store = await PgStore.open(location);
  return { name: store.url.redacted, url: location, store, docs: store.docs, leases: store.leases, close: () => store.close() };
}

/** Runs `f` on the experiment home at `location`, closing it after. */
export async function withHome<T>(location: string, f: (home: ExperimentHome) => Promise<T>): Promise<T> {
  const home = await openHome(location);
  try {
    return await f(home);
  } finally {
    await home.close();
  }
}

/**
 * How to start a process on the experiment at `home` without putting a
 * password on its command line (where `ps` shows it): the location with the
 * password taken out, and the password in PGPASSWORD, as psql takes it.
 */
export function childLocation(home: ExperimentHome): { location: string; env: NodeJS.ProcessEnv } {
  if (!home.url) return { location: home.dir!, env: process.env };
  const u = new URL(home.url);
  if (!u.password) return { location: home.url, env: process.env };
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { location: u.toString(), env: { ...process.env, PGPASSWORD: password } };
}
