#!/usr/bin/env bash
# The main job: sets evonas up, gets CIFAR-10 into a cache (from the archive or
# folder you name, or downloaded from the official release), then trains a
# ResNet-20 baseline and reports its validation and test accuracy.
# (Evolution replaces the training step once the search exists.)
#
# usage: scripts/main-job.sh [CIFAR-10 source]      env: DATA (default data/cifar10), STEPS (4000)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

data=${DATA:-data/cifar10}
if [ ! -f "$data/manifest.json" ]; then
  if [ $# -ge 1 ]; then
    node bin/evonas data import "$1" --out "$data"
  else
    node bin/evonas data download cifar10 --out "$data"
  fi
fi
node bin/evonas data info "$data" | head -1
node bin/evonas train --data "$data" --net resnet20 --steps "${STEPS:-4000}" --test --out runs/resnet20-baseline
