#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need (a headless
# Chromium; a Python virtual environment with PyTorch for the Python package), starts the
# services they use (a real single-node Slurm cluster), runs the whole test suite in release
# mode (the Rust workspace, then the Python package's pytest suite, scripts/test-python.sh),
# and stops the services again. Idempotent; run as root on a fresh machine.
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

# A real headless Chromium for the browser tests of `critlab report` and `critlab serve`
# (crates/critlab-cli/tests/browser.rs): Debian's chromium-headless-shell (about 100 MB), or
# chromium where that package is missing. Under CI=true those tests fail without it.
if ! command -v chromium-headless-shell >/dev/null && ! command -v chromium >/dev/null && [ -z "${CRITLAB_CHROMIUM:-}" ]; then
  if command -v apt-get >/dev/null; then
    echo "test.sh: installing a headless Chromium for the browser tests" >&2
    apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
      || echo "test.sh: could not install Chromium; the browser tests will be skipped (or fail under CI)" >&2
  else
    echo "test.sh: no Chromium and no apt-get; the browser tests will be skipped (or fail under CI)" >&2
  fi
fi

# Disk: a clean clone's whole test run leaves 1.3 GB in target/ without incremental caches
# (measured; 8 min of build); the release profile keeps them for the edit-build loop, and they
# grow to several GB. CI builds a clean clone once and gains nothing from them: CI=true turns
# them off unless CARGO_INCREMENTAL is set. The Python venv with torch takes another 6 GB.
if [ -n "${CI:-}" ] && [ -z "${CARGO_INCREMENTAL:-}" ]; then
  export CARGO_INCREMENTAL=0
fi
free_kb=$(df -Pk . | awk 'NR == 2 { print $4 }')
echo "test.sh: $(( free_kb / 1048576 )) GiB free on the build disk" >&2
if [ "$free_kb" -lt $(( 10 * 1048576 )) ]; then
  echo "test.sh: warning: the build and the Python venv need about 10 GiB of free disk" >&2
fi

cargo test --release --workspace "$@"

# The Python package (crates/critlab-py, outside the cargo workspace) against the binary just
# built: a venv with torch from PyPI (about 6 GB and 2-3 minutes the first time).
./scripts/test-python.sh
