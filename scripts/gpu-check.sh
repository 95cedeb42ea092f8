#!/usr/bin/env bash
# The GPU check, on a machine with an NVIDIA GPU and PyTorch 2 under python3
# but no Node (the device machine), from the checkout with .gpu/ beside it
# (scripts/gpu-bundle.sh makes it where Node is):
#   build   unpacks Node, npm's node-gyp, the dependencies and dist/, and
#           builds the addon against python3's torch (LIBTORCH_USE_PYTORCH=1)
#   tests   evonas info; test/devices and test/engine-cuda: every op's forward
#           and backward on CUDA against the CPU, augmented training on the GPU
#   bench   bench:engine on cuda against PyTorch eager on cuda, fp32 and bf16
#   evolve  an evolution of GPU_CHECK_BUDGET (default 5m) on the small
#           CIFAR-10 cache, on the GPU, then its report (test accuracy)
# usage: bash scripts/gpu-check.sh [build] [tests] [bench] [evolve]   (default: all four)
# Stages run in that order; a later call on the same machine reuses the build.
# Everything printed also goes to $OUT/gpu-check.log when OUT is set, and the
# evolution's report to $OUT/report.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(build tests bench evolve)
for s in "${stages[@]}"; do
  case $s in build | tests | bench | evolve) ;; *) echo "gpu-check: unknown stage $s (build, tests, bench, evolve)" >&2; exit 2 ;; esac
done
want() { [[ " ${stages[*]} " == *" $1 "* ]]; }
if [ -n "${OUT:-}" ]; then exec > >(tee -a "$OUT/gpu-check.log") 2>&1; fi
python=${PYTHON:-python3}
step() { echo; echo "=== gpu-check: $* ($(date -u +%H:%M:%S))"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "gpu-check: nvidia-smi failed"
"$python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), "GPUs", torch.cuda.device_count())'
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"

[ -d .gpu ] || { echo "gpu-check: no .gpu/ here; make it with  bash scripts/gpu-bundle.sh <cifar10 source>  where Node is, and carry it" >&2; exit 2; }
mkdir -p .gpu/bin
if [ ! -x .gpu/bin/node ]; then xz -dc .gpu/node.xz > .gpu/bin/node && chmod +x .gpu/bin/node; fi
export PATH=$root/.gpu/bin:$PATH
[ -d .gpu/npm ] || tar -C .gpu -xJf .gpu/npm.tar.xz
export npm_config_node_gyp=$root/.gpu/npm/node_modules/node-gyp/bin/node-gyp.js npm_config_nodedir=$root/.gpu/nodedir
echo "node $(node --version)"

if want build; then
  step "build against $python's torch"
  [ -d node_modules ] || tar -xJf .gpu/modules.tar.xz
  [ -d dist ] || tar -xJf .gpu/dist.tar.xz
  LIBTORCH_USE_PYTORCH=1 PYTHON=$python node scripts/build-native.mjs 2>&1 | grep -v '^gyp info'
fi

if want tests; then
  step "evonas info"
  node bin/evonas info
  step "tests: devices, every op on CUDA against the CPU"
  node --test --test-concurrency=1 --test-reporter=spec dist/test/devices.test.js dist/test/engine-cuda.test.js
fi

if want bench; then
  step "bench:engine on cuda against PyTorch eager on cuda"
  BENCH_DEVICE=cuda BENCH_COMPILE=${BENCH_COMPILE:-0} BENCH_PYTHON=$python node dist/bench/engine.js
fi

if want evolve; then
  budget=${GPU_CHECK_BUDGET:-5m}
  step "a $budget evolution on the GPU (small CIFAR-10 cache)"
  [ -d .gpu/cifar10-small ] || tar -C .gpu -xJf .gpu/cifar10-small.tar.xz
  run=$(mktemp -d)/evolve
  node bin/evonas data info .gpu/cifar10-small
  node bin/evonas evolve --data .gpu/cifar10-small --out "$run" --device cuda --workers 4 --workers-per-gpu 4 --time-budget "$budget" --seed 1
  step "report"
  report=${OUT:+$OUT/report}
  node bin/evonas report "$run" ${report:+--out "$report"}
fi
step "done"
