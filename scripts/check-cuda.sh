#!/usr/bin/env bash
# Type-checks the `cuda` build without building it: every crate of the `cuda` feature's tree
# (burn-cuda, cubecl-cuda, cubecl-llvm, ...) and critlab's `cuda`-gated code (the device probe,
# the CLI tests' cuda branch), with DOCS_RS=1 so that the build scripts of tracel-llvm-bundler
# and cubecl-llvm skip the prebuilt-LLVM download that stops a real `--features cuda` build on
# machines that reach only the package registries (BENCHMARKS.md, "GPU"). Nothing is linked,
# so it shows that the code compiles, not that it runs. Not part of scripts/test.sh: cold, it
# checks about 440 crates (22 min on 2 cores).
#
#   ./scripts/check-cuda.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cuda-check}
DOCS_RS=1 cargo check -p critlab-cli --features cuda --tests
