/**
 * A population store by its location: a folder (the filesystem store) or a
 * postgresql:// URL (the PostgreSQL store).
 */
import { FileStore } from './fs-store.js';
import { isStoreUrl, PgStore } from './pg-store.js';
import type { PopulationStore } from './types.js';

/** Opens the store at `location`; close it with closeStore when done (a PostgreSQL store holds connections). */
export async function openStore(location: string): Promise<PopulationStore> {
  return isStoreUrl(location) ? PgStore.open(location) : new FileStore(location);
}

export async function closeStore(store: PopulationStore): Promise<void> {
  if (store instanceof PgStore) await store.close();
}
