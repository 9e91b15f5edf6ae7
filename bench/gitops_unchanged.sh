#!/usr/bin/env bash
# A GitOps sync of an unchanged revision: an Environment follows a local bare repository
# (file://) of BENCH_OBJECTS Services (default 200; busybox sleep from cenv/base:bookworm, so
# every one is a running container). Once all are Ready and Synced, BENCH_RUNS sync requests
# (default 5, `cenv sync env/NAME --wait`: the request, the fetch of the same commit, the
# validation and apply of every manifest, the health check, and the status) are timed, and
# the Docker events of the Environment's containers are recorded meanwhile: a sync of an
# unchanged revision must change nothing in Docker. Targets (issue 13): <= 300 ms, 0 mutations.
#
#   CENV_BIN=build/cli/cenv bench/gitops_unchanged.sh   (needs Docker and git)
set -euo pipefail
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

RUNS="${BENCH_RUNS:-5}"
OBJECTS="${BENCH_OBJECTS:-200}"
IMAGE=cenv/base:bookworm
ENV_NAME=gitops-same
command -v git >/dev/null || { echo "error: git is not installed" >&2; exit 1; }
docker image inspect "$IMAGE" >/dev/null || { echo "error: $IMAGE is missing (scripts/bootstrap-images)" >&2; exit 1; }

new_home gitops-same
export CENV_HOME="$HOME_DIR"
start_controller "$CENV_HOME"

REPO_DIR="$BENCH_TMP/repo"
git init -q --bare -b main "$REPO_DIR/ops.git"
git clone -q "$REPO_DIR/ops.git" "$REPO_DIR/work" 2>/dev/null
git -C "$REPO_DIR/work" checkout -q -b main
mkdir -p "$REPO_DIR/work/deploy"
for ((i = 1; i <= OBJECTS; i++)); do
  # sh as PID 1 ignores SIGTERM unless it traps it: without the trap every container would
  # wait out its stop timeout when the Environment is deleted.
  printf 'apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: web-%03d\n  labels: {tier: web}\nspec:\n  image: %s\n  command: [sh, -c, "trap \x27exit 0\x27 TERM; sleep 3600 & wait"]\n' \
    "$i" "$IMAGE" >"$REPO_DIR/work/deploy/web-$i.yaml"
done
git -C "$REPO_DIR/work" add -A
git -C "$REPO_DIR/work" -c user.name=bench -c user.email=bench@example.com commit -q -m services
git -C "$REPO_DIR/work" push -q origin main 2>/dev/null
commit=$(git -C "$REPO_DIR/work" rev-parse HEAD)

machine_line
printf 'apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: %s\nspec:\n  source:\n    git:\n      url: file://%s\n    path: deploy\n    interval: 1h\n' \
  "$ENV_NAME" "$REPO_DIR/ops.git" | "$CENV_BIN" apply -f - >/dev/null
t0=$(now_ns)
"$CENV_BIN" wait "env/$ENV_NAME" --for=jsonpath='{.status.source.lastAppliedRevision}'="$commit" \
  --timeout 600s >/dev/null
"$CENV_BIN" wait "env/$ENV_NAME" --for=condition=Synced --timeout 600s >/dev/null
first_ms=$((($(now_ns) - t0) / 1000000))
sleep 2  # health-check status writes settle

docker events --filter "label=io.cenv.namespace=$ENV_NAME" --filter type=container \
  --format '{{.Action}}' >"$BENCH_TMP/events.txt" 2>/dev/null &
events_pid=$!
sleep 0.5
runs=()
for ((i = 1; i <= RUNS; i++)); do
  t0=$(now_ns)
  "$CENV_BIN" sync "env/$ENV_NAME" --wait --timeout 60s >/dev/null
  runs+=("$((($(now_ns) - t0) / 1000000))")
done
sleep 1
kill "$events_pid" 2>/dev/null || true
wait "$events_pid" 2>/dev/null || true
mutations=$(grep -cvE '^(exec_|health_status|attach|top|resize)' "$BENCH_TMP/events.txt" || true)
sync_ms=$(printf '%s\n' "${runs[@]}" | median)

echo "first sync of $OBJECTS Services until Synced: ${first_ms} ms"
echo "sync of the unchanged revision, median of $RUNS (${runs[*]} ms): ${sync_ms} ms" \
  "($(verdict "$sync_ms" "<=" 300) <= 300 ms); Docker mutations meanwhile: $mutations" \
  "($( ((mutations == 0)) && echo ok || echo MISSED) 0)"
echo "load average at end: $(loadavg)"
t0=$(now_ns)
if "$CENV_BIN" delete env "$ENV_NAME" --wait --timeout 600s >/dev/null; then
  echo "delete of the Environment until gone: $((($(now_ns) - t0) / 1000000)) ms"
else
  echo "delete of the Environment: not gone after 600 s"
fi
