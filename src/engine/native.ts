/**
 * Loads the libtorch addon, or says exactly what is missing and how to fix it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineError } from './errors.js';

export interface NativeTrainSpec {
  steps: number;
  batchSize: number;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  augment: boolean;
  pad: number;
  seed: number;
  startStep: number;
  progressEvery: number;
}

export interface NativeTensor {
  name: string;
  shape: number[];
  data: Float32Array | Float64Array;
}

export interface NativeDataset {
  readonly mean: number[];
  readonly std: number[];
  readonly count: number;
  readonly maxLabel: number;
  dispose(): void;
}

export interface NativeNet {
  train(
    data: NativeDataset,
    spec: NativeTrainSpec,
    onProgress?: (p: { step: number; loss: number; accuracy: number }) => void,
  ): Promise<{ ok: boolean; failure?: string; steps: number; loss: number; accuracy: number; seconds: number; cancelled: boolean }>;
  evaluate(data: NativeDataset, batchSize: number): Promise<{ count: number; correct: number; lossSum: number }>;
  predict(data: NativeDataset, batchSize: number): Promise<Float32Array>;
  gradients(data: NativeDataset, seed: number): { loss: number; grads: Record<string, Float32Array | Float64Array> };
  weights(): NativeTensor[];
  setWeights(list: NativeTensor[]): { loaded: string[]; skipped: { name: string; reason: 'missing' | 'shape' }[] };
  cancel(): void;
  dispose(): void;
  readonly active: number;
}

export interface NativeAddon {
  Dataset: new (images: Uint8Array, labels: Int32Array, n: number, h: number, w: number, c: number, mean?: Float64Array, std?: Float64Array) => NativeDataset;
  Net: new (spec: unknown, options: unknown) => NativeNet;
  info(): NativeInfo;
  /** Seconds for `iterations` fused batch norm + residual + ReLU passes with one vector unit's kernels (bench/kernels). */
  timeKernels(isa: KernelIsa, channels: number, rows: number, iterations: number): number;
  /** Seconds per forward + backward of a [n, c, h, h] fp32 convolution into k channels on one path (bench/conv). */
  timeConvolution(path: 'library' | 'gemm', n: number, c: number, h: number, k: number, kernel: number, stride: number, threads: number, iterations: number): number;
}

/** The vector units evonas's own kernels are built for, narrowest first. */
export const KERNEL_ISAS = ['baseline', 'avx2', 'avx512'] as const;
export type KernelIsa = (typeof KERNEL_ISAS)[number];

export interface NativeInfo {
  torchVersion: string;
  /** The libtorch library this process loaded (the build's choice). */
  libtorchPath: string;
  /** Whether the build's libtorch has CUDA (libtorch_cuda). */
  cudaBuilt: boolean;
  /** Whether a CUDA device is usable now. */
  cuda: boolean;
  /** CUDA runtime and cuDNN versions as libtorch reports them (e.g. 12040, 90100), where it has them. */
  cudaRuntime?: number;
  cudnn?: number;
  cudaDevices: number;
  parallel: string;
  cpu: { avx2: boolean; fma: boolean; avx512: boolean; avx512bf16: boolean; amxbf16: boolean };
  /** The vector unit evonas's kernels use: the widest this CPU has, capped by EVONAS_ISA. */
  kernelIsa: KernelIsa;
  /** Whether bf16 runs on native instructions (AVX512_BF16 or AMX-BF16, not capped by ONEDNN_MAX_CPU_ISA or EVONAS_ISA). */
  bf16Native: boolean;
  /** Why it does not ('' when it does). */
  bf16Missing: string;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ADDON_PATH = join(root, 'build', 'Release', 'evonas_native.node');

/** What the build recorded of the libtorch it chose (scripts/libtorch.mjs's json, in build/libtorch.json). */
export interface BuiltAgainst {
  /** What chose it: "project .venv", "LIBTORCH" or "LIBTORCH_USE_PYTORCH (python)". */
  source: string;
  /** The libtorch folder (a PyTorch install's torch/ folder, or a libtorch zip's). */
  root: string;
  version: string;
  cuda: boolean;
  /** The Python whose torch it is, where a Python chose it. */
  python?: string;
}

/** The libtorch this addon was built against, or null where the build left no record. */
export function builtAgainst(): BuiltAgainst | null {
  const file = join(ADDON_PATH, '..', '..', 'libtorch.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BuiltAgainst) : null;
}

let cached: NativeAddon | undefined;

/** @throws {EngineError} ERR_ENGINE_LOAD with the possible solutions. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const isa = process.env.EVONAS_ISA;
  if (isa !== undefined && isa !== '' && isa !== 'auto' && !(KERNEL_ISAS as readonly string[]).includes(isa)) {
    throw new EngineError('ERR_ENGINE_LOAD', `EVONAS_ISA: expected auto, ${KERNEL_ISAS.join(', ')} but found ${JSON.stringify(isa)}`);
  }
  const require = createRequire(import.meta.url);
  try {
    cached = require(ADDON_PATH) as NativeAddon;
    return cached;
  } catch (e) {
    const reason = (e as Error).message;
    const hints: string[] = [];
    if (!existsSync(ADDON_PATH)) hints.push(`The addon is not built (${ADDON_PATH} is missing): run  npm run build`);
    if (/libtorch|libc10/.test(reason)) {
      hints.push('The libtorch it was built against is gone (a removed .venv or PyTorch): run  bash scripts/setup.sh  (or rebuild with LIBTORCH=... / LIBTORCH_USE_PYTORCH=1 npm run build)');
    }
    if (hints.length === 0) hints.push('Rebuild the addon for this Node version: run  npm rebuild');
    throw new EngineError('ERR_ENGINE_LOAD', `Could not load the evonas engine: ${reason}\nPossible solutions:\n${hints.map((h) => `- ${h}`).join('\n')}`);
  }
}
