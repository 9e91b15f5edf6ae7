#!/usr/bin/env bash
# Deleting an Environment that holds 10,000 objects (the Environment + 9,999 Modules: no
# controller holds a Module, so they involve no Docker), on a fresh CENV_HOME with a fresh
# controller of its own instance (common.bash): how long the `cenv delete environment
# --no-wait` call takes to return, how long
# until `cenv get environment` says NotFound (everything gone), and the controller's peak RSS
# (VmHWM) during the deletion (reset after the apply through /proc/PID/clear_refs) and over its
# whole life. Target: all gone in <= 10 s.
#
#   CENV_BIN=build-bench/cli/cenv bench/namespace_delete_10k.sh
#   BENCH_OBJECTS=3000 BENCH_GIVE_UP=900 bench/namespace_delete_10k.sh
# BENCH_GIVE_UP (default 600): seconds to wait for NotFound before reporting "not gone".
set -euo pipefail
# Docker stays reachable: the Environment's own finalizer (cenv.io/cleanup) removes its network,
# and without Docker it would wait for Docker forever after its namespace is empty.
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

OBJECTS="${BENCH_OBJECTS:-10000}"
GIVE_UP="${BENCH_GIVE_UP:-600}"
NS=bench10k
MANIFEST="$BENCH_TMP/modules.yaml"

# One Environment NS and OBJECTS-1 Modules in it, each with two labels.
awk -v ns="$NS" -v n="$((OBJECTS - 1))" 'BEGIN {
  printf "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: %s\nspec: {}\n", ns
  for (i = 1; i <= n; i++) {
    printf "---\napiVersion: cenv.io/v1\nkind: Module\nmetadata:\n"
    printf "  name: mod-%05d\n  namespace: %s\n", i, ns
    printf "  labels:\n    app: mod-%05d\n    tier: t%d\n", i, i % 10
    printf "spec:\n  install: \"true\"\n"
  }
}' >"$MANIFEST"

# status_mb PID FIELD: FIELD (VmRSS, VmHWM) of /proc/PID/status in MB.
status_mb() { awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

echo "namespace_delete_10k: 1 Environment + $((OBJECTS - 1)) Modules"
machine_line
new_home delete
home="$HOME_DIR"
start_controller "$home"
pid=$(controller_pid "$home")

t=$(now_ns)
CENV_HOME="$home" "$CENV_BIN" apply -f "$MANIFEST" >"$BENCH_TMP/apply.out"
echo "apply: $(grep -c ' created$' "$BENCH_TMP/apply.out") created in $(seconds_since "$t") s"
peak_life_apply=$(status_mb "$pid" VmHWM)
rss_before=$(status_mb "$pid" VmRSS)
# The deletion's own peak: reset the high-water mark (Linux >= 4.0).
echo 5 >"/proc/$pid/clear_refs"

t=$(now_ns)
delete_rc=0
CENV_HOME="$home" "$CENV_BIN" delete environment "$NS" --no-wait >"$BENCH_TMP/delete.out" \
  2>"$BENCH_TMP/delete.err" || delete_rc=$?
call_s=$(seconds_since "$t")
echo "delete call: exit $delete_rc in $call_s s: $(cat "$BENCH_TMP/delete.out" \
  "$BENCH_TMP/delete.err" | tr '\n' ' ')"

gone_s=""
while :; do
  if ! CENV_HOME="$home" "$CENV_BIN" get environment "$NS" >/dev/null 2>"$BENCH_TMP/get.err"; then
    if grep -q 'not found' "$BENCH_TMP/get.err"; then
      gone_s=$(seconds_since "$t")
      break
    fi
    echo "error: get environment: $(cat "$BENCH_TMP/get.err")" >&2
    exit 1
  fi
  if (($(date +%s%N) - t > GIVE_UP * 1000000000)); then break; fi
  sleep 0.1
done
left=$(CENV_HOME="$home" "$CENV_BIN" get modules -n "$NS" -o name 2>/dev/null | wc -l)
peak_delete=$(status_mb "$pid" VmHWM)
stop_controller "$home"

echo
printf '%-44s %s\n' "delete call returned (s)" "$call_s (exit $delete_rc)"
if [[ -n "$gone_s" ]]; then
  printf '%-44s %s  target <= 10: %s\n' "all $OBJECTS objects gone (s)" "$gone_s" \
    "$(verdict "$gone_s" '<=' 10)"
else
  printf '%-44s %s\n' "all $OBJECTS objects gone (s)" \
    "not gone after $GIVE_UP s ($left Modules left)  target <= 10: MISSED"
fi
printf '%-44s %s\n' "controller VmRSS before the delete (MB)" "$rss_before"
printf '%-44s %s\n' "controller peak RSS during the delete (MB)" "$peak_delete"
printf '%-44s %s\n' "controller peak RSS, apply included (MB)" \
  "$(awk -v a="$peak_life_apply" -v b="$peak_delete" 'BEGIN { print (b > a) ? b : a }')"
echo "load average at end: $(loadavg)"
