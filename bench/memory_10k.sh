#!/usr/bin/env bash
# Resident memory of the controller holding 10,000 objects (one Environment + 9,999 Services,
# as in apply_10k.sh): VmRSS and VmHWM (peak) from /proc/PID/status, on a fresh CENV_HOME,
# when idle, after the apply, after a re-apply (all unchanged) and after listing them all.
# Target: VmRSS <= 150 MB after the apply.
#
#   CENV_BIN=build-bench/cli/cenv bench/memory_10k.sh
set -euo pipefail
BENCH_NO_DOCKER=1  # API only: the controller runs without Docker (common.bash)
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

OBJECTS="${BENCH_OBJECTS:-10000}"
NS=benchmem
new_home mem
home="$HOME_DIR"
export CENV_HOME="$home"
start_controller "$home"
pid=$(controller_pid "$home")
gen_services "$BENCH_TMP/objects.yaml" "$NS" "$OBJECTS"

echo "memory_10k: controller pid $pid, $OBJECTS objects"
machine_line

# field NAME: the kB value of NAME in the controller's /proc status, in MB (MiB).
field() { awk -v f="$1:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
ROWS=()
sample() {
  ROWS+=("$(printf '%-32s %10s %10s %10s %10s' "$1" "$(field VmRSS)" "$(field VmHWM)" \
    "$(field RssAnon)" "$(field RssFile)")")
}

sample "idle, empty store"
"$CENV_BIN" apply -f "$BENCH_TMP/objects.yaml" >/dev/null
sleep 1  # let the watch dispatcher and gRPC settle
sample "after apply of $OBJECTS"
after_apply=$(field VmRSS)
"$CENV_BIN" apply -f "$BENCH_TMP/objects.yaml" >/dev/null
sample "after re-apply (unchanged)"
"$CENV_BIN" get svc -A --no-headers | wc -l >/dev/null
sample "after get svc -A"
db=$(du -sm "$home" | cut -f1)

echo
printf '%-32s %10s %10s %10s %10s\n' state "VmRSS MB" "VmHWM MB" "anon MB" "file MB"
printf '%s\n' "${ROWS[@]}"
echo "target: VmRSS after apply <= 150 MB: $after_apply MB $(verdict "$after_apply" '<=' 150)"
echo "CENV_HOME on disk: ${db} MB; load average at end: $(loadavg)"
