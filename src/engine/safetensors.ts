/**
 * safetensors (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape
 * and byte range, then the raw little-endian data. Readable by Python's
 * `safetensors` library.
 */
import { readFileSync } from 'node:fs';
import { EngineError } from './errors.js';
import { writeFileAtomic } from '../util/fs.js';

export interface Tensor {
  shape: number[];
  data: Float32Array | Float64Array;
}

/** Tensors by name, in a stable order. */
export type WeightMap = Map<string, Tensor>;

const DTYPES = { F32: Float32Array, F64: Float64Array } as const;
type DType = keyof typeof DTYPES;

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Serializes tensors and string metadata to safetensors bytes. */
export function encodeSafetensors(tensors: WeightMap, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new EngineError('ERR_SAFETENSORS', 'a tensor may not be called __metadata__');
    if (numel(t.shape) !== t.data.length) {
      throw new EngineError('ERR_SAFETENSORS', `tensor ${name}: shape [${t.shape}] does not match ${t.data.length} values`);
    }
    const dtype: DType = t.data instanceof Float64Array ? 'F64' : 'F32';
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    offset += bytes.byteLength;
    chunks.push(bytes);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // keeps the data 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return [head, Buffer.from(json), ...chunks];
}

/**
 * Parses safetensors bytes.
 * @throws {EngineError} ERR_SAFETENSORS naming `source` and what is wrong.
 */
export function decodeSafetensors(buf: Uint8Array, source = 'buffer'): { tensors: WeightMap; metadata: Record<string, string> } {
  const bad = (why: string): never => {
    throw new EngineError('ERR_SAFETENSORS', `${source}: not a valid safetensors file: ${why}`);
  };
  if (buf.byteLength < 8) bad(`only ${buf.byteLength} bytes`);
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(view.readBigUInt64LE(0));
  if (n > buf.byteLength - 8) bad(`header length ${n} exceeds the file (${buf.byteLength} bytes)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(view.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors: WeightMap = new Map();
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  for (const [name, raw] of entries) {
    const e = raw as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!e || !(e.dtype! in DTYPES)) bad(`tensor ${name} has unsupported dtype ${JSON.stringify(e?.dtype)} (F32 and F64 are read)`);
    if (!Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) bad(`tensor ${name} lacks shape or data_offsets`);
    const Ctor = DTYPES[e.dtype as DType];
    const [begin, end] = e.data_offsets!;
    if (!(begin <= end) || dataStart + end > buf.byteLength) bad(`tensor ${name} has byte range [${begin}, ${end}) outside the file`);
    if (end - begin !== numel(e.shape!) * Ctor.BYTES_PER_ELEMENT) bad(`tensor ${name}: byte range does not match shape [${e.shape}]`);
    // Copy: the result must not alias (or require alignment of) the file buffer.
    const bytes = new Uint8Array(end - begin);
    bytes.set(buf.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape: e.shape!, data: new Ctor(bytes.buffer) });
  }
  return { tensors, metadata };
}

/** Writes a safetensors file atomically. */
export function saveSafetensors(path: string, tensors: WeightMap, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** @throws {EngineError} ERR_SAFETENSORS when the file is not valid safetensors. */
export function loadSafetensors(path: string): { tensors: WeightMap; metadata: Record<string, string> } {
  return decodeSafetensors(readFileSync(path), path);
}
