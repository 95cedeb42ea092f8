import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file so that a reader sees either the old content or the new one,
 * never a half: temporary name in the same folder, flushed, then renamed.
 */
export function writeFileAtomic(path: string, chunks: Uint8Array | string | (Uint8Array | string)[]): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const fd = openSync(tmp, 'wx');
  try {
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) {
      const buf = typeof c === 'string' ? Buffer.from(c) : c;
      let off = 0;
      while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Creates `path` with `text`, complete, unless it exists: a temporary file is
 * written whole and hard-linked into place, which fails for all but one of
 * any number of concurrent callers, on hosts sharing the folder too.
 * @returns whether this call created it.
 */
export function createFileExclusive(path: string, text: string): boolean {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  writeFileAtomic(tmp, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}
