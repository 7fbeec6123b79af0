#!/usr/bin/env bash
# Side-by-side per-step timing of critlab (burn flex) and PyTorch on the same machine, in the
# same invocation, interleaved (critlab, PyTorch, critlab, PyTorch, ...) so that load from
# other processes hits both alike. Prints a Markdown table with the ratio PyTorch/critlab
# (> 1: critlab is faster).
#
#   bench/compare.sh [ROUNDS]        (default 2 rounds; needs `pip install torch`)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
cargo build --release -q -p critlab-cli
CRITLAB=target/release/critlab
STEPS=${STEPS:-40}

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
echo "| workload | critlab ms/step | PyTorch ms/step | PyTorch / critlab |"
echo "|---|---|---|---|"
for w in mlp mlp-dense transformer tiny; do
  c=(); t=()
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    c+=("$($CRITLAB bench step ${FLAGS[$w]} --steps "$STEPS" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')")
    t+=("$(python3 bench/pytorch_reference.py "$w" --steps "$STEPS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])')")
  done
  cm=$(printf '%s\n' "${c[@]}" | median); tm=$(printf '%s\n' "${t[@]}" | median)
  printf '| %s | %.2f | %.2f | %.2f |\n' "$w" "$cm" "$tm" "$(echo "$tm / $cm" | bc -l)"
done
