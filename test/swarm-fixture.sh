#!/usr/bin/env bash
# The one swarm the swarm suites share within a ctest run (CTest fixture cenv_swarm, see
# test/CMakeLists.txt). `setup MARK`: makes this Docker engine a single-node swarm when it is in
# none (`docker swarm init --advertise-addr 127.0.0.1`), records in the file MARK that it made
# it, and waits until the swarm's ingress network exists. `cleanup MARK`: leaves the swarm only
# when MARK says this run made it; a swarm found is left as it was. One swarm per run instead
# of one per test (test/swarm_guard.h, which then finds it active): after several init/leave in
# a row dockerd's allocator was seen to leave a new service's tasks "New" on no node.
set -euo pipefail
mark="$2"
state="$(docker info --format '{{.Swarm.LocalNodeState}}')"
case "$1" in
  setup)
    rm -f "$mark"
    if [[ "$state" == inactive ]]; then
      docker swarm init --advertise-addr 127.0.0.1 >/dev/null
      touch "$mark"
    elif [[ "$state" != active ]]; then
      echo "swarm-fixture: the engine's swarm state is '$state'" >&2
      exit 1
    fi
    for ((i = 0; i < 300; i++)); do
      docker network inspect ingress >/dev/null 2>&1 && exit 0
      sleep 0.1
    done
    echo "swarm-fixture: the swarm's ingress network did not appear within 30 s" >&2
    exit 1
    ;;
  cleanup)
    if [[ -f "$mark" ]]; then
      rm -f "$mark"
      docker swarm leave --force >/dev/null
    fi
    ;;
  *)
    echo "usage: swarm-fixture.sh setup|cleanup MARK" >&2
    exit 2
    ;;
esac
