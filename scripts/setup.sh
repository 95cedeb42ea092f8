#!/usr/bin/env bash
# Sets evonas up on a fresh Debian machine for the main job: PyTorch 2 (the
# libtorch the engine builds against), a font for the report's charts, the
# npm dependencies, the native addon and the TypeScript build. What only the
# tests need (PostgreSQL, Slurm, Chromium, clang-format) is installed by
# scripts/test-deps.sh, which npm test runs first. Safe to run again.
#
# libtorch, where a user has it (scripts/libtorch.mjs reads the same):
#   LIBTORCH=/path/to/libtorch            a libtorch folder (a zip's, or a PyTorch install's torch/)
#   LIBTORCH_USE_PYTORCH=1 [PYTHON=...]   the PyTorch that Python imports
#   neither                               .venv here, with torch==$EVONAS_TORCH (2.13.0) from pip;
#                                         TORCH_PIP_ARGS picks the wheel, e.g.
#                                         '--index-url https://download.pytorch.org/whl/cpu' (or .../cu130);
#                                         remove .venv to switch wheels
set -euo pipefail
# onnxruntime-node ships its CPU binary; the extra download its install step attempts fails offline.
export ONNXRUNTIME_NODE_INSTALL=skip
cd "$(dirname "$0")/.."

missing=()
own_torch=0
[ -n "${LIBTORCH:-}" ] || [ "${LIBTORCH_USE_PYTORCH:-}" = 1 ] || own_torch=1
# The project's PyTorch lives in a virtual environment, which Debian's python3 makes with python3-venv.
if [ $own_torch = 1 ] && ! python3 -c 'import ensurepip, venv' 2>/dev/null; then missing+=(python3 python3-venv); fi
# node-gyp compiles the native addon.
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
# The report's charts are rendered to PNG with a font.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
# shellcheck source=scripts/apt-missing.sh
. scripts/apt-missing.sh
apt_install_missing "evonas setup"

if [ $own_torch = 1 ]; then
  want=${EVONAS_TORCH:-2.13.0}
  have=$(.venv/bin/python -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
  if [ "$have" != "$want" ]; then
    echo "evonas setup: installing PyTorch $want into .venv (pip install torch==$want ${TORCH_PIP_ARGS:-})"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # One retry: where the default index cannot be reached, pip's five, with back-off, cost minutes per package.
    # shellcheck disable=SC2086
    PIP_RETRIES=${PIP_RETRIES:-1} .venv/bin/pip install -q --disable-pip-version-check "torch==$want" ${TORCH_PIP_ARGS:-}
  fi
  echo "evonas setup: PyTorch $(.venv/bin/python -c 'import torch; print(torch.__version__)' 2>/dev/null) in .venv"
elif [ -n "${LIBTORCH:-}" ]; then
  echo "evonas setup: libtorch from LIBTORCH=$LIBTORCH"
else
  echo "evonas setup: libtorch from the PyTorch that ${PYTHON:-python3} imports (LIBTORCH_USE_PYTORCH=1)"
fi

npm ci --no-audit --no-fund
npm run build
