#!/usr/bin/env bash
# Watch fan-out: 100 concurrent Watch streams on kind Event, 1,000 sequential updates of one
# Event (a kind no controller writes), commit-to-delivery latency per (watcher, event) and a check that every watcher got
# every event once and in order. Runs bench/watch_fanout (the C++ client, built with the
# project: `ninja -C BUILD watch_fanout`) against a fresh controller on a temp CENV_HOME.
# Target: p99 commit-to-delivery <= 10 ms (judged on send->delivery, the upper bound).
#
#   CENV_BIN=build-bench/cli/cenv bench/watch_fanout.sh [extra watch_fanout flags]
#   WATCH_FANOUT_BIN=... BENCH_WATCHERS=100 BENCH_UPDATES=1000 bench/watch_fanout.sh
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

new_home watch
home="$HOME_DIR"
export CENV_HOME="$home"
start_controller "$home"
echo "watch_fanout: controller pid $(controller_pid "$home"), $FANOUT_BIN"
machine_line
echo
out="$BENCH_TMP/fanout.out"
rc=0
"$FANOUT_BIN" --watchers "${BENCH_WATCHERS:-100}" --updates "${BENCH_UPDATES:-1000}" "$@" \
  | tee "$out" || rc=$?
p99=$(awk '$1 == "RESULT" { for (i = 2; i <= NF; i++) if ($i ~ /^p99_ms=/) print substr($i, 8) }' \
  "$out")
if [[ -n "$p99" ]]; then
  echo "target: p99 send->delivery <= 10 ms: $p99 ms $(verdict "$p99" '<=' 10)"
fi
echo "load average at end: $(loadavg)"
exit "$rc"
