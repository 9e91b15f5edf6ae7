#!/usr/bin/env bash
# Controller replicas on one PostgreSQL (issue 15): three figures, each on a private PostgreSQL
# 15 (Debian's server binaries) and controllers without Docker (the reconcilers run and report
# DockerUnavailable: a reconcile all the same).
#   failover      kill -9 of the leader -> the first reconcile by the new leader: an Environment
#                 created through the follower right after the kill gets its first status
#                 condition. Default lease (15 s / 10 s / 2 s). Target <= lease + 2 s = 17 s.
#   watch         commit-to-delivery of a write made through replica A to 10 watchers on
#                 replica B (bench/watch_fanout --write-socket), p99; the same with watchers on A
#                 as the peer. Target p99 <= 20 ms (kine: up to 1 s).
#   apply         two clients applying 3,000 objects each at once: both through one replica,
#                 then one through each replica; once with every process sharing the CPUs,
#                 once with each replica capped at BENCH_HA_CPU_CAP (0.5) of a CPU by a cgroup
#                 (as on a machine of its own). Target >= 1.5x.
#   BENCH_RUNS=2 BENCH_HA_OBJECTS=3000 [BENCH_HA_PARTS="failover watch apply"] bench/ha.sh
set -euo pipefail
BENCH_NO_DOCKER=1
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

RUNS="${BENCH_RUNS:-2}"
OBJECTS="${BENCH_HA_OBJECTS:-3000}"
PARTS=" ${BENCH_HA_PARTS:-failover watch apply} "
part() { [[ "$PARTS" == *" $1 "* ]]; }
FANOUT_BIN="${WATCH_FANOUT_BIN:-$(dirname "$(dirname "$CENV_BIN")")/bench/watch_fanout}"

# start_replica HOME URL [FLAGS...]: `cenv controller run` in the background; waits until it
# answers.
start_replica() {
  local home="$1" url="$2"
  shift 2
  mkdir -p "$home/logs"
  CENV_HOME="$home" setsid "$CENV_BIN" controller run --store "$url" "$@" \
    >"$home/logs/controller.log" 2>&1 &
  BENCH_PIDS+=("$!")
  disown "$!"  # killed on purpose: no "Killed" notice
  local i
  for ((i = 0; i < 300; i++)); do
    CENV_HOME="$home" "$CENV_BIN" controller status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "error: replica $home did not come up" >&2
  tail -20 "$home/logs/controller.log" >&2
  return 1
}
leads() { CENV_HOME="$1" "$CENV_BIN" controller status 2>/dev/null | grep -q 'this replica'; }
wait_leads() {
  local i
  for ((i = 0; i < 400; i++)); do
    leads "$1" && return 0
    sleep 0.1
  done
  return 1
}
env_yaml() { printf 'apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: %s\nspec: {}\n' "$1"; }

echo "ha: controller replicas on one PostgreSQL ($RUNS runs)"
machine_line
pg_start

# --- failover ------------------------------------------------------------------------------
failovers=()
for ((r = 1; r <= RUNS; r++)); do
  part failover || break
  url=$(pg_createdb "ha_failover_$r")
  new_home "fo-a-$r"; a="$HOME_DIR"
  new_home "fo-b-$r"; b="$HOME_DIR"
  start_replica "$a" "$url"
  wait_leads "$a"
  start_replica "$b" "$url"
  env_yaml "before-$r" | CENV_HOME="$b" "$CENV_BIN" apply -f - >/dev/null
  sleep $((RANDOM % 3)).$((RANDOM % 10))  # somewhere in the leader's renew cycle
  kill -9 "$(controller_pid "$a")"
  t0=$(now_ns)
  env_yaml "after-$r" | CENV_HOME="$b" "$CENV_BIN" apply -f - >/dev/null
  for ((i = 0; i < 1200; i++)); do
    CENV_HOME="$b" "$CENV_BIN" get env "after-$r" -o json 2>/dev/null | grep -q '"conditions"' &&
      break
    sleep 0.05
  done
  t1=$(now_ns)
  ms=$(((t1 - t0) / 1000000))
  failovers+=("$ms")
  echo "failover run $r: ${ms} ms from kill -9 to the new leader's first reconcile (load $(loadavg))"
  stop_controller "$b"
done

# --- watch delivery across replicas --------------------------------------------------------
url=$(pg_createdb ha_watch)
new_home "w-a"; a="$HOME_DIR"
new_home "w-b"; b="$HOME_DIR"
start_replica "$a" "$url"
wait_leads "$a"
start_replica "$b" "$url"
settle "$a"
cross=() same=()
for ((r = 1; r <= RUNS; r++)); do
  part watch || break
  out="$BENCH_TMP/watch-cross-$r.out"
  CENV_HOME="$b" "$FANOUT_BIN" --watchers 10 --updates 500 -n "cross$r" \
    --socket "$b/run/controller.sock" --write-socket "$a/run/controller.sock" >"$out"
  cross+=("$(awk '$1 == "RESULT" { for (i = 2; i <= NF; i++) if ($i ~ /^p99_ms=/) print substr($i, 8) }' "$out")")
  out="$BENCH_TMP/watch-same-$r.out"
  CENV_HOME="$a" "$FANOUT_BIN" --watchers 10 --updates 500 -n "same$r" \
    --socket "$a/run/controller.sock" >"$out"
  same+=("$(awk '$1 == "RESULT" { for (i = 2; i <= NF; i++) if ($i ~ /^p99_ms=/) print substr($i, 8) }' "$out")")
  echo "watch run $r: p99 ${cross[-1]} ms across replicas, ${same[-1]} ms on one replica (load $(loadavg))"
done

# --- apply throughput: one replica against two -----------------------------------------------
# apply_once MODE LABEL: both clients' manifests through replica A (one) or one through each
# (two); prints the objects/s on stdout, a line with the CPU each process used on stderr.
apply_once() {
  local mode="$1" label="$2" f1="$BENCH_TMP/apply-$2-1.yaml" f2="$BENCH_TMP/apply-$2-2.yaml"
  local second="$a" pa pb ca cb cd t0 t1 p1 p2 rate
  gen_services "$f1" "$label-x" "$OBJECTS"
  gen_services "$f2" "$label-y" "$OBJECTS"
  settle "$a"
  settle "$b"
  [[ "$mode" == two ]] && second="$b"
  pa=$(controller_pid "$a") pb=$(controller_pid "$b")
  ca=$(cpu_ticks "$pa") cb=$(cpu_ticks "$pb") cd=$(pg_cpu_ticks)
  t0=$(now_ns)
  CENV_HOME="$a" "$CENV_BIN" apply -f "$f1" >/dev/null &
  p1=$!
  CENV_HOME="$second" "$CENV_BIN" apply -f "$f2" >/dev/null &
  p2=$!
  wait "$p1" "$p2"
  t1=$(now_ns)
  ca=$(($(cpu_ticks "$pa") - ca)) cb=$(($(cpu_ticks "$pb") - cb)) cd=$(($(pg_cpu_ticks) - cd))
  rate=$(awk -v n=$((2 * OBJECTS)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
  echo "apply $label, $mode replica(s): $((2 * OBJECTS)) objects at $rate objects/s;" \
    "CPU s: leader $(awk -v t="$ca" -v k="$TICK" 'BEGIN { print t / k }')," \
    "other $(awk -v t="$cb" -v k="$TICK" 'BEGIN { print t / k }')," \
    "PostgreSQL $(awk -v t="$cd" -v k="$TICK" 'BEGIN { print t / k }') (load $(loadavg))" >&2
  echo "$rate"
}
# Uncapped, both replicas, PostgreSQL and both clients share this machine's CPUs: two replicas
# can only win what one replica leaves idle. Capped (BENCH_HA_CPU_CAP of a CPU per replica, by
# a cgroup): each replica as on a machine of its own, PostgreSQL and the clients beside them,
# which is what adding a replica adds.
CAP="${BENCH_HA_CPU_CAP:-0.5}"
one=() two=() cone=() ctwo=()
if part apply; then
  for ((r = 1; r <= RUNS; r++)); do
    one+=("$(apply_once one "one$r")")
    two+=("$(apply_once two "two$r")")
  done
  if [[ "$CAP" != 0 ]] && cpu_cap replica-a "$CAP" "$(controller_pid "$a")" &&
    cpu_cap replica-b "$CAP" "$(controller_pid "$b")"; then
    echo "replicas capped at $CAP CPU each"
    for ((r = 1; r <= RUNS; r++)); do
      cone+=("$(apply_once one "cone$r")")
      ctwo+=("$(apply_once two "ctwo$r")")
    done
    cpu_uncap_all
  else
    echo "apply with capped replicas: skipped (BENCH_HA_CPU_CAP=0 or no writable cgroup here)"
  fi
fi

echo
printf 'RESULT failover_ms=%s watch_cross_p99_ms=%s watch_same_p99_ms=%s apply_one=%s apply_two=%s apply_capped_one=%s apply_capped_two=%s\n' \
  "$(IFS=,; echo "${failovers[*]}")" "$(IFS=,; echo "${cross[*]}")" "$(IFS=,; echo "${same[*]}")" \
  "$(IFS=,; echo "${one[*]}")" "$(IFS=,; echo "${two[*]}")" \
  "$(IFS=,; echo "${cone[*]}")" "$(IFS=,; echo "${ctwo[*]}")"
for ((r = 0; r < ${#one[@]}; r++)); do
  awk -v a="${one[$r]}" -v b="${two[$r]}" 'BEGIN { printf "apply ratio run %d, shared CPUs: %.2fx\n", '"$r"' + 1, b / a }'
done
for ((r = 0; r < ${#cone[@]}; r++)); do
  awk -v a="${cone[$r]}" -v b="${ctwo[$r]}" -v c="$CAP" 'BEGIN { printf "apply ratio run %d, replicas capped at %s CPU: %.2fx (target >= 1.5x)\n", '"$r"' + 1, c, b / a }'
done
