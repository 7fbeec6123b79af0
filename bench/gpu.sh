#!/usr/bin/env bash
# critlab on an NVIDIA GPU against PyTorch CUDA on the same GPU (issue 14, item 3), in two steps,
# since the GPU machine the device tool lends has PyTorch and the NVIDIA driver but no Rust:
#
#   bench/gpu.sh build        on a machine with cargo, no GPU needed, whose build can download:
#                             builds critlab with `--features cuda` (burn's CUDA backend fetches
#                             a prebuilt LLVM while building, which fails without a network;
#                             BENCHMARKS.md, "GPU"), or with FEATURE=wgpu `--features wgpu`
#                             (registry crates only: builds on this project's machines; run it
#                             with DEVICE=wgpu, on a machine whose NVIDIA driver has its Vulkan
#                             driver and the loader libvulkan1), in its own target folder,
#                             target/$FEATURE, so the default build is untouched, and puts the
#                             stripped, gzipped binary in
#                             .gpu/critlab.gz (.gpu/ is git-ignored through .git/info/exclude;
#                             carry it to the GPU machine)
#   bench/gpu.sh run [ROUNDS] on the GPU machine (the device tool: carry [".gpu"]), default 2
#                             rounds: prints Markdown tables for BENCHMARKS.md
#
# What `run` measures, interleaved critlab / PyTorch over ROUNDS so that both see the same GPU:
#   * M1 (MLP p = 97, width 512) and M2 (Nanda transformer p = 113): median ms per full-batch
#     AdamW step, `critlab bench step --device cuda` against bench/pytorch_reference.py
#     --device cuda (each step ends in a read of its loss, so a lap ends when the GPU is done);
#   * M4 at 1,000 runs: a 4 lr × 5 weight decays × 50 seeds sweep of the tiny MLP (p = 23,
#     width 128, STEPS steps, probes at the first and last step), whole-process wall seconds of
#     `critlab sweep run --device cuda` (one replica group of 1000, and 4 groups of 250 on 4
#     workers) against bench/pytorch_sweep.py --runs 1000 --device cuda in its two batched
#     forms (torch.bmm; torch.func.vmap over functional_call), the faster the reference.
# A first `critlab bench step --device cuda` call checks that the device opens (the binary's
# error says what is missing otherwise). About 3–5 minutes on an H200 at the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-}
case "$MODE" in
  build)
    feature=${FEATURE:-cuda}
    target=${CUDA_TARGET_DIR:-target/$feature}
    CARGO_TARGET_DIR=$target cargo build --release --features "$feature" -p critlab-cli
    mkdir -p .gpu
    exclude=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$exclude")"
    grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
    cp "$target/release/critlab" .gpu/critlab
    strip .gpu/critlab
    # Stripped, the GPU builds are about 100 MB, over the device tool's 64 MiB carry: gzip
    # brings the wgpu one to 30 MB; `run` unpacks it.
    gzip -f -6 .gpu/critlab
    ls -l .gpu/critlab.gz
    exit 0 ;;
  run) ;;
  *) echo "usage: bench/gpu.sh build | run [ROUNDS]" >&2; exit 2 ;;
esac
ROUNDS=${2:-2}
CRITLAB=${CRITLAB:-.gpu/critlab}
if [ ! -x "$CRITLAB" ] && [ -f "$CRITLAB.gz" ]; then gunzip -kf "$CRITLAB.gz" && chmod +x "$CRITLAB"; fi
STEPS=${STEPS:-500}
DEVICE=${DEVICE:-cuda}
[ -x "$CRITLAB" ] || { echo "no $CRITLAB: run \`bench/gpu.sh build\` on a machine with cargo first" >&2; exit 2; }
PY=${PYTHON:-python3}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$PY" -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
field() { "$PY" -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# The device opens (or the binary says why not) before anything is timed.
"$CRITLAB" bench step --device "$DEVICE" --p 23 --width 128 --steps 8 --warmup 2

declare -A FLAGS=(
  [M1]="--p 97 --train-frac 0.5 --width 512 --optimizer adamw --lr 1e-3 --weight-decay 1.0"
  [M2]="--p 113 --train-frac 0.3 --model transformer --optimizer adamw --lr 1e-3 --weight-decay 1.0"
)
declare -A TORCH_NAME=([M1]=mlp [M2]=transformer)
echo
echo "| workload | critlab ms/step ($DEVICE) | PyTorch ms/step ($DEVICE) | critlab / PyTorch |"
echo "|---|---|---|---|"
for w in M1 M2; do
  c=(); t=()
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    c+=("$("$CRITLAB" bench step --device "$DEVICE" ${FLAGS[$w]} --steps 60 --warmup 10 --json | field median_ms)")
    t+=("$("$PY" bench/pytorch_reference.py "${TORCH_NAME[$w]}" --device "$DEVICE" --steps 50 --warmup 10 | field median_ms)")
  done
  cm=$(printf '%s\n' "${c[@]}" | median); tm=$(printf '%s\n' "${t[@]}" | median)
  printf '| %s | %.3f | %.3f | %.2f |\n' "$w" "$cm" "$tm" "$(echo "$cm / $tm" | bc -l)"
done

# shellcheck source=bench/m4_spec.sh
. bench/m4_spec.sh
m4_spec gpu-1000 50 "0.0, 0.1, 0.3, 1.0, 3.0" "$STEPS" > "$TMP/m4.toml"
LAYOUTS=("1 group of 1000|--jobs 1 --max-group 1000" "4 workers x groups of 250|--jobs 4 --max-group 250")
declare -A T
for _ in $(seq "$ROUNDS"); do
  for entry in "${LAYOUTS[@]}"; do
    name=${entry%%|*}; flags=${entry#*|}
    rm -f "$TMP"/s.db*
    t0=$(now)
    # shellcheck disable=SC2086
    "$CRITLAB" sweep run "$TMP/m4.toml" --store "$TMP/s.db" --device "$DEVICE" $flags --json > "$TMP/out.json"
    t1=$(now)
    grep -q '"done": 1000' "$TMP/out.json" || { echo "critlab ($name) did not finish 1000 runs" >&2; cat "$TMP/out.json" >&2; exit 2; }
    T[$name]+="$(echo "$t1 - $t0" | bc -l) "
  done
  for form in bmm vmap; do
    t0=$(now)
    "$PY" bench/pytorch_sweep.py --runs 1000 --steps "$STEPS" --form "$form" --device "$DEVICE" > /dev/null
    t1=$(now)
    T[pytorch-$form]+="$(echo "$t1 - $t0" | bc -l) "
  done
done
med() { echo "${T[$1]}" | tr ' ' '\n' | grep . | median; }
torch=$(med pytorch-bmm); best=bmm
if [ "$(echo "$(med pytorch-vmap) < $torch" | bc -l)" = 1 ]; then torch=$(med pytorch-vmap); best=vmap; fi
echo
echo "M4 at 1000 runs × $STEPS steps on $DEVICE, whole-process wall seconds, median of $ROUNDS rounds:"
echo
echo "| layout | wall s | this / PyTorch best |"
echo "|---|---|---|"
for entry in "${LAYOUTS[@]}"; do
  name=${entry%%|*}
  printf '| critlab %s | %.2f | %.2f |\n' "$name" "$(med "$name")" "$(echo "$(med "$name") / $torch" | bc -l)"
done
for form in bmm vmap; do
  printf '| PyTorch %s%s | %.2f | %.2f |\n' "$form" "$([ "$form" = "$best" ] && echo ' (best: the reference)')" "$(med pytorch-$form)" "$(echo "$(med pytorch-$form) / $torch" | bc -l)"
done
