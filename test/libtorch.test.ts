// Building against any libtorch: scripts/libtorch.mjs finds it from LIBTORCH,
// LIBTORCH_USE_PYTORCH=1 (a Python that imports torch) or the project's .venv,
// with the C++ ABI and CUDA the library has, and refuses a wrong one by what
// is missing, or by its version when it is older than 2.4.
// CUDA requested where the build has none is refused before anything runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { loadNative } from '../src/engine/native.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'scripts', 'libtorch.mjs');
const tmp = mkdtempSync(join(tmpdir(), 'evonas-libtorch-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A libtorch layout with empty libraries: what discovery reads, nothing it links. */
function fakeLibtorch(name: string, o: { version?: [number, number, number]; cuda?: boolean; cmakeAbi?: 0 | 1; symbols?: string; omit?: string } = {}): string {
  const dir = join(tmp, name);
  const api = join(dir, 'include', 'torch', 'csrc', 'api', 'include', 'torch');
  mkdirSync(api, { recursive: true });
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(api, 'torch.h'), '// fake\n');
  const [major, minor, patch] = o.version ?? [2, 5, 1];
  writeFileSync(join(api, 'version.h'), `#define TORCH_VERSION_MAJOR ${major}\n#define TORCH_VERSION_MINOR ${minor}\n#define TORCH_VERSION_PATCH ${patch}\n`);
  for (const lib of ['libtorch.so', 'libtorch_cpu.so', 'libc10.so', ...(o.cuda ? ['libtorch_cuda.so', 'libc10_cuda.so'] : [])]) {
    if (lib !== o.omit) writeFileSync(join(dir, 'lib', lib), lib === 'libc10.so' ? (o.symbols ?? '_ZNSt7__cxx1112basic_string') : '');
  }
  if (o.cmakeAbi !== undefined) {
    mkdirSync(join(dir, 'share', 'cmake', 'Torch'), { recursive: true });
    writeFileSync(join(dir, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), `  set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=${o.cmakeAbi}")\n`);
  }
  return dir;
}

function discover(env: Record<string, string>, what = 'json') {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIBTORCH')));
  const r = spawnSync(process.execPath, [script, what], { encoding: 'utf8', env: { ...clean, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr, json: r.status === 0 && what === 'json' ? JSON.parse(r.stdout) : undefined };
}

describe('libtorch discovery', () => {
  it('LIBTORCH: a libtorch folder, its version, ABI and CUDA, with an rpath to its lib/', () => {
    const dir = fakeLibtorch('zip', { cuda: true, cmakeAbi: 0 });
    const r = discover({ LIBTORCH: dir });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([r.json.source, r.json.root, r.json.version, r.json.cxx11abi, r.json.cuda], ['LIBTORCH', dir, '2.5.1', false, true]);
    assert.deepEqual(r.json.include, [join(dir, 'include'), join(dir, 'include', 'torch', 'csrc', 'api', 'include')]);
    const libs = discover({ LIBTORCH: dir }, 'libraries').out.trim().split(' ');
    assert.ok(libs.includes(`-Wl,-rpath,${join(dir, 'lib')}`) && libs.includes(`-L${join(dir, 'lib')}`), libs.join(' '));
    assert.ok(libs.includes('-ltorch_cuda') && libs.includes('-lc10_cuda'));
    assert.equal(discover({ LIBTORCH: dir }, 'defines').out.trim(), '_GLIBCXX_USE_CXX11_ABI=0 EVONAS_CUDA=1');
  });

  it('reads the ABI from the library when no CMake config says it; LIBTORCH_CXX11_ABI overrides', () => {
    const cxx11 = fakeLibtorch('cxx11');
    assert.equal(discover({ LIBTORCH: cxx11 }).json.cxx11abi, true);
    const old = fakeLibtorch('pre-cxx11', { symbols: '_ZNSs4_Rep', version: [2, 4, 0] });
    const r = discover({ LIBTORCH: old });
    assert.deepEqual([r.json.cxx11abi, r.json.cuda, r.json.version], [false, false, '2.4.0']);
    assert.equal(discover({ LIBTORCH: old, LIBTORCH_CXX11_ABI: '1' }).json.cxx11abi, true);
    assert.ok(!discover({ LIBTORCH: old }, 'libraries').out.includes('cuda'), 'no CUDA libraries without libtorch_cuda.so');
  });

  it('refuses a folder that is not a libtorch, naming what is missing', () => {
    const dir = fakeLibtorch('broken', { omit: 'libtorch_cpu.so' });
    const r = discover({ LIBTORCH: dir });
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`LIBTORCH points at ${dir}, which is not a libtorch .*missing ${join(dir, 'lib', 'libtorch_cpu.so')}`));
    const none = discover({ LIBTORCH: join(tmp, 'nowhere') });
    assert.equal(none.code, 1);
    assert.match(none.err, /nowhere, which is not a libtorch/);
  });

  it('LIBTORCH_USE_PYTORCH=1: asks Python where torch is and which ABI it has', () => {
    const dir = fakeLibtorch('site-packages-torch', { cmakeAbi: 1 });
    const python = join(tmp, 'python');
    writeFileSync(python, `#!/bin/sh\nprintf '%s\\n0\\n' '${dir}'\n`);
    chmodSync(python, 0o755);
    const r = discover({ LIBTORCH_USE_PYTORCH: '1', PYTHON: python });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([r.json.root, r.json.cxx11abi], [dir, false], 'the ABI torch reports wins over the CMake file');
    assert.match(r.json.source, /LIBTORCH_USE_PYTORCH/);
    const broken = join(tmp, 'python-without-torch');
    writeFileSync(broken, '#!/bin/sh\necho "ModuleNotFoundError: No module named \'torch\'" >&2\nexit 1\n');
    chmodSync(broken, 0o755);
    const e = discover({ LIBTORCH_USE_PYTORCH: '1', PYTHON: broken });
    assert.equal(e.code, 1);
    assert.match(e.err, /cannot import torch \(ModuleNotFoundError: No module named 'torch'\)/);
  });

  it('refuses a libtorch older than 2.4 by its version', () => {
    const old = fakeLibtorch('debian-1.13', { version: [1, 13, 1] });
    const r = discover({ LIBTORCH: old });
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`LIBTORCH found libtorch 1\\.13\\.1 at ${old}; evonas needs libtorch 2\\.4 or later`));
  });

  it("otherwise the project's .venv (scripts/setup.sh's PyTorch 2.13), the one this build uses", () => {
    const r = discover({});
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([r.json.source, r.json.cuda, r.json.rpath], ['project .venv', false, true]);
    assert.ok(r.json.root.startsWith(join(root, '.venv', 'lib')), r.json.root);
    assert.equal(r.json.version, loadNative().info().torchVersion, 'the headers found are the library loaded');
    assert.equal(loadNative().info().libtorchPath, join(r.json.lib, 'libtorch_cpu.so'));
  });

  it('with no libtorch chosen and no .venv, says to run setup.sh or how to choose one', () => {
    const bare = join(tmp, 'bare-checkout', 'scripts');
    mkdirSync(bare, { recursive: true });
    copyFileSync(script, join(bare, 'libtorch.mjs'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIBTORCH')));
    const r = spawnSync(process.execPath, [join(bare, 'libtorch.mjs')], { encoding: 'utf8', env: clean });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no libtorch chosen and no .*bare-checkout\/\.venv\/bin\/python/);
    assert.match(r.stderr, /bash scripts\/setup\.sh .*LIBTORCH.*LIBTORCH_USE_PYTORCH=1/s);
  });
});
