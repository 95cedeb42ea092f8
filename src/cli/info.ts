import { availableParallelism } from 'node:os';
import { loadNative } from '../engine/native.js';
import { parse } from './args.js';

const HELP = `usage: evonas info [--json]

Shows the engine evonas trains with: libtorch's version, CPU threads, the
CPU's vector units and the one evonas's kernels use (EVONAS_ISA=baseline|avx2
caps it), which precisions run natively, and CUDA.`;

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
    precisions: {
      fp32: 'native',
      bf16: info.bf16Native ? 'native' : `refused: ${info.bf16Missing}; fp32 is the fast path on this CPU`,
      fp64: 'native (gradient checks)',
    },
    cuda: info.cuda,
    cudaDevices: info.cudaDevices,
  };
  if (args.values.json) console.log(JSON.stringify(out, null, 2));
  else {
    console.log(`libtorch     ${out.libtorch}`);
    console.log(`CPU threads  ${out.cpuThreads}`);
    console.log(`CPU units    ${units.join(' ') || 'none beyond SSE2'}`);
    console.log(`kernels      ${out.kernels}${process.env.EVONAS_ISA ? ` (EVONAS_ISA=${process.env.EVONAS_ISA})` : ''}`);
    console.log(`fp32         ${out.precisions.fp32}`);
    console.log(`bf16         ${out.precisions.bf16}`);
    console.log(`CUDA         ${out.cuda ? `yes, ${out.cudaDevices} device(s)` : 'no'}`);
  }
  return 0;
}
