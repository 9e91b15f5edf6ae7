#!/usr/bin/env bash
# Remote mode against local mode, in the same run on one controller: `cenv get svc NAME -n NS`
# (1,000 objects stored) over mutual TLS on loopback (a context; a new TLS connection per CLI
# call) and over the unix socket, BENCH_RUNS times each (default 200), alternating; then
# apply throughput of BENCH_APPLY_OBJECTS objects (default 2,000) into a fresh namespace,
# BENCH_APPLY_RUNS times each way (default 5), alternating, each on a settled controller.
# Reports medians and the ratios.
# Targets (issue 12): TLS get median <= 1.5x the socket's; TLS apply throughput >= 80% of it.
#
#   CENV_BIN=build-bench/cli/cenv bench/remote_get.sh
set -euo pipefail
BENCH_NO_DOCKER=1  # API only: the controller runs without Docker (common.bash)
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

RUNS="${BENCH_RUNS:-200}"
OBJECTS="${BENCH_OBJECTS:-1000}"
APPLY_OBJECTS="${BENCH_APPLY_OBJECTS:-2000}"
APPLY_RUNS="${BENCH_APPLY_RUNS:-5}"
NS=benchremote

new_home remote
home="$HOME_DIR"
export CENV_HOME="$home"
certs="$BENCH_TMP/certs"
"$CENV_BIN" certs init --dir "$certs" >/dev/null
START_ARGS=(--listen 127.0.0.1:0 --certs "$certs")
start_controller "$home"
address="$(cat "$home/run/listen.addr")"
"$CENV_BIN" context add tls --server "$address" --certs "$certs" >/dev/null
gen_services "$BENCH_TMP/objects.yaml" "$NS" "$OBJECTS"
"$CENV_BIN" apply -f "$BENCH_TMP/objects.yaml" >/dev/null
name=$(printf 'svc-%05d' $(((OBJECTS - 1) / 2)))
settle "$home"
# Both ways answer the same, or the comparison means nothing.
diff <("$CENV_BIN" get svc "$name" -n "$NS" -o yaml) \
  <("$CENV_BIN" get svc "$name" -n "$NS" -o yaml --context tls) >/dev/null

echo "remote_get: controller pid $(controller_pid "$home"), mutual TLS on $address," \
  "$OBJECTS objects in $NS, $RUNS get runs each way"
machine_line

# The two ways alternate call by call (the machine's load changes alike for both), each call
# timed with bash's clock (no fork); after 10 warm-up pairs. Prints "UNIX_MS TLS_MS" per pair.
get_pairs() {
  local i t0 t1 t2
  for ((i = -10; i < RUNS; i++)); do
    t0=$EPOCHREALTIME
    "$CENV_BIN" get svc "$name" -n "$NS" >/dev/null
    t1=$EPOCHREALTIME
    "$CENV_BIN" get svc "$name" -n "$NS" --context tls >/dev/null
    t2=$EPOCHREALTIME
    ((i < 0)) || echo "$t0 $t1 $t2"
  done | awk '{ printf "%.3f %.3f\n", ($2 - $1) * 1000, ($3 - $2) * 1000 }'
}
get_pairs >"$BENCH_TMP/pairs"
get_unix=$(awk '{ print $1 }' "$BENCH_TMP/pairs" | median)
get_tls=$(awk '{ print $2 }' "$BENCH_TMP/pairs" | median)

# apply_rate CONTEXT RUN: objects/s of applying APPLY_OBJECTS new objects through CONTEXT.
apply_rate() {
  local ns="apply-$1-$2" file="$BENCH_TMP/apply-$1-$2.yaml" t0 t1 created
  gen_services "$file" "$ns" "$APPLY_OBJECTS"
  t0=$(now_ns)
  "$CENV_BIN" apply -f "$file" --context "$1" >"$file.out"
  t1=$(now_ns)
  created=$(grep -c ' created$' "$file.out" || true)
  if ((created != APPLY_OBJECTS)); then
    echo "error: $1: $created of $APPLY_OBJECTS objects created" >&2
    return 1
  fi
  awk -v n="$APPLY_OBJECTS" -v ns="$((t1 - t0))" 'BEGIN { printf "%.0f\n", n / (ns / 1e9) }'
}

unix_rates=()
tls_rates=()
# Each apply starts on a settled controller (the Services of the one before no longer being
# reconciled), and the two ways take turns going first.
for ((i = 1; i <= APPLY_RUNS; i++)); do
  for way in $( ((i % 2)) && echo local tls || echo tls local); do
    settle "$home"
    rate=$(apply_rate "$way" "$i")
    if [[ "$way" == local ]]; then unix_rates+=("$rate"); else tls_rates+=("$rate"); fi
  done
done
apply_unix=$(printf '%s\n' "${unix_rates[@]}" | median)
apply_tls=$(printf '%s\n' "${tls_rates[@]}" | median)

get_ratio=$(awk -v a="$get_tls" -v b="$get_unix" 'BEGIN { printf "%.2f", a / b }')
apply_ratio=$(awk -v a="$apply_tls" -v b="$apply_unix" 'BEGIN { printf "%.2f", a / b }')
echo
printf '%-34s %12s %12s %8s %12s %s\n' measure "unix socket" "mutual TLS" ratio target ""
printf '%-34s %12.2f %12.2f %8s %12s %s\n' "get svc NAME median (ms)" "$get_unix" "$get_tls" \
  "$get_ratio" "<= 1.5x" "$(verdict "$get_ratio" '<=' 1.5)"
printf '%-34s %12.0f %12.0f %8s %12s %s\n' "apply $APPLY_OBJECTS new objects (obj/s)" \
  "$apply_unix" "$apply_tls" "$apply_ratio" ">= 0.8x" "$(verdict "$apply_ratio" '>=' 0.8)"
echo "load average at end: $(loadavg)"
