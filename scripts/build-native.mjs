#!/usr/bin/env node
// Builds the libtorch addon with node-gyp against the libtorch that
// scripts/libtorch.mjs finds (LIBTORCH, LIBTORCH_USE_PYTORCH=1, or Debian's).
// Incremental: configure runs only when binding.gyp or the chosen libtorch
// changed, or no Makefile exists; make recompiles only changed files.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch, LibtorchError } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

let libtorch;
try {
  libtorch = findLibtorch();
} catch (e) {
  if (!(e instanceof LibtorchError)) throw e;
  console.error(`evonas: ${e.message}`);
  process.exit(1);
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return process.env.npm_config_node_gyp;
  }
  // npm ships node-gyp; find it next to the running npm.
  const candidates = [join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')];
  try {
    candidates.unshift(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not installed locally */
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    console.error('evonas: node-gyp not found; run the build through npm (npm install / npm run build).');
    process.exit(1);
  }
  return found;
}

const gyp = nodeGyp();
const extra = [];
// Build against the local Node headers; node-gyp would otherwise try to download them.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) extra.push('--nodedir=/usr');

function run(args) {
  const r = spawnSync(process.execPath, [gyp, ...args, ...extra], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`evonas: node-gyp ${args[0]} failed (exit ${r.status}).`);
    process.exit(r.status ?? 1);
  }
}

const makefile = join(root, 'build', 'Makefile');
const gypFile = join(root, 'binding.gyp');
const chosen = join(root, 'build', 'libtorch.json');
const same = existsSync(chosen) && readFileSync(chosen, 'utf8') === JSON.stringify(libtorch);
if (!same || !existsSync(makefile) || statSync(makefile).mtimeMs < statSync(gypFile).mtimeMs) {
  console.log(`evonas: building against libtorch ${libtorch.version} from ${libtorch.root} (${libtorch.source}${libtorch.cuda ? ', CUDA' : ', CPU only'})`);
  run(['configure']);
  mkdirSync(join(root, 'build'), { recursive: true });
  writeFileSync(chosen, JSON.stringify(libtorch));
}
run(['build', '--jobs', 'max']);
