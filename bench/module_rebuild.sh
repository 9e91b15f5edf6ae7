#!/usr/bin/env bash
# Runtime image rebuild: an Environment with 5 inline Modules (the first installs jq with apt,
# the others run a script each), built by the Environment reconciler against the real dockerd
# in process (bench/module_rebuild, built with the project: `ninja -C BUILD module_rebuild`).
# Each round changes the last Module and times cenv's rebuild (the Module's write until the
# Environment uses the new image), then `DOCKER_BUILDKIT=0 docker build --network host` of the
# same generated Dockerfile and context for another change of the last Module (the same cache
# state; the legacy builder is what cenv's /build call uses). Then the reconcile of the
# unchanged Environment, called directly, --reconciles times.
# Targets: rebuild <= 1.2x docker build (median of the rounds); unchanged reconcile <= 50 ms.
#
#   bench/module_rebuild.sh [--rounds 3] [--reconciles 50]
#   MODULE_REBUILD_BIN=build/bench/module_rebuild bench/module_rebuild.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${MODULE_REBUILD_BIN:-$REPO/build/bench/module_rebuild}"
if [[ ! -x "$BIN" ]]; then
  echo "error: no module_rebuild at $BIN (ninja -C BUILD module_rebuild, or set" \
    "MODULE_REBUILD_BIN)" >&2
  exit 1
fi
docker image inspect cenv/base:bookworm >/dev/null || {
  echo "error: cenv/base:bookworm is missing (scripts/bootstrap-images)" >&2
  exit 1
}
echo "module_rebuild: $BIN; $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" "$@" 2> >(grep -v '\[info\]' >&2)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
