import { availableParallelism } from 'node:os';
import { gpuNames } from '../engine/devices.js';
import { builtAgainst, loadNative } from '../engine/native.js';
import { parse } from './args.js';

const HELP = `usage: evonas info [--json]

Shows the engine evonas trains with: libtorch's version and the library it
loaded (and what chose it: the project's .venv, LIBTORCH or LIBTORCH_USE_PYTORCH), CPU
threads, the CPU's vector units and the one evonas's kernels use
(EVONAS_ISA=baseline|avx2 caps it), how convolutions run on the CPU
(EVONAS_CONV=library|gemm pins one path), which precisions run natively, and CUDA:
whether the build has it, the runtime and cuDNN versions, and the GPUs.`;

/** The CUDA runtime's version number as text: 12040 is 12.4. */
export function cudaVersion(n: number): string {
  return `${Math.floor(n / 1000)}.${Math.floor((n % 1000) / 10)}`;
}

/** cuDNN's version number as text: 8902 is 8.9.2 (cuDNN 8), 90100 is 9.1.0 (cuDNN 9 has one more digit). */
export function cudnnVersion(n: number): string {
  const [major, rest] = n >= 90000 ? [Math.floor(n / 10000), n % 10000] : [Math.floor(n / 1000), n % 1000];
  return `${major}.${Math.floor(rest / 100)}.${rest % 100}`;
}

/** How the CPU runs convolutions under EVONAS_CONV (native/conv.h). */
export function convolutionPaths(env: string | undefined): string {
  if (env === undefined || env === '' || env === 'auto') return 'on the CPU, oneDNN, and one GEMM over the batch where the output has at most 16 pixels (EVONAS_CONV=library|gemm pins one path)';
  if (env === 'library') return 'on the CPU, oneDNN only (EVONAS_CONV=library)';
  if (env === 'gemm') return 'on the CPU, one GEMM over the batch wherever it runs (EVONAS_CONV=gemm)';
  return `EVONAS_CONV=${JSON.stringify(env)} is not auto, library or gemm: compiling a network will be refused`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, { json: { type: 'boolean' } }, HELP);
  if (!args) return 0;
  const info = loadNative().info();
  const units = Object.entries(info.cpu)
    .filter(([, has]) => has)
    .map(([name]) => name);
  const out = {
    libtorch: info.torchVersion,
    cpuThreads: availableParallelism(),
    cpu: info.cpu,
    kernels: info.kernelIsa,
    convolutions: convolutionPaths(process.env.EVONAS_CONV),
    precisions: {
      fp32: 'native',
      bf16: info.bf16Native ? 'native' : `refused: ${info.bf16Missing}; fp32 is the fast path on this CPU`,
      fp64: 'native (gradient checks)',
    },
    libtorchPath: info.libtorchPath,
    build: builtAgainst(),
    cudaBuilt: info.cudaBuilt,
    cuda: info.cuda,
    cudaDevices: info.cudaDevices,
    cudaRuntime: info.cudaRuntime === undefined ? null : cudaVersion(info.cudaRuntime),
    cudnn: info.cudnn === undefined ? null : cudnnVersion(info.cudnn),
    gpus: gpuNames(),
  };
  if (args.values.json) console.log(JSON.stringify(out, null, 2));
  else {
    console.log(`libtorch     ${out.libtorch} (${out.libtorchPath}${out.build ? `; chosen by ${out.build.source}` : ''})`);
    console.log(`CPU threads  ${out.cpuThreads}`);
    console.log(`CPU units    ${units.join(' ') || 'none beyond SSE2'}`);
    console.log(`kernels      ${out.kernels}${process.env.EVONAS_ISA ? ` (EVONAS_ISA=${process.env.EVONAS_ISA})` : ''}`);
    console.log(`convolutions ${out.convolutions}`);
    console.log(`fp32         ${out.precisions.fp32}`);
    console.log(`bf16         ${out.precisions.bf16}`);
    const cudaLine = !out.cudaBuilt
      ? 'not in this build (a CPU libtorch; LIBTORCH or LIBTORCH_USE_PYTORCH=1 builds against a CUDA one)'
      : `compiled in (runtime ${out.cudaRuntime ?? '-'}, cuDNN ${out.cudnn ?? '-'}); ${out.cudaDevices === 0 ? 'no GPU is visible' : `${out.cudaDevices} GPU${out.cudaDevices === 1 ? '' : 's'} visible`}`;
    console.log(`CUDA         ${cudaLine}`);
    for (const [i, g] of out.gpus.entries()) console.log(`GPU ${i}        ${g.name} (${g.memory})`);
  }
  return 0;
}
