#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need, starts the
# services they use (a real single-node Slurm cluster), runs the whole test suite in release
# mode, and stops the services again. Idempotent; run as root on a fresh machine.
#
#   ./scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

started_slurm=0
cleanup() {
  if [ "$started_slurm" = 1 ]; then ./scripts/slurm-down.sh || true; fi
}
trap cleanup EXIT

if [ -x scripts/slurm-up.sh ]; then
  if ./scripts/slurm-up.sh; then
    started_slurm=1
    export SLURM_CONF=${SLURM_CONF:-${SLURM_LOCAL_DIR:-/tmp/slurm-local}/etc/slurm.conf}
    export CRITLAB_REQUIRE_SLURM=1
  else
    echo "test.sh: could not start the local Slurm cluster; the Slurm tests will fail" >&2
    export CRITLAB_REQUIRE_SLURM=1
  fi
fi

cargo test --release --workspace "$@"
