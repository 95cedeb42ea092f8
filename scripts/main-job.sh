#!/usr/bin/env bash
# The main job: sets evonas up, gets CIFAR-10 into a cache (from the archive or
# folder you name, or downloaded from the official release), then evolves
# image classifiers from trivial initial individuals for a time budget and
# shows the population, then writes the report (the best by validation and
# an ensemble tested once on the test split, charts, lineage) to
# <experiment>/report/. Run it again to resume the same experiment.
#
# usage: scripts/main-job.sh [CIFAR-10 source]
# env:   DATA (default data/cifar10), EXPERIMENT (default runs/evolution), BUDGET (default 20m)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

data=${DATA:-data/cifar10}
exp=${EXPERIMENT:-runs/evolution}
if [ ! -f "$data/manifest.json" ]; then
  if [ $# -ge 1 ]; then
    node bin/evonas data import "$1" --out "$data"
  else
    node bin/evonas data download cifar10 --out "$data"
  fi
fi
node bin/evonas data info "$data" | head -1
if [ -f "$exp/experiment.json" ]; then
  node bin/evonas evolve --resume "$exp" --time-budget "${BUDGET:-20m}"
else
  node bin/evonas evolve --data "$data" --out "$exp" --time-budget "${BUDGET:-20m}"
fi
node bin/evonas status "$exp"
node bin/evonas report "$exp"
