/**
 * NumPy's .npy format (version 1.0): magic, a little-endian u16 header
 * length, a Python-dict header, then the raw C-order data. numpy.load reads
 * these files; evonas reads them without decoding.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export type NpyDtype = '|u1' | '<i4';
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00]);
/** Fixed header size so that a header can be written before the count is known, then rewritten. */
export const NPY_HEADER_BYTES = 128;

export function npyHeader(dtype: NpyDtype, shape: number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${dims}), }`;
  const room = NPY_HEADER_BYTES - MAGIC.length - 2 - 1; // the header ends with a newline
  if (dict.length > room) throw new RangeError(`npy header too long for shape (${dims})`);
  dict = `${dict.padEnd(room, ' ')}\n`;
  const len = Buffer.alloc(2);
  len.writeUInt16LE(dict.length);
  return Buffer.concat([MAGIC, len, Buffer.from(dict, 'latin1')]);
}

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Uint8Array | Int32Array;
}

/** Reads a .npy file written by evonas (or numpy, for |u1 and <i4 in C order). */
export function readNpy(path: string): NpyArray {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(10);
    readSync(fd, head, 0, 10, 0);
    if (!head.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw new Error(`${path}: not a .npy file (bad magic)`);
    const major = head[6]!;
    let headerLen: number;
    let offset: number;
    if (major === 1) {
      headerLen = head.readUInt16LE(8);
      offset = 10;
    } else {
      const h4 = Buffer.alloc(4);
      readSync(fd, h4, 0, 4, 8);
      headerLen = h4.readUInt32LE(0);
      offset = 12;
    }
    const hbuf = Buffer.alloc(headerLen);
    readSync(fd, hbuf, 0, headerLen, offset);
    const header = hbuf.toString('latin1');
    const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
    const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
    const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
    if (descr !== '|u1' && descr !== '<i4') throw new Error(`${path}: unsupported dtype ${descr}`);
    if (fortran !== 'False') throw new Error(`${path}: Fortran-order arrays are not supported`);
    const shape = (shapeText ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
    const count = shape.reduce((a, b) => a * b, 1);
    const bytes = count * (descr === '|u1' ? 1 : 4);
    const dataStart = offset + headerLen;
    if (size - dataStart < bytes) {
      throw new Error(`${path}: truncated: expected ${bytes} data bytes for shape (${shape}) but the file holds ${size - dataStart}`);
    }
    const buf = new ArrayBuffer(bytes);
    const view = new Uint8Array(buf);
    let done = 0;
    while (done < bytes) {
      const n = readSync(fd, view, done, Math.min(bytes - done, 1 << 26), dataStart + done);
      if (n === 0) throw new Error(`${path}: unexpected end of file`);
      done += n;
    }
    return { dtype: descr, shape, data: descr === '|u1' ? view : new Int32Array(buf) };
  } finally {
    closeSync(fd);
  }
}
