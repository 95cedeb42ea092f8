import { EngineError } from './errors.js';
import { loadNative } from './native.js';
import type { NativeDataset } from './native.js';

export interface DatasetInput {
  /** uint8 pixels, NHWC. */
  images: Uint8Array;
  /** One class index per image. */
  labels: Int32Array | Uint8Array | Uint16Array | number[];
  height: number;
  width: number;
  channels: number;
  /**
   * Per-channel standardization, in units of pixel/255. Give the training
   * split's statistics for validation and test data; computed from these
   * images when absent.
   */
  mean?: number[];
  std?: number[];
}

/**
 * Images and labels held once in native memory, ready for any number of
 * training and evaluation runs.
 */
export class EngineDataset {
  /** @internal */
  readonly native: NativeDataset;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly mean: number[];
  readonly std: number[];
  /** Largest label present (-1 when empty). */
  readonly maxLabel: number;
  private disposed = false;

  /** @throws {RangeError|TypeError} on inconsistent sizes or bad labels. */
  constructor(d: DatasetInput) {
    const { height: h, width: w, channels: c } = d;
    for (const [k, v] of Object.entries({ height: h, width: w, channels: c })) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`Expected a positive integer for ${k} but received ${v}`);
    }
    if (!(d.images instanceof Uint8Array)) throw new TypeError('Expected a Uint8Array for images');
    const per = h * w * c;
    if (d.images.length % per !== 0) {
      throw new RangeError(`Expected images to hold a whole number of ${h}x${w}x${c} images but received ${d.images.length} bytes`);
    }
    const n = d.images.length / per;
    if (d.labels.length !== n) throw new RangeError(`Expected ${n} labels for ${n} images but received ${d.labels.length}`);
    const labels = d.labels instanceof Int32Array ? d.labels : Int32Array.from(d.labels);
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (!Number.isInteger(l) || l < 0) throw new RangeError(`Expected a non-negative class index for labels[${i}] but received ${l}`);
    }
    let stats: [Float64Array, Float64Array] | [] = [];
    if (d.mean || d.std) {
      if (d.mean?.length !== c || d.std?.length !== c) throw new RangeError(`Expected mean and std with ${c} values each`);
      if (d.std.some((s) => !(s > 0))) throw new RangeError(`Expected positive std values but received [${d.std}]`);
      stats = [Float64Array.from(d.mean), Float64Array.from(d.std)];
    }
    const Native = loadNative().Dataset;
    this.native = new Native(d.images, labels, n, h, w, c, ...stats);
    this.count = n;
    this.height = h;
    this.width = w;
    this.channels = c;
    this.mean = this.native.mean;
    this.std = this.native.std;
    this.maxLabel = this.native.maxLabel;
  }

  /** @internal @throws {EngineError} after dispose(). */
  live(): NativeDataset {
    if (this.disposed) throw new EngineError('ERR_ENGINE_DISPOSED', 'dataset used after dispose()');
    return this.native;
  }

  /** Frees the native copy; runs in flight keep theirs until they end. */
  dispose(): void {
    if (!this.disposed) this.native.dispose();
    this.disposed = true;
  }
}

/** Hands images and labels to the engine once. */
export function createDataset(d: DatasetInput): EngineDataset {
  return new EngineDataset(d);
}
