#!/usr/bin/env bash
# Watch fan-out: 100 concurrent Watch streams on kind Event, 1,000 sequential updates of one
# Event (a kind no controller writes), commit-to-delivery latency per (watcher, event) and a
# check that every watcher got every event once and in order. Runs bench/watch_fanout (the C++
# client, built with the project: `ninja -C BUILD watch_fanout`) against a fresh controller on
# a temp CENV_HOME for each run.
# Target: p99 commit-to-delivery <= 10 ms (judged on send->delivery, the upper bound).
#
# The watchers are the benchmark's own load: 100 streams read by one process that needs about as
# much CPU as the controller serving them. Each round runs two layouts, one after the other:
#   shared    controller and watchers on all CPUs (they compete for the same 2 cores)
#   isolated  the controller on CPU 0, the watchers and the writer on the other CPUs, as if the
#             watchers ran on another machine (the controller has one core, not two)
# (isolated needs 2 CPUs or more; it is skipped otherwise). The writer is closed-loop: the next
# update is sent as soon as the previous one returns, so the write rate is as high as the
# machine allows (600-800 writes/s here), not a rate a deployment would see.
#
#   CENV_BIN=build-bench/cli/cenv bench/watch_fanout.sh [extra watch_fanout flags]
#   WATCH_FANOUT_BIN=... BENCH_WATCHERS=100 BENCH_UPDATES=1000 BENCH_ROUNDS=3 bench/watch_fanout.sh
set -euo pipefail
BENCH_NO_DOCKER=1  # API only: the controller runs without Docker (common.bash)
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

FANOUT_BIN="${WATCH_FANOUT_BIN:-$(dirname "$(dirname "$CENV_BIN")")/bench/watch_fanout}"
if [[ ! -x "$FANOUT_BIN" ]]; then
  echo "error: no watch_fanout at $FANOUT_BIN (ninja -C BUILD watch_fanout, or set" \
    "WATCH_FANOUT_BIN)" >&2
  exit 1
fi
rounds="${BENCH_ROUNDS:-3}"
cpus="$(nproc)"

echo "watch_fanout: $FANOUT_BIN, ${BENCH_WATCHERS:-100} watchers x ${BENCH_UPDATES:-1000}" \
  "updates, $rounds round(s)"
machine_line
rc=0
declare -A p99s=()
# run_layout NAME ROUND CONTROLLER_CPUS WATCHER_CPUS (empty: no pinning)
run_layout() {
  local name="$1" round="$2" ctl_cpus="$3" client_cpus="$4"
  local -a ctl_pin=() client_pin=()
  [[ -n "$ctl_cpus" ]] && ctl_pin=(taskset -c "$ctl_cpus")
  [[ -n "$client_cpus" ]] && client_pin=(taskset -c "$client_cpus")
  new_home "watch-$name-$round"
  local home="$HOME_DIR"
  start_controller "$home" "${ctl_pin[@]}"
  echo
  echo "== round $round, $name (controller CPUs: ${ctl_cpus:-all}, watchers: ${client_cpus:-all})"
  local out="$BENCH_TMP/fanout-$name-$round.out" run_rc=0
  CENV_HOME="$home" "${client_pin[@]}" "$FANOUT_BIN" --watchers "${BENCH_WATCHERS:-100}" \
    --updates "${BENCH_UPDATES:-1000}" "${EXTRA_ARGS[@]}" | tee "$out" || run_rc=$?
  stop_controller "$home"
  [[ "$run_rc" -eq 0 ]] || rc="$run_rc"
  local p99
  p99=$(awk '$1 == "RESULT" { for (i = 2; i <= NF; i++) if ($i ~ /^p99_ms=/) print substr($i, 8) }' \
    "$out")
  [[ -n "$p99" ]] && p99s[$name]+="$p99 "
  echo "load average: $(loadavg)"
}
EXTRA_ARGS=("$@")
for ((r = 1; r <= rounds; r++)); do
  run_layout shared "$r" "" ""
  if ((cpus >= 2)); then run_layout isolated "$r" 0 "1-$((cpus - 1))"; fi
done

echo
for name in shared isolated; do
  [[ -n "${p99s[$name]:-}" ]] || continue
  # shellcheck disable=SC2086
  med=$(printf '%s\n' ${p99s[$name]} | median)
  # shellcheck disable=SC2086
  worst=$(printf '%s\n' ${p99s[$name]} | sort -g | tail -1)
  echo "target: p99 send->delivery <= 10 ms, $name: runs ${p99s[$name]}ms; median $med ms" \
    "$(verdict "$med" '<=' 10), worst $worst ms $(verdict "$worst" '<=' 10)"
done
exit "$rc"
