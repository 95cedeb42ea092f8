/**
 * The engine's TypeScript facade: compile a NetIR into a native network,
 * move weights in and out by name, train, evaluate and predict off the
 * event loop.
 */
import { availableParallelism } from 'node:os';
import { analyze } from '../net/analyze.js';
import type { NetAnalysis } from '../net/analyze.js';
import { INPUT_ID } from '../net/ir.js';
import { OPS } from '../net/ops.js';
import type { NetIR } from '../net/ir.js';
import type { EngineDataset } from './dataset.js';
import { callSite, EngineError, fromNative } from './errors.js';
import { loadNative } from './native.js';
import type { NativeNet, NativeTensor } from './native.js';
import type { WeightMap } from './safetensors.js';

export type Precision = 'fp32' | 'bf16' | 'fp64';
export type MemoryFormat = 'channels_last' | 'contiguous';

export interface CompileOptions {
  /** Intra-op threads for this net's runs (default: all cores). */
  threads?: number;
  /** fp32; bf16 autocast (fastest on CPUs with AMX/AVX512-BF16); fp64 for gradient checks. */
  precision?: Precision;
  /** channels_last (default) is faster with oneDNN on CPU. */
  memoryFormat?: MemoryFormat;
  /** Seeds initial weights: a tensor's values depend only on this and its name. */
  seed?: number;
  /** `cpu` (default) or `cuda[:n]` when libtorch has CUDA. */
  device?: string;
}

export interface TrainOptions {
  data: EngineDataset;
  steps: number;
  batchSize?: number;
  learningRate: number;
  momentum?: number;
  weightDecay?: number;
  /** Pad 4 + random crop + horizontal flip (He et al.); default true. */
  augment?: boolean;
  /** Seeds batch order, augmentation and dropout (default: the compile seed). */
  seed?: number;
  /**
   * Steps of this schedule (same seed and batch size) run before: the batch
   * order resumes there, so a schedule run in chunks sees every image once per
   * epoch (each epoch one permutation, drawn from the seed and its number).
   */
  startStep?: number;
  onProgress?: (p: TrainProgress) => void;
  /** Steps between progress reports (default 100). */
  progressEvery?: number;
  /** Stops after the current step; the result says `cancelled`. */
  signal?: AbortSignal;
}

export interface TrainProgress {
  step: number;
  /** Mean training loss and batch accuracy since the previous report. */
  loss: number;
  accuracy: number;
}

export interface TrainResult {
  /** False when the loss became NaN or infinite; `failure` says when. */
  ok: boolean;
  failure?: string;
  steps: number;
  loss: number;
  accuracy: number;
  seconds: number;
  cancelled: boolean;
}

export interface EvalResult {
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  count: number;
}

export interface SetWeightsResult {
  loaded: string[];
  /** Given tensors not loaded: no tensor of that name, or a different shape. */
  skipped: { name: string; reason: 'missing' | 'shape' }[];
}

function checkInt(v: unknown, name: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`Expected an integer >= ${min} for ${name} but received ${JSON.stringify(v)}`);
  }
  return v;
}

function checkNumber(v: unknown, name: string, min: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new RangeError(`Expected a finite number >= ${min} for ${name} but received ${JSON.stringify(v)}`);
  }
  return v;
}

/** The checked object the addon builds a network from: each node's `fields` come from its op's entry in the op table, and the addon reads them by name (native/ops.cc binds them). */
function nativeSpec(ir: NetIR, a: NetAnalysis): unknown {
  const index = new Map<string, number>([[INPUT_ID, 0]]);
  const shapeOf = (v: number) => (v === 0 ? a.input : a.shapes[v - 1]!);
  const nodes = ir.nodes.map((node, i) => {
    index.set(node.id, i + 1);
    const inputs = node.inputs.map((id) => index.get(id)!);
    const out = a.shapes[i]!;
    return {
      id: node.id,
      op: node.op,
      inputs,
      c: out.kind === 'flat' ? out.features : out.c,
      h: out.kind === 'flat' ? 0 : out.h,
      w: out.kind === 'flat' ? 0 : out.w,
      fields: OPS[node.op].native(node, inputs.map(shapeOf)),
    };
  });
  return { input: { c: a.input.c, h: a.input.h, w: a.input.w }, classes: ir.classes, nodes };
}

/** A compiled network. Owns native memory: call dispose() when done. */
export class Net {
  readonly analysis: NetAnalysis;
  private native: NativeNet | undefined;
  private running = 0;

  /** @internal use compile() */
  constructor(
    readonly ir: NetIR,
    readonly options: Required<Omit<CompileOptions, 'device'>> & { device: string },
  ) {
    this.analysis = analyze(ir);
    const Native = loadNative().Net;
    try {
      this.native = new Native(nativeSpec(ir, this.analysis), {
        threads: options.threads,
        precision: options.precision,
        channelsLast: options.memoryFormat === 'channels_last',
        seed: options.seed,
        device: options.device,
      });
    } catch (e) {
      throw fromNative(e, callSite());
    }
  }

  private live(): NativeNet {
    if (!this.native) throw new EngineError('ERR_ENGINE_DISPOSED', 'net used after dispose()');
    return this.native;
  }

  private idle(): NativeNet {
    const n = this.live();
    if (this.running > 0) throw new EngineError('ERR_ENGINE_BUSY', 'net is busy with another run; await it first');
    return n;
  }

  private checkData(data: EngineDataset, labels: boolean): void {
    const inp = this.ir.input;
    if (data.height !== inp.height || data.width !== inp.width || data.channels !== inp.channels) {
      throw new RangeError(`Expected images of ${inp.height}x${inp.width}x${inp.channels} for this net but received ${data.height}x${data.width}x${data.channels}`);
    }
    if (labels && data.maxLabel >= this.ir.classes) {
      throw new RangeError(`Expected labels below ${this.ir.classes} for this net but the dataset holds label ${data.maxLabel}`);
    }
  }

  private async run<T>(start: (n: NativeNet) => Promise<T>): Promise<T> {
    const site = callSite();
    const n = this.idle();
    this.running++;
    try {
      return await start(n);
    } catch (e) {
      throw e instanceof EngineError || e instanceof RangeError ? e : fromNative(e, site);
    } finally {
      this.running--;
    }
  }

  /**
   * Loads tensors whose name and shape match this net's; reports the rest.
   * @throws {EngineError} after dispose() or while a run is in flight.
   */
  setWeights(weights: WeightMap): SetWeightsResult {
    const list: NativeTensor[] = [];
    for (const [name, t] of weights) list.push({ name, shape: t.shape, data: t.data });
    try {
      return this.idle().setWeights(list);
    } catch (e) {
      throw e instanceof EngineError ? e : fromNative(e, callSite());
    }
  }

  /** Every tensor (parameters, then batch-norm running statistics), by name. */
  weights(): WeightMap {
    const out: WeightMap = new Map();
    for (const t of this.idle().weights()) out.set(t.name, { shape: t.shape, data: t.data });
    return out;
  }

  /**
   * Trains for `steps` SGD steps on augmented batches, natively, off the event loop.
   * A NaN or infinite loss ends the run with `ok: false`; it does not throw.
   * @throws {RangeError} for bad options or labels out of range.
   */
  async train(o: TrainOptions): Promise<TrainResult> {
    const spec = {
      steps: checkInt(o.steps, 'steps', 0),
      batchSize: checkInt(o.batchSize ?? 50, 'batchSize', 1),
      learningRate: checkNumber(o.learningRate, 'learningRate', 0),
      momentum: checkNumber(o.momentum ?? 0.9, 'momentum', 0),
      weightDecay: checkNumber(o.weightDecay ?? 1e-4, 'weightDecay', 0),
      augment: o.augment ?? true,
      pad: 4,
      seed: checkInt(o.seed ?? this.options.seed, 'seed', 0),
      startStep: checkInt(o.startStep ?? 0, 'startStep', 0),
      progressEvery: o.onProgress ? checkInt(o.progressEvery ?? 100, 'progressEvery', 1) : 0,
    };
    this.checkData(o.data, true);
    if (o.data.count === 0) throw new RangeError('Expected a non-empty dataset for training');
    return this.run(async (n) => {
      const cancel = () => n.cancel();
      if (o.signal?.aborted) n.cancel();
      o.signal?.addEventListener('abort', cancel, { once: true });
      try {
        const data = o.data.live();
        // The native run resets its cancel flag when it starts; honour an abort that came first.
        const pending = n.train(data, spec, o.onProgress);
        if (o.signal?.aborted) n.cancel();
        return await pending;
      } finally {
        o.signal?.removeEventListener('abort', cancel);
      }
    });
  }

  /** Accuracy and mean loss on unaugmented, standardized images. */
  async evaluate(data: EngineDataset, o: { batchSize?: number } = {}): Promise<EvalResult> {
    const batch = checkInt(o.batchSize ?? 500, 'batchSize', 1);
    this.checkData(data, true);
    return this.run(async (n) => {
      const r = await n.evaluate(data.live(), batch);
      return { accuracy: r.count ? r.correct / r.count : 0, loss: r.count ? r.lossSum / r.count : 0, count: r.count };
    });
  }

  /** Logits, row-major [count, classes]. */
  async predict(data: EngineDataset, o: { batchSize?: number } = {}): Promise<{ logits: Float32Array; count: number; classes: number }> {
    const batch = checkInt(o.batchSize ?? 500, 'batchSize', 1);
    this.checkData(data, false);
    return this.run(async (n) => ({ logits: await n.predict(data.live(), batch), count: data.count, classes: this.ir.classes }));
  }

  /**
   * Milliseconds to classify one image (batch 1) on this net's device and
   * threads: `warmup` passes first, then the median of `repeats` timed ones.
   * Each pass is a whole engine run (standardize, forward, copy back), as a
   * caller of predict() would see it; `one` holds the image (its content does
   * not matter).
   */
  async latency(one: EngineDataset, o: { warmup?: number; repeats?: number } = {}): Promise<number> {
    const warmup = checkInt(o.warmup ?? 3, 'warmup', 0);
    const repeats = checkInt(o.repeats ?? 15, 'repeats', 1);
    if (one.count !== 1) throw new RangeError(`Expected a dataset of one image for latency but received ${one.count}`);
    for (let k = 0; k < warmup; k++) await this.predict(one, { batchSize: 1 });
    const times: number[] = [];
    for (let k = 0; k < repeats; k++) {
      const t = performance.now();
      await this.predict(one, { batchSize: 1 });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return repeats % 2 ? times[(repeats - 1) / 2]! : (times[repeats / 2 - 1]! + times[repeats / 2]!) / 2;
  }

  /**
   * Mean loss over the whole dataset in training mode (unaugmented), and its
   * gradient for every trainable tensor. For checks and diagnostics; leaves
   * the weights and running statistics unchanged.
   */
  lossAndGradients(data: EngineDataset, seed = 0): { loss: number; grads: WeightMap } {
    this.checkData(data, true);
    const n = this.idle();
    try {
      const r = n.gradients(data.live(), seed);
      const grads: WeightMap = new Map();
      const shapes = new Map(this.analysis.tensors.map((t) => [t.name, t.shape]));
      for (const [name, g] of Object.entries(r.grads)) grads.set(name, { shape: shapes.get(name)!, data: g });
      return { loss: r.loss, grads };
    } catch (e) {
      throw e instanceof EngineError ? e : fromNative(e, callSite());
    }
  }

  get disposed(): boolean {
    return this.native === undefined;
  }

  /** Frees native memory. A run in flight is cancelled and keeps its memory until it ends. */
  dispose(): void {
    this.native?.dispose();
    this.native = undefined;
  }
}

/**
 * bf16 autocast is offered only where the CPU computes bf16 natively. Without
 * AVX512_BF16 or AMX-BF16, libtorch emulates it: on an AMD EPYC Zen 3 (AVX2)
 * bf16 training ran 5-6x slower than fp32 with libtorch 1.13 and again with
 * PyTorch 2.13 (a two-conv net: 120 against 709 images/s), and 1.13's
 * channels-last weight gradients drifted (a separable task that fp32 learns
 * to 99.8% evaluated at 61%).
 * @throws {EngineError} ERR_ENGINE_PRECISION naming what is missing.
 */
export function assertBf16Native(): void {
  const info = loadNative().info();
  if (info.bf16Native) return;
  throw new EngineError(
    'ERR_ENGINE_PRECISION',
    `precision bf16 is not native here: ${info.bf16Missing}, so libtorch would emulate bf16 (slower than fp32 and less accurate); fp32 is the fast path on this CPU`,
  );
}

/**
 * Builds a NetIR on the engine.
 * @throws {NetIRError} when the NetIR is invalid (node index, op and reason).
 * @throws {EngineError} when the native side refuses it (e.g. no CUDA), or bf16 where it is not native.
 */
export function compile(ir: NetIR, options: CompileOptions = {}): Net {
  const threads = checkInt(options.threads ?? availableParallelism(), 'threads', 1);
  const precision = options.precision ?? 'fp32';
  if (!['fp32', 'bf16', 'fp64'].includes(precision)) {
    throw new RangeError(`Expected precision fp32, bf16 or fp64 but received ${JSON.stringify(precision)}`);
  }
  if (precision === 'bf16' && (options.device ?? 'cpu') === 'cpu') assertBf16Native();
  const memoryFormat = options.memoryFormat ?? 'channels_last';
  if (!['channels_last', 'contiguous'].includes(memoryFormat)) {
    throw new RangeError(`Expected memoryFormat channels_last or contiguous but received ${JSON.stringify(memoryFormat)}`);
  }
  const seed = checkInt(options.seed ?? 0, 'seed', 0);
  return new Net(ir, { threads, precision, memoryFormat, seed, device: options.device ?? 'cpu' });
}
