#!/usr/bin/env bash
# Sets evonas up on a fresh Debian machine: Debian's libtorch (and chromium,
# for the browser tests), the npm dependencies, the native addon and the
# TypeScript build. Safe to run again.
set -euo pipefail
# onnxruntime-node ships its CPU binary; the extra download its install step attempts fails offline.
export ONNXRUNTIME_NODE_INSTALL=skip
cd "$(dirname "$0")/.."

missing=()
[ -f /usr/include/torch/csrc/api/include/torch/torch.h ] || missing+=(libtorch-dev)
# The dashboard's browser test drives Debian's chromium; its charts' PNGs need a font.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "evonas setup: installing ${missing[*]} with apt-get"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
