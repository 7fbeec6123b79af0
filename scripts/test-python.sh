#!/usr/bin/env bash
# Tests of the Python package (crates/critlab-py): builds and installs it into a virtual
# environment with pip (maturin from PyPI), installs numpy, pandas, pytest and torch from PyPI,
# and runs its pytest suite against target/release/critlab (built first if missing).
# Idempotent; the venv is kept at $CRITLAB_PY_VENV (default /tmp/critlab-py-venv).
#
#   ./scripts/test-python.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${CRITLAB_PY_VENV:-/tmp/critlab-py-venv}
start=$(date +%s)
# The binary the tests call, up to date (a no-op after the workspace tests; the same
# `--workspace --tests` feature set, so nothing is rebuilt for another resolution).
cargo build --release --workspace --tests
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# torch from PyPI is large (about 2 minutes and 6 GB with its CUDA libraries on this machine).
"$venv/bin/pip" install -q --disable-pip-version-check numpy pandas pytest torch maturin
echo "test-python.sh: dependencies ready after $(( $(date +%s) - start )) s"
# The package, built against the workspace's own release artifacts (same lock, same target).
export CARGO_TARGET_DIR="$PWD/target" PATH="$venv/bin:$PATH"
"$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation ./crates/critlab-py
echo "test-python.sh: package built after $(( $(date +%s) - start )) s"
CRITLAB_BIN="$PWD/target/release/critlab" "$venv/bin/python" -m pytest -q crates/critlab-py/tests "$@"
echo "test-python.sh: done after $(( $(date +%s) - start )) s"
