#!/usr/bin/env bash
# Times one 64-run sweep of the tiny MLP (modular addition p=23, 50% train, width 128, full
# batch, AdamW; 4 learning rates × 4 weight decays × 4 seeds, STEPS steps, probes at the first
# and last step) three ways, in the same invocation, interleaved over ROUNDS so that load from
# other processes hits all alike:
#   * critlab's replica executor, `critlab sweep run` (JOBS workers × replica groups of GROUP),
#     in several layouts, the default one (--jobs = cores, --max-group 32) first;
#   * the same 64 runs as a sequential loop (`--jobs 1 --max-group 1`: one run after another);
#   * PyTorch: the 64 models as one batched computation (bench/pytorch_sweep.py, the same
#     maths) in two forms, torch.bmm and torch.func.vmap over functional_call, each with 1
#     thread and with all cores; the fastest of the four is the reference.
# Wall-clock seconds of the whole thing (process start, data, training, store writes), median
# over rounds; prints a Markdown table with speed-ups over PyTorch and over the loop.
#
#   bench/sweep_bench.sh [ROUNDS]       (default 2; STEPS=1000; needs `pip install torch`)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
STEPS=${STEPS:-1000}
CRITLAB=${CRITLAB:-target/release/critlab}
[ -x "$CRITLAB" ] || cargo build --release -q --workspace --tests   # (a -p build rebuilds burn)
CORES=$(nproc)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/critlab-sweep-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# shellcheck source=bench/m4_spec.sh
. bench/m4_spec.sh
m4_spec bench-64 4 "0.0, 0.1, 1.0, 3.0" "$STEPS" > "$TMP/bench.toml"

# layout name -> critlab flags
LAYOUTS=("replicas ${CORES}x32 (default)|--jobs $CORES --max-group 32"
         "replicas 1x64|--jobs 1 --max-group 64"
         "replicas ${CORES}x16|--jobs $CORES --max-group 16"
         "replicas ${CORES}x8|--jobs $CORES --max-group 8"
         "loop of single runs, 1 worker|--jobs 1 --max-group 1")
now() { date +%s.%N; }
declare -A T
for r in $(seq "$ROUNDS"); do
  for entry in "${LAYOUTS[@]}"; do
    name=${entry%%|*}; flags=${entry#*|}
    rm -f "$TMP"/s.db*
    t0=$(now)
    # shellcheck disable=SC2086
    "$CRITLAB" sweep run "$TMP/bench.toml" --store "$TMP/s.db" $flags --json > "$TMP/out.json"
    t1=$(now)
    grep -q '"done": 64' "$TMP/out.json" || { echo "critlab ($name) did not finish 64 runs" >&2; cat "$TMP/out.json" >&2; exit 2; }
    T[$name]+="$(echo "$t1 - $t0" | bc -l) "
  done
  if python3 -c "import torch" 2>/dev/null; then
    for form in bmm vmap; do
      for threads in $(printf '%s\n' 1 "$CORES" | sort -un); do
        t0=$(now)
        python3 bench/pytorch_sweep.py --runs 64 --steps "$STEPS" --threads "$threads" --form "$form" > "$TMP/torch.json"
        t1=$(now)
        T[pytorch-$form-$threads]+="$(echo "$t1 - $t0" | bc -l) "
      done
    done
    TORCH=$(python3 -c "import json; print(json.load(open('$TMP/torch.json'))['torch'])")
  fi
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
loop=$(echo "${T["loop of single runs, 1 worker"]}" | median)
# PyTorch at its best form and thread count (oversubscribed OpenMP threads spin on a loaded machine).
torch=""; torch_best=""
for form in bmm vmap; do
  for threads in $(printf '%s\n' 1 "$CORES" | sort -un); do
    [ -n "${T[pytorch-$form-$threads]:-}" ] || continue
    t=$(echo "${T[pytorch-$form-$threads]}" | median)
    if [ -z "$torch" ] || [ "$(echo "$t < $torch" | bc -l)" = 1 ]; then torch=$t; torch_best=$form-$threads; fi
  done
done
echo "64 runs × $STEPS steps, $CORES cores, median of $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| layout | wall s | PyTorch best / this | loop / this |"
echo "|---|---|---|---|"
for entry in "${LAYOUTS[@]}"; do
  name=${entry%%|*}
  s=$(echo "${T[$name]}" | median)
  vs_torch="-"; [ -n "$torch" ] && vs_torch=$(printf '%.2f' "$(echo "$torch / $s" | bc -l)")
  printf '| critlab %s | %.2f | %s | %.2f |\n' "$name" "$s" "$vs_torch" "$(echo "$loop / $s" | bc -l)"
done
for form in bmm vmap; do
  for threads in $(printf '%s\n' 1 "$CORES" | sort -un); do
    [ -n "${T[pytorch-$form-$threads]:-}" ] || continue
    t=$(echo "${T[pytorch-$form-$threads]}" | median)
    what="torch.bmm"; [ "$form" = vmap ] && what="torch.func.vmap over functional_call"
    printf '| PyTorch %s, 64 models as %s, %s thread(s)%s | %.2f | %.2f | %.2f |\n' "$TORCH" "$what" "$threads" \
      "$([ "$form-$threads" = "$torch_best" ] && echo ' (best: the reference)')" "$t" "$(echo "$torch / $t" | bc -l)" "$(echo "$loop / $t" | bc -l)"
  done
done
exit 0
