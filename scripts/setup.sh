#!/usr/bin/env bash
# Sets evonas up on a fresh Debian machine: Debian's libtorch (chromium for
# the browser tests, clang-format for the lint, postgresql, slurm and munge
# for the store's and the cluster's tests), the npm dependencies, the native
# addon and the TypeScript build. Safe to run again.
set -euo pipefail
# onnxruntime-node ships its CPU binary; the extra download its install step attempts fails offline.
export ONNXRUNTIME_NODE_INSTALL=skip
cd "$(dirname "$0")/.."

missing=()
[ -f /usr/include/torch/csrc/api/include/torch/torch.h ] || missing+=(libtorch-dev)
# The dashboard's browser test drives Debian's chromium; its charts' PNGs need a font.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
# npm test checks native/'s formatting (npm run lint).
command -v clang-format >/dev/null || missing+=(clang-format)
# The PostgreSQL store's tests start their own server (initdb, pg_ctl) from Debian's package.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The Slurm test starts a one-node cluster (munged, slurmctld, slurmd) from Debian's packages.
[ -x /usr/sbin/slurmctld ] || missing+=(slurmctld)
[ -x /usr/sbin/slurmd ] || missing+=(slurmd)
command -v sbatch >/dev/null || missing+=(slurm-client)
[ -x /usr/sbin/munged ] || missing+=(munge)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "evonas setup: installing ${missing[*]} with apt-get"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
