#!/usr/bin/env node
// Finds the libtorch the addon builds against, the way the ecosystem does
// (tch-rs):
//   LIBTORCH=/path           a libtorch zip's folder or a PyTorch install's
//                            torch/ folder (with include/ and lib/)
//   LIBTORCH_USE_PYTORCH=1   ask Python (PYTHON, else python3) where torch is
//   neither                  the project's own .venv, into which
//                            scripts/setup.sh installs PyTorch 2.13
// libtorch 2.4 or later (native/ uses its API; 1.x is refused here, by name).
// The C++ ABI follows the library (LIBTORCH_CXX11_ABI=0|1 overrides it); CUDA
// is on when the library has libtorch_cuda.so. The rpath points at a
// non-system lib/ so the addon loads the libtorch it was built against.
//
// node scripts/libtorch.mjs json|include_dirs|defines|libraries
// (binding.gyp calls the last three; the build records json in build/).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const API = join('torch', 'csrc', 'api', 'include');

export class LibtorchError extends Error {}

function fromFolder(root, source) {
  const include = join(root, 'include');
  const lib = join(root, 'lib');
  const missing = [join(include, API, 'torch', 'torch.h'), join(lib, 'libtorch.so'), join(lib, 'libtorch_cpu.so'), join(lib, 'libc10.so')].filter((f) => !existsSync(f));
  if (missing.length) {
    throw new LibtorchError(`${source} points at ${root}, which is not a libtorch (expected include/ and lib/ with the headers and libraries): missing ${missing.join(', ')}`);
  }
  return { source, root, include: [include, join(include, API)], lib, rpath: true };
}

function fromPython(env) {
  const python = env.PYTHON || 'python3';
  const code = 'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))';
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', env });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : r.stderr.trim().split('\n').pop();
    throw new LibtorchError(`LIBTORCH_USE_PYTORCH=1 but ${python} cannot import torch (${why}); install PyTorch there, set PYTHON to a Python that has it, or set LIBTORCH instead`);
  }
  const [root, abi] = r.stdout.trim().split('\n');
  const found = fromFolder(root, `LIBTORCH_USE_PYTORCH (${python})`);
  // The Python whose torch this is: bench:engine's peer runs under it, on the same libtorch.
  return { ...found, python, cxx11abi: abi === '1' };
}

/** The project's own virtual environment (scripts/setup.sh makes it), asked like any Python. */
function projectVenv(env, root) {
  const python = join(root, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new LibtorchError(
      `no libtorch chosen and no ${python}.\n` +
        'Run  bash scripts/setup.sh  (it installs PyTorch 2.13 into .venv), or point LIBTORCH at a libtorch,\n' +
        'or set LIBTORCH_USE_PYTORCH=1 (with PYTHON=/path/to/python) to use a PyTorch you have.',
    );
  }
  const found = fromPython({ ...env, PYTHON: python });
  return { ...found, source: 'project .venv' };
}

/** The C++ ABI the library was built with: its CMake config says so; else its symbols do. */
function detectAbi(found) {
  const cmake = [join(found.root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), join(found.lib, 'cmake', 'Torch', 'TorchConfig.cmake')].find((f) => existsSync(f));
  const m = cmake && /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(readFileSync(cmake, 'utf8'));
  if (m) return m[1] === '1';
  return readFileSync(realpathSync(join(found.lib, 'libc10.so'))).includes('cxx11');
}

function version(found) {
  // torch/version.h, beside the C++ API's headers; from 2.10 or so it includes torch/headeronly/version.h.
  const files = found.include.flatMap((dir) => [join(dir, 'torch', 'version.h'), join(dir, 'torch', 'headeronly', 'version.h')]);
  const text = files
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f, 'utf8'))
    .find((t) => t.includes('#define TORCH_VERSION_MAJOR'));
  if (!text) return 'unknown';
  const part = (k) => new RegExp(`#define TORCH_VERSION_${k} (\\d+)`).exec(text)?.[1] ?? '?';
  return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
}

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The libtorch to build against, from the environment. @throws {LibtorchError} naming what is missing. */
export function findLibtorch(env = process.env, root = PROJECT) {
  let found;
  if (env.LIBTORCH) found = fromFolder(resolve(env.LIBTORCH), 'LIBTORCH');
  else if (env.LIBTORCH_USE_PYTORCH === '1') found = fromPython(env);
  else found = projectVenv(env, root);
  const cxx11abi = env.LIBTORCH_CXX11_ABI === '0' ? false : env.LIBTORCH_CXX11_ABI === '1' ? true : (found.cxx11abi ?? detectAbi(found));
  const cuda = existsSync(join(found.lib, 'libtorch_cuda.so'));
  const v = version(found);
  const [major, minor] = v.split('.').map(Number);
  if (!(major > 2 || (major === 2 && minor >= 4))) {
    throw new LibtorchError(`${found.source} found libtorch ${v} at ${found.root}; evonas needs libtorch 2.4 or later (scripts/setup.sh installs PyTorch 2.13 into .venv)`);
  }
  return { ...found, cxx11abi, cuda, version: v };
}

export function gypValues(t, what) {
  switch (what) {
    case 'include_dirs':
      return t.include;
    case 'defines':
      return [`_GLIBCXX_USE_CXX11_ABI=${t.cxx11abi ? 1 : 0}`, `EVONAS_CUDA=${t.cuda ? 1 : 0}`];
    case 'libraries':
      return [...(t.rpath ? [`-L${t.lib}`, `-Wl,-rpath,${t.lib}`] : []), '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10', ...(t.cuda ? ['-ltorch_cuda', '-lc10_cuda'] : []), '-Wl,--as-needed'];
    default:
      throw new LibtorchError(`expected json, include_dirs, defines or libraries but found "${what}"`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const t = findLibtorch();
    const what = process.argv[2] ?? 'json';
    // gyp splits <!@(...) output on whitespace; paths with spaces are not supported.
    console.log(what === 'json' ? JSON.stringify(t, null, 2) : gypValues(t, what).join(' '));
  } catch (e) {
    console.error(`evonas: ${e.message}`);
    process.exit(1);
  }
}
