#!/usr/bin/env bash
# CommandRun end to end and log streaming against Docker itself, in the same run:
#   1. `cenv run --rm --image cenv/base:bookworm -- echo hi` against
#      `docker run --rm cenv/base:bookworm echo hi` (hyperfine, BENCH_RUNS each, default 20).
#      Target: cenv <= 1.3x docker.
#   2. a run printing 100 MB (BENCH_LOG_MB): `cenv logs -f cr/NAME` against
#      `docker logs -f` on the same container (kept alive by a trailing sleep), each timed
#      until it has delivered every byte (checked by byte count). Target: cenv rate >= 0.5x
#      docker's. The controller's peak RSS (VmHWM) is reported: it must stream, not buffer.
#   3. line latency: the container prints its clock (ns) every 20 ms, 500 lines; the reader
#      of `cenv logs -f` stamps each line on arrival ($EPOCHREALTIME; one kernel, one clock).
#      Target: p99 <= 50 ms.
# Containers are labelled by cenv (io.cenv.namespace) and removed at the end.
#
#   CENV_BIN=build/cli/cenv bench/run_logs.sh
set -euo pipefail
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

RUNS="${BENCH_RUNS:-20}"
LOG_MB="${BENCH_LOG_MB:-100}"
IMAGE=cenv/base:bookworm
NS="runbench-$$"
command -v hyperfine >/dev/null || { echo "error: hyperfine is not installed" >&2; exit 1; }
docker image inspect "$IMAGE" >/dev/null || { echo "error: $IMAGE is missing (scripts/bootstrap-images)" >&2; exit 1; }

cleanup_docker() {
  if [[ -n "${CENV_HOME:-}" ]]; then
    "$CENV_BIN" delete environment "$NS" --ignore-not-found --wait --timeout 60s >/dev/null 2>&1 || true
  fi
  local ids
  ids=$(docker ps -aq --filter "label=io.cenv.namespace=$NS")
  # shellcheck disable=SC2086
  [[ -n "$ids" ]] && docker rm -f $ids >/dev/null 2>&1
  docker network rm "cenv-$NS" >/dev/null 2>&1 || true
}
BENCH_CLEANUPS+=(cleanup_docker)

new_home run
export CENV_HOME="$HOME_DIR"
start_controller "$HOME_DIR"
pid=$(controller_pid "$HOME_DIR")
printf 'apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: %s\nspec:\n  baseImage: %s\n' \
  "$NS" "$IMAGE" | "$CENV_BIN" apply -f - >/dev/null
"$CENV_BIN" wait "environment/$NS" --for=condition=Ready --timeout=120s >/dev/null

echo "run_logs: controller pid $pid, namespace $NS, image $IMAGE"
machine_line

# ---- 1. cenv run vs docker run ----
hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$BENCH_TMP/run.json" \
  "$CENV_BIN run -n $NS --rm --image $IMAGE -- echo hi" \
  "docker run --rm $IMAGE echo hi" >/dev/null 2>"$BENCH_TMP/hyperfine.err" || {
  cat "$BENCH_TMP/hyperfine.err" >&2
  exit 1
}
run_cenv=$(jq -r '.results[0].median * 1000' "$BENCH_TMP/run.json")
run_docker=$(jq -r '.results[1].median * 1000' "$BENCH_TMP/run.json")

# ---- 2. 100 MB through logs -f ----
bytes=$((LOG_MB * 1000 * 1000))
# 100-byte lines, so the output ends with a newline: `docker logs` holds an unfinished last
# line back while the container runs, and the docker side would never see all the bytes.
line99=$(printf '%099d' 0 | tr 0 x)
name="bulk-$$"
cat >"$BENCH_TMP/bulk.yaml" <<EOF
apiVersion: cenv.io/v1
kind: CommandRun
metadata:
  name: $name
  namespace: $NS
spec:
  image: $IMAGE
  command: [sh, -c, "yes $line99 | head -n $((bytes / 100)); sleep 600"]
EOF
"$CENV_BIN" apply -f "$BENCH_TMP/bulk.yaml" >/dev/null
# Wait until all the output is in the store (logBytes) so both readers replay the same bytes.
"$CENV_BIN" wait "commandrun/$name" -n "$NS" --timeout=300s --for=jsonpath="{.status.logBytes}=$bytes" >/dev/null
container=$(docker ps -q --filter "label=io.cenv.namespace=$NS" --filter "label=io.cenv.name=$name")
[[ -n "$container" ]] || { echo "error: no running container for commandrun/$name" >&2; exit 1; }
# follow_bytes CMD...: runs a follower until it has delivered $bytes bytes, then stops it (a
# follower of a live container never ends by itself); prints "BYTES MS".
follow_bytes() {
  local t0 pidf="$BENCH_TMP/follower.pid"
  t0=$(now_ns)
  { "$@" 2>/dev/null & echo $! >"$pidf"; wait || true; } | {
    local got
    got=$(head -c "$bytes" | wc -c)
    kill "$(cat "$pidf")" 2>/dev/null || true
    echo "$got $((($(now_ns) - t0) / 1000000))"
  }
}
read -r got_docker docker_ms < <(follow_bytes docker logs -f "$container")
read -r got_cenv cenv_logs_ms < <(follow_bytes "$CENV_BIN" logs -f "cr/$name" -n "$NS")
hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
"$CENV_BIN" delete commandrun "$name" -n "$NS" --wait --timeout=60s >/dev/null
[[ "$got_docker" == "$bytes" && "$got_cenv" == "$bytes" ]] || {
  echo "error: docker delivered $got_docker bytes, cenv $got_cenv, expected $bytes" >&2
  exit 1
}
rate() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.1f", b / 1e6 / (ms / 1000) }'; }
rate_docker=$(rate "$docker_ms")
rate_cenv=$(rate "$cenv_logs_ms")

# ---- 3. line latency ----
lname="lat-$$"
"$CENV_BIN" apply -f - >/dev/null <<EOF
apiVersion: cenv.io/v1
kind: CommandRun
metadata:
  name: $lname
  namespace: $NS
spec:
  image: $IMAGE
  command: [sh, -c, "sleep 2; for i in \$(seq 500); do date +%s%N; usleep 20000; done"]
EOF
"$CENV_BIN" logs -f "cr/$lname" -n "$NS" | while read -r line; do
  now=${EPOCHREALTIME/./}
  [[ "$line" =~ ^[0-9]{19}$ ]] && echo $((now - line / 1000))
done >"$BENCH_TMP/latency_us.txt"
lines=$(wc -l <"$BENCH_TMP/latency_us.txt")
p50=$(awk '{ print $1 / 1000 }' "$BENCH_TMP/latency_us.txt" | median)
p99=$(awk '{ print $1 / 1000 }' "$BENCH_TMP/latency_us.txt" | percentile 99)

ratio_run=$(awk -v a="$run_cenv" -v b="$run_docker" 'BEGIN { printf "%.2f", a / b }')
ratio_logs=$(awk -v a="$rate_cenv" -v b="$rate_docker" 'BEGIN { printf "%.2f", a / b }')
printf '\n%-40s %12s %12s %8s %-10s %s\n' measure cenv docker ratio target verdict
printf '%-40s %9.1f ms %9.1f ms %7sx %-10s %s\n' "run -- echo hi (median of $RUNS)" "$run_cenv" \
  "$run_docker" "$ratio_run" "<= 1.3x" "$(verdict "$ratio_run" '<=' 1.3)"
printf '%-40s %7s MB/s %7s MB/s %7sx %-10s %s\n' "logs -f of $LOG_MB MB" "$rate_cenv" "$rate_docker" \
  "$ratio_logs" ">= 0.5x" "$(verdict "$ratio_logs" '>=' 0.5)"
printf '%-40s %9s MB %12s %8s %-10s\n' "controller peak RSS (VmHWM)" "$((hwm_kb / 1024))" - - -
printf '%-40s %9s ms %12s %8s %-10s %s\n' "line to terminal p99 ($lines lines)" "$p99" - - \
  "<= 50 ms" "$(verdict "$p99" '<=' 50)"
printf '%-40s %9s ms\n' "line to terminal p50" "$p50"
