#!/usr/bin/env bash
# Probe overhead at the default cadence (every observable of docs/theory.md §2 every 100 steps) on
# M1 (MLP p = 97, width 512) and M2 (Nanda transformer p = 113): whole `critlab train`
# processes, probes on (the default --eval-every 100) against probes off (--eval-every STEPS:
# only the step-0 and last-step measurements, which every run makes), interleaved on/off so
# that load from other processes hits both alike, each under GNU time.
#
# Prints, per workload and mode, the medians over rounds of the CPU seconds (user + sys), the
# wall seconds and the trainer's own account of the share of its time spent in probes, of its
# wall time (probe_seconds / wall_seconds of `train --json`) and of its CPU time
# (probe_cpu_seconds / cpu_seconds: the steadiest figure on a loaded machine, since it counts
# neither waiting nor other processes); then the overhead of probes on against off, in CPU and
# in wall time of the whole process (differences of 1-2 s that swing from run to run under load). The off run still
# measures twice, so the difference counts STEPS/100 − 1 of the on run's STEPS/100 + 1
# measurements: the overhead it gives is that of the cadence alone.
#
#   bench/probe_overhead.sh [ROUNDS]   (default 2; PROBE_STEPS steps per run, default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
CRITLAB=${CRITLAB:-target/release/critlab}
STEPS=${PROBE_STEPS:-600}
[ -x "$CRITLAB" ] || cargo build --release -q --workspace --tests
declare -A FLAGS=(
  [M1]="--p 97 --train-frac 0.5 --width 512 --optimizer adamw --lr 1e-3 --weight-decay 1.0"
  [M2]="--p 113 --train-frac 0.3 --model transformer --optimizer adamw --lr 1e-3 --weight-decay 1.0"
)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# One run into a fresh store; prints "cpu_seconds wall_seconds probe_share probe_cpu_share".
run() {
  rm -f "$dir/s.db"
  # shellcheck disable=SC2068
  /usr/bin/time -f '%U %S %e' -o "$dir/time" "$CRITLAB" train --store "$dir/s.db" --json --steps "$STEPS" $@ > "$dir/out.json"
  python3 - "$dir/time" "$dir/out.json" <<'PY'
import json, sys
user, sys_, wall = map(float, open(sys.argv[1]).read().split()[-3:])
s = json.load(open(sys.argv[2]))
assert s["status"] == "done", s
print(user + sys_, wall, s["probe_seconds"] / s["wall_seconds"], s["probe_cpu_seconds"] / s["cpu_seconds"])
PY
}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "probes on (--eval-every 100) vs off (--eval-every $STEPS), $STEPS steps, $ROUNDS rounds, medians:"
echo
echo "| workload | probes | CPU s | wall s | in probes, wall (trainer's count) | in probes, CPU (trainer's count) | overhead, CPU | overhead, wall |"
echo "|---|---|---|---|---|---|---|---|"
for w in M1 M2; do
  : > "$dir/on"; : > "$dir/off"
  for _ in $(seq "$ROUNDS"); do
    run ${FLAGS[$w]} --eval-every 100 >> "$dir/on"
    run ${FLAGS[$w]} --eval-every "$STEPS" >> "$dir/off"
  done
  col() { cut -d' ' -f"$1" "$dir/$2" | median; }
  on_cpu=$(col 1 on); off_cpu=$(col 1 off); on_wall=$(col 2 on); off_wall=$(col 2 off)
  printf '| %s | on | %.1f | %.1f | %.1f %% | %.1f %% | %+.1f %% | %+.1f %% |\n' "$w" "$on_cpu" "$on_wall" "$(echo "100 * $(col 3 on)" | bc -l)" \
    "$(echo "100 * $(col 4 on)" | bc -l)" "$(echo "100 * ($on_cpu - $off_cpu) / $off_cpu" | bc -l)" "$(echo "100 * ($on_wall - $off_wall) / $off_wall" | bc -l)"
  printf '| %s | off | %.1f | %.1f | %.1f %% | %.1f %% | | |\n' "$w" "$off_cpu" "$off_wall" "$(echo "100 * $(col 3 off)" | bc -l)" "$(echo "100 * $(col 4 off)" | bc -l)"
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
