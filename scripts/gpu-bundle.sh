#!/usr/bin/env bash
# Packs, into .gpu/ (git ignores it), what scripts/gpu-check.sh needs on a
# machine that has an NVIDIA GPU and PyTorch 2 but no Node, so that the
# checkout and .gpu/ are all that travel (the device tool: carry [".gpu"]):
#   node.xz            this machine's node binary (x86-64 Linux)
#   nodedir/           Node's N-API headers and gyp files, for node-gyp
#   npm.tar.xz         npm, for its node-gyp
#   modules.tar.xz     the production dependencies (npm ci --omit=dev), less
#                      onnxruntime-node (288 MB; export and predict are not
#                      what a GPU check is for)
#   dist.tar.xz        the compiled TypeScript, tests and benches included
#   cifar10-small.tar.xz  a CIFAR-10 cache: 500 training images per class
#                      (50 of them held out for validation), 100 test images
#                      per class, imported from <cifar10 source>
# usage: bash scripts/gpu-bundle.sh <cifar10 source: a .tar.gz or folder of cifar10/<split>/<class>/NNNN.jpg>
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bash scripts/gpu-bundle.sh <cifar10 source: .tar.gz or folder of cifar10/<split>/<class>/NNNN.jpg>" >&2; exit 2; }
src=$(realpath "$1")
cd "$(dirname "$0")/.."
root=$PWD
[ -e "$src" ] || { echo "gpu-bundle: $src does not exist" >&2; exit 2; }
[ -f dist/src/cli/main.js ] || { echo "gpu-bundle: build first (npm run build)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf .gpu.new && mkdir -p .gpu.new/nodedir/include/node

echo "gpu-bundle: node $(node --version)"
xz -T0 -6 -c "$(command -v node)" > .gpu.new/node.xz
headers=$(dirname "$(command -v node)")/../include/node
[ -f "$headers/node_api.h" ] || headers=/usr/include/node
cp "$headers"/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h,common.gypi,config.gypi} .gpu.new/nodedir/include/node/
# node-gyp checks the headers' version against the node that runs it.
cp "$headers"/node_version.h .gpu.new/nodedir/include/node/
npm_root=$(dirname "$(dirname "$(realpath "$(command -v npm)")")")
tar -C "$(dirname "$npm_root")" -cJf .gpu.new/npm.tar.xz "$(basename "$npm_root")"

echo "gpu-bundle: production dependencies"
cp package.json package-lock.json "$work/"
(cd "$work" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null)
rm -rf "$work"/node_modules/{onnxruntime-node,onnxruntime-common}
tar -C "$work" -cJf .gpu.new/modules.tar.xz node_modules
tar -cJf .gpu.new/dist.tar.xz dist

echo "gpu-bundle: a small CIFAR-10 cache from $src"
mkdir -p "$work/jpg"
pick=('cifar10/train/*/0[0-4][0-9][0-9].jpg' 'cifar10/test/*/00[0-9][0-9].jpg')
if [ -d "$src" ]; then
  (cd "$src" && for p in "${pick[@]}"; do compgen -G "$p"; done) | (cd "$src" && xargs cp --parents -t "$work/jpg")
else
  tar -C "$work/jpg" -xzf "$src" --wildcards "${pick[@]}"
fi
node bin/evonas data import "$work/jpg/cifar10" --out "$work/cifar10-small" --validation 500 --name cifar10-small
tar -C "$work" -cJf .gpu.new/cifar10-small.tar.xz cifar10-small
rm -rf .gpu && mv .gpu.new .gpu
du -sh .gpu/* | sed 's/^/gpu-bundle: /'
echo "gpu-bundle: $(du -sh .gpu | cut -f1) in .gpu/; on the GPU machine, from the checkout: bash scripts/gpu-check.sh"
