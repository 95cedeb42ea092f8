import { availableParallelism } from 'node:os';
import { loadNative } from '../engine/native.js';
import { parse } from './args.js';

const HELP = `usage: evonas info [--json]

Shows the engine evonas trains with: libtorch's version, CPU threads, CUDA.`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, { json: { type: 'boolean' } }, HELP);
  if (!args) return 0;
  const info = loadNative().info();
  const out = {
    libtorch: info.torchVersion,
    cpuThreads: availableParallelism(),
    cuda: info.cuda,
    cudaDevices: info.cudaDevices,
  };
  if (args.values.json) console.log(JSON.stringify(out, null, 2));
  else {
    console.log(`libtorch     ${out.libtorch}`);
    console.log(`CPU threads  ${out.cpuThreads}`);
    console.log(`CUDA         ${out.cuda ? `yes, ${out.cudaDevices} device(s)` : 'no'}`);
  }
  return 0;
}
