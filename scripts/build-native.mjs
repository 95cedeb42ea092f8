#!/usr/bin/env node
// Builds the libtorch addon with node-gyp. Incremental: configure runs only when
// binding.gyp changed or no Makefile exists, and make recompiles only changed files.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const torchHeader = '/usr/include/torch/csrc/api/include/torch/torch.h';

if (!existsSync(torchHeader)) {
  console.error(
    `evonas: libtorch headers not found (${torchHeader}).\n` +
      "Install Debian's libtorch with:  apt-get update && apt-get install -y libtorch-dev\n" +
      '(or run scripts/setup.sh, which does that and then builds).',
  );
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
if (!existsSync(makefile) || statSync(makefile).mtimeMs < statSync(gypFile).mtimeMs) run(['configure']);
run(['build', '--jobs', 'max']);
