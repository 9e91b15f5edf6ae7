#!/usr/bin/env bash
# A Git push until the Environment is Ready on it: with the push webhook against polling.
#
# An Environment follows a local bare repository (file://) holding one Service (busybox sleep
# from cenv/base:bookworm); each push changes the Service's env, so its container is replaced.
# Measured, per push, from `git push` returning until status.source.lastAppliedRevision is the
# pushed commit and Synced=True:
#   1. webhook: interval 1h, and right after the push a POST /hooks/git/<env> signed with
#      `openssl dgst -sha256 -hmac` (curl). Target: <= 2 s.
#   2. polling: no webhook, interval BENCH_INTERVAL (default 10s), the peer the webhook is
#      measured against. Each push follows the previous sync at once, so it waits about a whole
#      interval: polling's worst case (a push at a random time waits half of one on average).
# Median of BENCH_RUNS pushes each (default 5). Everything is labelled with the run's instance
# and removed at the end.
#
#   CENV_BIN=build/cli/cenv bench/gitops_push.sh   (needs Docker, git, curl, openssl)
set -euo pipefail
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

RUNS="${BENCH_RUNS:-5}"
INTERVAL="${BENCH_INTERVAL:-10s}"
IMAGE=cenv/base:bookworm
SECRET="bench-secret-$$"
for tool in git curl openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
docker image inspect "$IMAGE" >/dev/null || { echo "error: $IMAGE is missing (scripts/bootstrap-images)" >&2; exit 1; }

new_home gitops
export CENV_HOME="$HOME_DIR"
start_controller "$CENV_HOME"
HTTP="$(head -n1 "$CENV_HOME/run/http.addr")"

REPO_DIR="$BENCH_TMP/repo"
git init -q --bare -b main "$REPO_DIR/ops.git"
git clone -q "$REPO_DIR/ops.git" "$REPO_DIR/work" 2>/dev/null
git -C "$REPO_DIR/work" checkout -q -b main
mkdir -p "$REPO_DIR/work/deploy"

# push N: commits the Service with env REV=N and pushes; prints the commit.
push() {
  printf 'apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  image: %s\n  command: [sleep, "3600"]\n  env:\n  - {name: REV, value: "%s"}\n' \
    "$IMAGE" "$1" >"$REPO_DIR/work/deploy/web.yaml"
  git -C "$REPO_DIR/work" add -A
  git -C "$REPO_DIR/work" -c user.name=bench -c user.email=bench@example.com commit -q -m "rev $1"
  git -C "$REPO_DIR/work" push -q origin main 2>/dev/null
  git -C "$REPO_DIR/work" rev-parse HEAD
}

# webhook ENV: the signed POST a Git host sends.
webhook() {
  local body='{"ref":"refs/heads/main"}' sig
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
  curl -sf -o /dev/null -X POST --data-binary "$body" -H "X-Hub-Signature-256: sha256=$sig" \
    "http://$HTTP/hooks/git/$1"
}

# ready ENV COMMIT: waits until COMMIT is applied and Synced=True.
ready() {
  "$CENV_BIN" wait "env/$1" --for=jsonpath='{.status.source.lastAppliedRevision}'="$2" \
    --timeout 120s >/dev/null
  "$CENV_BIN" wait "env/$1" --for=condition=Synced --timeout 120s >/dev/null
}

# environment ENV INTERVAL: applies ENV following the repository, waits for its first sync.
environment() {
  printf 'apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: %s\nspec:\n  secrets:\n    hook: %s\n  source:\n    git:\n      url: file://%s\n    path: deploy\n    interval: %s\n    webhookSecretRef: hook\n' \
    "$1" "$SECRET" "$REPO_DIR/ops.git" "$2" | "$CENV_BIN" apply -f - >/dev/null
  ready "$1" "$(git -C "$REPO_DIR/work" rev-parse HEAD)"
}

# measure ENV MODE: RUNS pushes, the milliseconds of each until Ready, one per line.
measure() {
  local env="$1" mode="$2" i commit start
  for ((i = 1; i <= RUNS; i++)); do
    commit=$(push "$mode-$i")
    start=$(now_ns)
    [[ "$mode" = webhook ]] && webhook "$env"
    ready "$env" "$commit"
    echo $((($(now_ns) - start) / 1000000))
  done
}

push 0 >/dev/null
machine_line
environment push-hook 1h
hook_ms=$(measure push-hook webhook | median)
"$CENV_BIN" delete env push-hook --wait --timeout 60s >/dev/null
environment push-poll "$INTERVAL"
poll_ms=$(measure push-poll poll | median)
"$CENV_BIN" delete env push-poll --wait --timeout 60s >/dev/null

echo "push until Ready, median of $RUNS: webhook ${hook_ms} ms ($(verdict "$hook_ms" "<=" 2000) <= 2000 ms);" \
  "polling every $INTERVAL: ${poll_ms} ms"
