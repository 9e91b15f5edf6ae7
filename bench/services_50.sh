#!/usr/bin/env bash
# Fifty services from scratch until all are Ready: cenv against docker-compose.
#
# Each service is busybox httpd from cenv/base:bookworm with a TCP health check on its port,
# checked every second. Measured, in the same run:
#   1. cold start: `cenv apply -f` then `cenv wait --for=condition=Ready` on all fifty, against
#      `docker-compose up -d` then polling `docker inspect` until all fifty are healthy
#      (compose's `up -d` does not wait for health). Target: cenv <= 1.0x compose (goal 0.5x).
#   2. re-apply of the unchanged fifty: wall time of `cenv apply -f` (target <= 200 ms) and the
#      Docker mutations (create/start/stop/kill/die/destroy/...) seen on the event stream
#      while it runs and for a second after (target 0).
#   3. a crashed container (its process SIGKILLed from the host) until the Service is Ready
#      again (restarts went up and Ready=True), target <= 5 s; compose's peer is Docker's own
#      `restart: always` until the container is healthy again.
# Everything is labelled with the run id and removed at the end.
#
#   CENV_BIN=build/cli/cenv bench/services_50.sh        (BENCH_SERVICES=50 to change the count)
set -euo pipefail
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

COUNT="${BENCH_SERVICES:-50}"
RUN_ID="bench$$"
NS="svc50-$$"
PROJECT="cenvbench$$"
IMAGE=cenv/base:bookworm
command -v docker-compose >/dev/null || { echo "error: docker-compose is not installed" >&2; exit 1; }
docker image inspect "$IMAGE" >/dev/null || { echo "error: $IMAGE is missing (scripts/bootstrap-images)" >&2; exit 1; }

cleanup_docker() {
  (cd "$BENCH_TMP/compose" 2>/dev/null && docker-compose -p "$PROJECT" down -v -t 1 >/dev/null 2>&1) || true
  if [[ -n "${CENV_HOME:-}" ]]; then
    "$CENV_BIN" delete environment "$NS" --ignore-not-found --wait --timeout 60s >/dev/null 2>&1 || true
  fi
  local ids
  ids=$(docker ps -aq --filter "label=io.cenv.namespace=$NS"; docker ps -aq --filter "label=cenv.bench.run=$RUN_ID")
  # shellcheck disable=SC2086
  [[ -n "$ids" ]] && docker rm -f $ids >/dev/null 2>&1
  docker network rm "cenv-$NS" >/dev/null 2>&1 || true
}
BENCH_CLEANUPS+=(cleanup_docker)

ms_since() { echo $((($(now_ns) - $1) / 1000000)); }

# crash CONTAINER: SIGKILL its main process from the host, as a crash looks to Docker (a
# `docker kill` counts as a manual stop, which restart policies leave alone).
crash() { kill -KILL "$(docker inspect --format '{{.State.Pid}}' "$1")"; }

# ---- manifests ----
mkdir -p "$BENCH_TMP/compose"
manifest="$BENCH_TMP/services.yaml"
{
  printf 'apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: %s\n' "$NS"
  printf '  labels:\n    cenv.bench.run: %s\nspec:\n  baseImage: %s\n' "$RUN_ID" "$IMAGE"
  for ((i = 1; i <= COUNT; i++)); do
    printf -- '---\napiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: web-%02d\n  namespace: %s\n' "$i" "$NS"
    printf 'spec:\n  command: [busybox, httpd, -f, -p, "8080"]\n  ports:\n    - containerPort: 8080\n'
    printf '  healthCheck:\n    tcpPort: 8080\n    interval: 1s\n    timeout: 1s\n'
  done
} >"$manifest"
{
  printf 'version: "2.4"\nservices:\n'
  for ((i = 1; i <= COUNT; i++)); do
    printf '  web-%02d:\n    image: %s\n    command: [busybox, httpd, -f, -p, "8080"]\n' "$i" "$IMAGE"
    printf '    labels:\n      cenv.bench.run: %s\n    restart: always\n' "$RUN_ID"
    # busybox nc has no -z: connect with empty stdin (exit 0 when the port answers).
    printf '    healthcheck:\n      test: [CMD-SHELL, "busybox nc -w 1 127.0.0.1 8080 </dev/null"]\n'
    printf '      interval: 1s\n      timeout: 1s\n      retries: 3\n'
  done
} >"$BENCH_TMP/compose/docker-compose.yml"
names=()
for ((i = 1; i <= COUNT; i++)); do names+=("$(printf 'web-%02d' "$i")"); done

echo "services_50: $COUNT services (busybox httpd + TCP health check), image $IMAGE"
machine_line
echo "docker: $(docker version --format '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null || docker-compose version | head -1)"

# ---- compose: cold start ----
compose_healthy() {
  local ids
  ids=$(cd "$BENCH_TMP/compose" && docker-compose -p "$PROJECT" ps -q)
  [[ -n "$ids" ]] || { echo 0; return; }
  # shellcheck disable=SC2086
  docker inspect --format '{{.State.Health.Status}}' $ids | grep -c '^healthy$' || true
}
t0=$(now_ns)
(cd "$BENCH_TMP/compose" && docker-compose -p "$PROJECT" up -d >/dev/null 2>"$BENCH_TMP/compose.err") || {
  cat "$BENCH_TMP/compose.err" >&2
  exit 1
}
until [[ "$(compose_healthy)" -ge "$COUNT" ]]; do sleep 0.1; done
compose_ms=$(ms_since "$t0")

# compose: a killed container, back healthy through restart: always.
victim=$(cd "$BENCH_TMP/compose" && docker-compose -p "$PROJECT" ps -q web-01)
t0=$(now_ns)
crash "$victim"
sleep 0.05
until [[ "$(docker inspect --format '{{.State.Running}} {{.State.Health.Status}}' "$victim")" == "true healthy" ]]; do
  sleep 0.05
done
compose_kill_ms=$(ms_since "$t0")
(cd "$BENCH_TMP/compose" && docker-compose -p "$PROJECT" down -v -t 1 >/dev/null 2>&1)

# ---- cenv: cold start ----
new_home services
export CENV_HOME="$HOME_DIR"
start_controller "$HOME_DIR"
t0=$(now_ns)
"$CENV_BIN" apply -f "$manifest" >/dev/null
"$CENV_BIN" wait -n "$NS" --for=condition=Ready --timeout=600s "${names[@]/#/service/}" >/dev/null
cenv_ms=$(ms_since "$t0")

# ---- cenv: unchanged re-apply ----
sleep 2  # let health-check status writes settle
docker events --filter "label=io.cenv.namespace=$NS" --filter type=container \
  --format '{{.Action}}' >"$BENCH_TMP/events.txt" 2>/dev/null &
events_pid=$!
sleep 0.5
reapply_runs=()
for _ in 1 2 3 4 5; do
  t0=$(now_ns)
  "$CENV_BIN" apply -f "$manifest" >/dev/null
  reapply_runs+=("$(ms_since "$t0")")
done
sleep 1
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
reapply_ms=$(printf '%s\n' "${reapply_runs[@]}" | median)
# exec_* events are health checks of other tools, not mutations; cenv's TCP checks make none.
mutations=$(grep -cvE '^(exec_|health_status|attach|top|resize)' "$BENCH_TMP/events.txt" || true)

# ---- cenv: a killed container ----
svc=web-01
restarts=$("$CENV_BIN" get service "$svc" -n "$NS" -o json | jq -r '.status.restarts // 0')
container=$(docker ps -q --filter "label=io.cenv.namespace=$NS" --filter "label=io.cenv.name=$svc")
t0=$(now_ns)
crash "$container"
"$CENV_BIN" wait "service/$svc" -n "$NS" --timeout=60s \
  --for=jsonpath="{.status.restarts}=$((restarts + 1))" >/dev/null
"$CENV_BIN" wait "service/$svc" -n "$NS" --timeout=60s --for=condition=Ready >/dev/null
cenv_kill_ms=$(ms_since "$t0")

ratio=$(awk -v a="$cenv_ms" -v b="$compose_ms" 'BEGIN { printf "%.2f", a / b }')
printf '\n%-44s %10s %10s %8s %-14s %s\n' measure cenv compose ratio target verdict
printf '%-44s %8s ms %7s ms %7sx %-14s %s\n' "cold start, $COUNT services until all Ready" \
  "$cenv_ms" "$compose_ms" "$ratio" "<= 1.0x" "$(verdict "$ratio" '<=' 1.0)"
printf '%-44s %8s ms %10s %8s %-14s %s\n' "unchanged re-apply (median of 5)" "$reapply_ms" - - \
  "<= 200 ms" "$(verdict "$reapply_ms" '<=' 200)"
printf '%-44s %10s %10s %8s %-14s %s\n' "Docker mutations during re-apply" "$mutations" - - "0" \
  "$(verdict "$mutations" '<=' 0)"
printf '%-44s %8s ms %7s ms %8s %-14s %s\n' "killed container back and Ready" "$cenv_kill_ms" \
  "$compose_kill_ms" - "<= 5000 ms" "$(verdict "$cenv_kill_ms" '<=' 5000)"
