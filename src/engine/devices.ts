/**
 * Devices: the names evonas takes (cpu, cuda, cuda:N), whether this build
 * and this machine can run one, and which GPU a worker gets. Checked before
 * anything is written, with the same three answers the addon gives: the
 * build has no CUDA, no GPU is visible, or the index is out of range.
 */
import { spawnSync } from 'node:child_process';
import { EvonasError } from '../util/errors.js';
import { loadNative } from './native.js';
import type { NativeInfo } from './native.js';

export const DEVICE_PATTERN = /^(cpu|cuda(:\d+)?)$/;

/** @throws {EvonasError} ERR_DEVICE saying why `device` cannot run here (the build, the machine or the index). */
export function assertDevice(device: string, info: Pick<NativeInfo, 'cudaBuilt' | 'cudaDevices' | 'libtorchPath'> = loadNative().info()): void {
  if (!DEVICE_PATTERN.test(device)) throw new EvonasError('ERR_DEVICE', `device ${device}: expected cpu, cuda or cuda:N`, ['device']);
  if (device === 'cpu') return;
  if (!info.cudaBuilt) {
    throw new EvonasError(
      'ERR_DEVICE',
      `device ${device}: this evonas was built against a libtorch without CUDA (${info.libtorchPath}); rebuild it against a CUDA libtorch with LIBTORCH=/path/to/libtorch or LIBTORCH_USE_PYTORCH=1 (see the README)`,
      ['device'],
    );
  }
  if (info.cudaDevices === 0) {
    const visible = process.env.CUDA_VISIBLE_DEVICES;
    throw new EvonasError('ERR_DEVICE', `device ${device}: no CUDA device is visible${visible !== undefined ? ` (CUDA_VISIBLE_DEVICES=${visible})` : ''}`, ['device']);
  }
  const index = device.includes(':') ? Number(device.split(':')[1]) : 0;
  if (index >= info.cudaDevices) throw new EvonasError('ERR_DEVICE', `device ${device}: only ${info.cudaDevices} CUDA device${info.cudaDevices === 1 ? ' is' : 's are'} visible`, ['device']);
}

/**
 * The device of worker `id`: an explicit cuda:N for every worker; with
 * plain cuda, `workersPerGpu` consecutive workers per visible GPU, wrapping
 * round when there are more workers than GPUs can take.
 */
export function workerDevice(device: string, id: number, workersPerGpu: number, visibleGpus: number): string {
  if (device !== 'cuda') return device;
  return `cuda:${Math.floor(id / workersPerGpu) % Math.max(1, visibleGpus)}`;
}

/** The GPUs nvidia-smi reports (name and memory), or none where it is absent. */
export function gpuNames(): { name: string; memory: string }[] {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return [];
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, memory] = l.split(',').map((s) => s.trim());
      return { name: name!, memory: memory ?? '' };
    });
}
