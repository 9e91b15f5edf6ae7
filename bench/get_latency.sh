#!/usr/bin/env bash
# Latency of `cenv get` against a running controller holding 1,000 objects in one namespace
# (an Environment + 999 Services): `cenv get svc NAME -n NS` and `cenv get svc -n NS` (a list
# of 999 rows), each BENCH_RUNS times (default 200, at least 100) with hyperfine (no shell,
# 10 warm-up runs). Reports median, p95 (nearest rank), max and the client's mean CPU time
# (user + system). Target: get median <= 15 ms.
#
#   CENV_BIN=build-bench/cli/cenv bench/get_latency.sh
set -euo pipefail
BENCH_NO_DOCKER=1  # API only: the controller runs without Docker (common.bash)
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

RUNS="${BENCH_RUNS:-200}"
OBJECTS="${BENCH_OBJECTS:-1000}"
NS=benchget
command -v hyperfine >/dev/null || { echo "error: hyperfine is not installed" >&2; exit 1; }

new_home get
home="$HOME_DIR"
export CENV_HOME="$home"
start_controller "$home"
gen_services "$BENCH_TMP/objects.yaml" "$NS" "$OBJECTS"
"$CENV_BIN" apply -f "$BENCH_TMP/objects.yaml" >/dev/null
name=$(printf 'svc-%05d' $(((OBJECTS - 1) / 2)))
"$CENV_BIN" get svc "$name" -n "$NS" >/dev/null  # fails loudly if the object is not there
rows=$("$CENV_BIN" get svc -n "$NS" --no-headers | wc -l)

echo "get_latency: controller pid $(controller_pid "$home"), $rows services in $NS, $RUNS runs each"
machine_line

# measure LABEL TARGET_MS COMMAND...: one hyperfine series; prints a result row.
ROWS=()
measure() {
  local label="$1" target="$2" json="$BENCH_TMP/$1.json"
  shift 2
  hyperfine -N --style none --warmup 10 --runs "$RUNS" --export-json "$json" \
    "$(printf '%q ' "$@")" >/dev/null 2>"$BENCH_TMP/hyperfine.err" || {
    cat "$BENCH_TMP/hyperfine.err" >&2
    return 1
  }
  local times med p95 max cpu
  times=$(jq -r '.results[0].times[] * 1000' "$json")
  med=$(median <<<"$times")
  p95=$(percentile 95 <<<"$times")
  max=$(sort -g <<<"$times" | tail -1)
  cpu=$(jq -r '(.results[0].user + .results[0].system) * 1000' "$json")
  local shown="-" v=""
  if [[ "$target" != - ]]; then
    shown="<= $target ms"
    v="$(verdict "$med" '<=' "$target")"
  fi
  ROWS+=("$(printf '%-28s %10.2f %10.2f %10.2f %10.2f %12s %s' "$label" "$med" "$p95" "$max" \
    "$cpu" "$shown" "$v")")
}

measure "get svc NAME -n NS" 15 "$CENV_BIN" get svc "$name" -n "$NS"
measure "get svc -n NS ($rows rows)" - "$CENV_BIN" get svc -n "$NS"
measure "version --client (no RPC)" - "$CENV_BIN" version --client

echo
printf '%-28s %10s %10s %10s %10s %12s\n' command "median ms" "p95 ms" "max ms" "cpu ms" \
  "target (med)"
printf '%s\n' "${ROWS[@]}"
echo "load average at end: $(loadavg)"
