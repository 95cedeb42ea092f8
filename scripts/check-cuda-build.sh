#!/usr/bin/env bash
# npm run check:cuda-build: builds evonas against the CUDA 13 build of
# PyTorch 2.14.1 and checks that it compiles, links and loads on a machine
# without a GPU, and that it then refuses --device cuda because no GPU is
# visible (not because the build lacks CUDA). Outside the test suite: the
# wheels take 4.5 GB.
#
# PyTorch goes into .venv-cuda (git ignores it); the addon is built in a copy
# of the checkout, .cuda-build/, so that build/ keeps the CPU one. Safe to run
# again: the venv and the copy's build are reused.
#
# Env: EVONAS_CUDA_TORCH (default 2.14.1), CUDA_PYTHON (a Python that already
# has a CUDA torch; skips the venv).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
want=${EVONAS_CUDA_TORCH:-2.14.1}
python=${CUDA_PYTHON:-$root/.venv-cuda/bin/python}

if [ -z "${CUDA_PYTHON:-}" ]; then
  have=$("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || true)
  if [[ "$have" != "$want"+cu* ]]; then
    echo "check:cuda-build: installing PyTorch $want (CUDA) into .venv-cuda, about 4.5 GB"
    [ -x "$python" ] || python3 -m venv .venv-cuda
    export PIP_RETRIES=${PIP_RETRIES:-1}
    # Its cuda-bindings requirement (a Python binding libtorch does not use) is not to be had
    # everywhere: torch without its requirements, then the others by name.
    .venv-cuda/bin/pip install -q --disable-pip-version-check --no-deps "torch==$want"
    .venv-cuda/bin/pip install -q --disable-pip-version-check filelock typing-extensions sympy networkx jinja2 fsspec \
      'cuda-toolkit[cublas,cudart,cufft,cufile,cupti,curand,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.0.3' \
      nvidia-cudnn-cu13==9.24.0.43 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.30.7 nvidia-nvshmem-cu13==3.4.5
  fi
fi
"$python" - <<'PY' 2>/dev/null
import torch
print(f"check:cuda-build: torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, GPU visible: {torch.cuda.is_available()}")
PY
command -v nvcc >/dev/null && echo "check:cuda-build: toolkit $(nvcc --version | tail -2 | head -1)"

# The copy: tracked and unignored files, the npm dependencies shared by a link.
mkdir -p .cuda-build
# Sources are copied afresh: a file moved or deleted here must not linger there (a stale src/report/retrain.ts broke tsc).
rm -rf .cuda-build/src .cuda-build/test .cuda-build/bench .cuda-build/native
git ls-files -z --cached --others --exclude-standard | grep -zv '^\.cuda-build/' | xargs -0 cp -u --parents -t .cuda-build
ln -sfn "$root/node_modules" .cuda-build/node_modules
cd .cuda-build
echo "check:cuda-build: building in .cuda-build against $python"
LIBTORCH_USE_PYTORCH=1 PYTHON="$python" node scripts/build-native.mjs
npx tsc -p .
echo "check:cuda-build: the addon links"
ldd build/Release/evonas_native.node | grep -E 'libtorch_cuda|libc10_cuda|libcudart' | sed 's/ (0x.*//'
echo
echo '$ evonas info'
node bin/evonas info
echo
# Every CUDA check this machine allows: the build's and the machine's, the
# refusal of --device cuda, and the GPU tests, which skip with the reason.
node --test --test-concurrency=1 --test-reporter=spec dist/test/devices.test.js dist/test/engine-cuda.test.js
