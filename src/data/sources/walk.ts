/**
 * Visits every file of a source (a folder, or a .tar / .tar.gz archive read
 * as a stream) in a stable order, hashing the source as it goes. Each file
 * arrives whole; no more than one archive entry is held in memory at a time.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Parser } from 'tar';
import type { ReadEntry } from 'tar';
import { DatasetError } from '../manifest.js';

export interface SourceEntry {
  /** Path inside the source, with / separators. */
  path: string;
  /** File contents; undefined for a directory. */
  data?: Buffer;
}

export type Visit = (e: SourceEntry) => void | Promise<void>;

const ARCHIVE = /\.(tar|tar\.gz|tgz)$/i;

export function isArchive(path: string): boolean {
  return ARCHIVE.test(path);
}

/** @returns the source's sha256 (of the archive bytes, or of every file's path and contents). */
export async function walkSource(source: string, visit: Visit, onBytes?: (n: number, total: number) => void): Promise<string> {
  let st: Stats;
  try {
    st = statSync(source);
  } catch {
    throw new DatasetError('ERR_DATASET_SOURCE', `${source}: no such file or folder`);
  }
  if (st.isDirectory()) return walkFolder(source, visit, onBytes);
  if (!isArchive(source)) {
    throw new DatasetError('ERR_DATASET_SOURCE', `${source}: expected a folder or a .tar, .tar.gz or .tgz archive`);
  }
  return walkArchive(source, st.size, visit, onBytes);
}

async function walkFolder(root: string, visit: Visit, onBytes?: (n: number, total: number) => void): Promise<string> {
  const hash = createHash('sha256');
  let done = 0;
  const walk = async (dir: string): Promise<void> => {
    const names = readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .sort();
    for (const name of names) {
      const full = join(dir, name);
      const rel = relative(root, full).split(sep).join('/');
      if (statSync(full).isDirectory()) {
        await visit({ path: rel });
        await walk(full);
      } else {
        const data = readFileSync(full);
        hash.update(rel).update('\0').update(data);
        done += data.length;
        onBytes?.(done, 0);
        await visit({ path: rel, data });
      }
    }
  };
  await walk(root);
  return hash.digest('hex');
}

async function walkArchive(file: string, total: number, visit: Visit, onBytes?: (n: number, total: number) => void): Promise<string> {
  const hash = createHash('sha256');
  const ready: SourceEntry[] = [];
  let entries = 0;
  let failure: Error | undefined;
  const fail = (why: string) => {
    failure ??= new DatasetError('ERR_DATASET_CORRUPT', `${file}: corrupt or truncated archive: ${why}`);
  };
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry: ReadEntry) => {
      entries++;
      const path = entry.path.replace(/^\.\//, '').replace(/\/$/, '');
      if (entry.type === 'Directory') {
        ready.push({ path });
        entry.resume();
        return;
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile') {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        const data = Buffer.concat(chunks);
        if (data.length !== entry.size) fail(`entry ${path} ends after ${data.length} of ${entry.size} bytes`);
        else ready.push({ path, data });
      });
    },
  });
  parser.on('error', (e: Error) => fail(e.message));
  parser.on('warn', (_code: string, message: string | Error) => fail(String(message)));
  let done = 0;
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    done += chunk.length;
    onBytes?.(done, total);
    parser.write(chunk);
    if (failure) throw failure;
    while (ready.length > 0) await visit(ready.shift()!);
  }
  // node-tar parses synchronously (minizlib inflates in-line): once end()
  // returns, every entry and every error of a truncated archive is out.
  parser.end();
  await new Promise((res) => setImmediate(res));
  if (failure) throw failure;
  while (ready.length > 0) await visit(ready.shift()!);
  if (entries === 0) fail('no tar entries found');
  if (failure) throw failure;
  return hash.digest('hex');
}
