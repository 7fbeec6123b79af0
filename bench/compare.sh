#!/usr/bin/env bash
# Side-by-side per-step timing of critlab (burn flex) and PyTorch on the same machine, in the
# same invocation, interleaved (critlab, PyTorch, critlab, PyTorch, ...) so that load from
# other processes hits both alike. Prints a Markdown table with the ratio PyTorch/critlab
# (> 1: critlab is faster) and each process's peak resident memory (GNU time's %M, the
# median over rounds), then the load average.
#
# Then the fourth reference workload, M4: the 64-run sweep of the tiny MLP through critlab's
# replica executor against PyTorch's batched forms (bench/sweep_bench.sh, SWEEP_STEPS steps),
# and critlab's probe overhead on M1 and M2, probes on at the default cadence against off
# (bench/probe_overhead.sh, PROBE_STEPS steps).
#
#   bench/compare.sh [ROUNDS]        (default 2 rounds; needs `pip install torch`)
#
# WORKLOADS="transformer mlp" times only those per-step workloads and skips M4 and the probe
# overhead; CRITLAB=<binary> times that binary instead of building target/release/critlab;
# THREADS=1 runs both on one thread (RAYON_NUM_THREADS=1, PyTorch's --threads 1), a comparison
# that survives a loaded machine, where PyTorch's spinning OpenMP threads lose most of their time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
if [ -z "${CRITLAB:-}" ]; then
  # The workspace build (a `-p` build resolves features differently and rebuilds burn).
  cargo build --release -q --workspace --tests
  CRITLAB=target/release/critlab
fi
STEPS=${STEPS:-40}
ALL_WORKLOADS="mlp mlp-dense transformer tiny"
WORKLOADS=${WORKLOADS:-$ALL_WORKLOADS}

# workload name (as bench/pytorch_reference.py knows it) -> critlab flags for the same maths;
# mlp-dense is PyTorch's faster path for the same model (dense one-hot input), timed against
# critlab's row lookup.
declare -A FLAGS=(
  [mlp]="--p 97 --train-frac 0.5 --width 512 --optimizer adamw --lr 1e-3 --weight-decay 1.0"
  [mlp-dense]="--p 97 --train-frac 0.5 --width 512 --optimizer adamw --lr 1e-3 --weight-decay 1.0"
  [transformer]="--p 113 --train-frac 0.3 --model transformer --optimizer adamw --lr 1e-3 --weight-decay 1.0"
  [tiny]="--p 23 --train-frac 0.5 --width 128 --optimizer adamw --lr 1e-3 --weight-decay 1.0"
)
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
rss=$(mktemp)
trap 'rm -f "$rss"' EXIT
# Runs a command under GNU time; prints its median_ms and appends its peak RSS (MiB) to $rss.
timed() {
  local out
  out=$(/usr/bin/time -f '%M' -o "$rss.one" "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')
  echo "$(( $(cat "$rss.one") / 1024 ))" >> "$rss"
  echo "$out"
}
echo "| workload | critlab ms/step | PyTorch ms/step | PyTorch / critlab | critlab peak RSS MiB | PyTorch peak RSS MiB |"
echo "|---|---|---|---|---|---|"
for w in $WORKLOADS; do
  c=(); t=(); cr=(); tr=()
  for _ in $(seq "$ROUNDS"); do
    : > "$rss"
    # shellcheck disable=SC2086
    c+=("$(RAYON_NUM_THREADS=${THREADS:-0} timed $CRITLAB bench step ${FLAGS[$w]} --steps "$STEPS" --json)")
    t+=("$(timed python3 bench/pytorch_reference.py "$w" --steps "$STEPS" ${THREADS:+--threads "$THREADS"})")
    cr+=("$(sed -n 1p "$rss")"); tr+=("$(sed -n 2p "$rss")")
  done
  cm=$(printf '%s\n' "${c[@]}" | median); tm=$(printf '%s\n' "${t[@]}" | median)
  crm=$(printf '%s\n' "${cr[@]}" | median); trm=$(printf '%s\n' "${tr[@]}" | median)
  printf '| %s | %.2f | %.2f | %.2f | %.0f | %.0f |\n' "$w" "$cm" "$tm" "$(echo "$tm / $cm" | bc -l)" "$crm" "$trm"
done
rm -f "$rss.one"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$WORKLOADS" = "$ALL_WORKLOADS" ] || exit 0
echo
echo "M4, the 64-run sweep (bench/sweep_bench.sh):"
STEPS=${SWEEP_STEPS:-500} CRITLAB=$CRITLAB bench/sweep_bench.sh "$ROUNDS"
echo
echo "Probes on vs off on M1 and M2 (bench/probe_overhead.sh):"
CRITLAB=$CRITLAB bench/probe_overhead.sh "$ROUNDS"
