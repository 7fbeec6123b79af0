#!/usr/bin/env bash
# The `wgpu` build's own check (not part of scripts/test.sh: a cold build of the wgpu backend
# is about 350 more crates, 30-45 min on 2 cores). Installs a software Vulkan driver (Mesa's
# lavapipe, Debian's mesa-vulkan-drivers, with the Vulkan loader libvulkan1) so the backend has
# an adapter on a machine without a GPU, builds critlab with `--features wgpu` into
# target/wgpu, and runs the CLI's device tests there with CRITLAB_REQUIRE_WGPU=1: training on
# `--device wgpu` must work and match the CPU backend (crates/critlab-cli/tests/train.rs,
# `wgpu_trains_the_cpu_backends_run`). On a machine with a GPU and its Vulkan driver, wgpu
# picks the GPU instead; CUBECL_WGPU_DEFAULT_DEVICE=Cpu forces lavapipe.
#
#   ./scripts/test-wgpu.sh [extra cargo test args]     (run as root, for apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || ! ldconfig -p | grep -q libvulkan.so.1; then
  echo "test-wgpu.sh: installing the Vulkan loader and Mesa's software Vulkan driver (lavapipe)" >&2
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libvulkan1 mesa-vulkan-drivers >/dev/null
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/wgpu}
export CRITLAB_REQUIRE_WGPU=1
cargo test --release --workspace --features critlab-cli/wgpu "$@" --test train -- device wgpu gpu
