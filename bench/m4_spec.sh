# M4, the sweep of the tiny MLP (modular addition p = 23, 50 % train, width 128, full batch,
# AdamW, learning rates 1e-3, 2e-3, 3e-3, 5e-3; probes at the first and last step), as a sweep
# spec on stdout. Sourced by bench/sweep_bench.sh (64 runs) and bench/gpu.sh (1000 runs).
#   m4_spec NAME SEEDS "WEIGHT DECAYS (comma-separated)" STEPS
m4_spec() {
  cat <<TOML
name = "$1"
seeds = $2
[base]
task = "modular-addition"
p = 23
train-frac = 0.5
width = 128
optimizer = "adamw"
batch-size = "full"
steps = $4
eval-every = $4
[axes]
lr = [1e-3, 2e-3, 3e-3, 5e-3]
weight-decay = [$3]
TOML
}
