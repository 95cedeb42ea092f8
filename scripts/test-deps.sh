#!/usr/bin/env bash
# What only the tests need, installed with apt-get where missing (npm test
# runs this first, as its pretest): clang-format for the lint, chromium for
# the dashboard's browser test, postgresql for the store's tests, and slurm
# and munge for the one-node cluster's. Each test starts its own server,
# on 127.0.0.1, and stops it. Safe to run again; a no-op once installed.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
# npm test checks native/'s formatting (npm run lint).
command -v clang-format >/dev/null || missing+=(clang-format)
# The dashboard's browser test drives Debian's chromium.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The PostgreSQL store's tests start their own server (initdb, pg_ctl) from Debian's package.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The Slurm test starts a one-node cluster (munged, slurmctld, slurmd) from Debian's packages.
[ -x /usr/sbin/slurmctld ] || missing+=(slurmctld)
[ -x /usr/sbin/slurmd ] || missing+=(slurmd)
command -v sbatch >/dev/null || missing+=(slurm-client)
[ -x /usr/sbin/munged ] || missing+=(munge)
# shellcheck source=scripts/apt-missing.sh
. scripts/apt-missing.sh
apt_install_missing "evonas test-deps"
