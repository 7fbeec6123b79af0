#!/usr/bin/env bash
# slurm-down.sh - stop only the daemons that slurm-up.sh started, by the PID
# files it keeps in $SLURM_LOCAL_DIR/run (a munged that was already running
# before slurm-up.sh has no PID file there and is left alone).
set -uo pipefail

BASE=${SLURM_LOCAL_DIR:-/tmp/slurm-local}
RUN=$BASE/run
log() { echo "[slurm-down] $*" >&2; }

# running PID COMM -> 0 if PID is a live (non-zombie) process named COMM
running() {
  local st
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] || return 1
  st=$(awk '/^State:/{print $2}' "/proc/$1/status" 2>/dev/null)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

stop_one() {   # stop_one NAME  (pid file $RUN/NAME.pid, /proc comm NAME)
  local name=$1 f=$RUN/$1.pid p
  [ -s "$f" ] || { log "$name: no pid file, nothing to stop"; return 0; }
  p=$(cat "$f")
  if ! running "$p" "$name"; then
    log "$name: pid $p is not running (or is not $name); removing stale pid file"
    rm -f "$f"; return 0
  fi
  log "$name: SIGTERM $p"
  kill -TERM "$p"
  for _ in $(seq 100); do running "$p" "$name" || break; sleep 0.1; done
  if running "$p" "$name"; then
    log "$name: still alive after 10 s, SIGKILL $p"; kill -KILL "$p"
  fi
  rm -f "$f"
}

# slurmd first (its slurmstepd children end with their jobs), then the
# controller, then munge.
stop_one slurmd
stop_one slurmctld
stop_one munged
