/** Reads an ONNX model's metadata (ModelProto field 14) without a protobuf library. */
export function readOnnxMetadata(bytes: Uint8Array, source: string): Record<string, string> {
  let pos = 0;
  const varint = (end: number): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= end) throw new Error(`${source}: not an ONNX model (truncated varint)`);
      const b = bytes[pos++]!;
      x |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
      shift += 7n;
    }
  };
  const fields = (end: number, visit: (field: number, start: number, stop: number) => void) => {
    while (pos < end) {
      const tag = Number(varint(end));
      const field = tag >> 3;
      switch (tag & 7) {
        case 0:
          varint(end);
          break;
        case 1:
          pos += 8;
          break;
        case 5:
          pos += 4;
          break;
        case 2: {
          const len = Number(varint(end));
          const start = pos;
          pos += len;
          if (pos > end) throw new Error(`${source}: not an ONNX model (field ${field} runs past the end)`);
          visit(field, start, pos);
          break;
        }
        default:
          throw new Error(`${source}: not an ONNX model (wire type ${tag & 7})`);
      }
    }
  };
  const text = new TextDecoder();
  const out: Record<string, string> = {};
  fields(bytes.length, (field, start, stop) => {
    if (field !== 14) return;
    const after = pos;
    pos = start;
    let key = '';
    let value = '';
    fields(stop, (f, s, e) => {
      if (f === 1) key = text.decode(bytes.subarray(s, e));
      if (f === 2) value = text.decode(bytes.subarray(s, e));
    });
    pos = after;
    out[key] = value;
  });
  return out;
}
