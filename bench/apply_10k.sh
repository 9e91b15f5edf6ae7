#!/usr/bin/env bash
# Throughput of `cenv apply -f` for 10,000 small objects (one Environment + 9,999 Services,
# two labels and one port each) in one YAML file: each run on a fresh CENV_HOME with a fresh
# controller, wall clock of the first apply (all created) and of a re-apply (all unchanged).
# Median over BENCH_RUNS runs (default 5). Targets: >= 5,000 objects/s on SQLite, >= 2,000 on
# PostgreSQL (that part runs when `cenv controller run --store postgres://...` is available;
# it starts a private PostgreSQL 15 from /usr/lib/postgresql/15/bin on a free port).
#
#   CENV_BIN=build-bench/cli/cenv bench/apply_10k.sh
#   BENCH_RUNS=3 BENCH_OBJECTS=10000 BENCH_PG=0 bench/apply_10k.sh   # BENCH_PG=0: SQLite only
set -euo pipefail
BENCH_NO_DOCKER=1  # API only: the controller runs without Docker (common.bash)
# shellcheck source=bench/common.bash
source "$(dirname "$0")/common.bash"

RUNS="${BENCH_RUNS:-5}"
OBJECTS="${BENCH_OBJECTS:-10000}"
NS=bench10k
MANIFEST="$BENCH_TMP/objects.yaml"
gen_services "$MANIFEST" "$NS" "$OBJECTS"

# count_actions FILE ACTION: lines of apply output ending in ACTION.
count_actions() { grep -c " $2\$" "$1" || true; }

# db_cpu_ticks: CPU of the database server processes so far (0 for SQLite, which is in-process).
DB_CPU_FN=no_db_cpu
no_db_cpu() { echo 0; }

# timed_apply HOME EXPECTED_ACTION: applies MANIFEST, checks every object got the action,
# prints "WALL CLIENT_CPU CONTROLLER_CPU DB_CPU" in seconds (CPU: user + system).
timed_apply() {
  local home="$1" want="$2" out="$BENCH_TMP/apply.out" pid c0 c1 d0 d1 n
  pid=$(controller_pid "$home")
  c0=$(cpu_ticks "$pid")
  d0=$("$DB_CPU_FN")
  local TIMEFORMAT="%3R %3U %3S"
  { time CENV_HOME="$home" "$CENV_BIN" apply -f "$MANIFEST" >"$out" 2>"$out.err"; } \
    2>"$BENCH_TMP/time.out" || { cat "$out.err" >&2; return 1; }
  c1=$(cpu_ticks "$pid")
  d1=$("$DB_CPU_FN")
  n=$(count_actions "$out" "$want")
  if ((n != OBJECTS)); then
    echo "error: expected $OBJECTS objects $want, got $n; output starts:" >&2
    head -5 "$out" >&2
    return 1
  fi
  awk -v c="$((c1 - c0))" -v d="$((d1 - d0))" -v tick="$TICK" \
    '{ printf "%.3f %.3f %.3f %.3f\n", $1, $2 + $3, c / tick, d / tick }' "$BENCH_TMP/time.out"
}

# row LABEL PHASE TARGET WALLS CLIENT_CPUS CONTROLLER_CPUS DB_CPUS: a row of the medians.
row() {
  local m c s d r cpu shown="-" v=""
  m=$(tr ' ' '\n' <<<"$4" | median)
  c=$(tr ' ' '\n' <<<"$5" | median)
  s=$(tr ' ' '\n' <<<"$6" | median)
  d=$(tr ' ' '\n' <<<"$7" | median)
  r=$(awk -v n="$OBJECTS" -v t="$m" 'BEGIN { printf "%.0f", n / t }')
  cpu=$(awk -v n="$OBJECTS" -v a="$c" -v b="$s" -v d="$d" 'BEGIN { printf "%.0f", n / (a + b + d) }')
  if [[ "$3" != - ]]; then
    shown=">= $3"
    v="$(verdict "$r" '>=' "$3")"
  fi
  printf '%-9s %-21s %8s %10s %8s %8s %8s %10s %10s %s\n' "$1" "$2" "$m" "$r" "$c" "$s" "$d" \
    "$cpu" "$shown" "$v"
}

# ratio_line LABEL WALLS1 WALLS2 CLIENT1 CLIENT2 CONTROLLER1 CONTROLLER2: what the unchanged
# re-apply costs against the create (medians), in wall clock, and in CPU of the controller and
# of both processes. Target (issue 13): at most a third. The create's controller CPU includes
# the reconcilers' first reaction to the new objects, which runs beside it.
ratio_line() {
  local w1 w2 c1 c2 s1 s2
  w1=$(tr ' ' '\n' <<<"$2" | median) w2=$(tr ' ' '\n' <<<"$3" | median)
  c1=$(tr ' ' '\n' <<<"$4" | median) c2=$(tr ' ' '\n' <<<"$5" | median)
  s1=$(tr ' ' '\n' <<<"$6" | median) s2=$(tr ' ' '\n' <<<"$7" | median)
  awk -v l="$1" -v w1="$w1" -v w2="$w2" -v c1="$c1" -v c2="$c2" -v s1="$s1" -v s2="$s2" 'BEGIN {
    printf "  [%s re-apply / create: wall %.2f, controller cpu %.2f, client+controller cpu %.2f;" \
      " target <= 0.33]\n", l, w2 / w1, s2 / s1, (c2 + s2) / (c1 + s1) }'
}

# run_engine LABEL TARGET START_FN: BENCH_RUNS runs; START_FN HOME RUN starts the controller.
run_engine() {
  local label="$1" target="$2" start_fn="$3" i home a b c d
  local w1=() c1=() s1=() d1=() w2=() c2=() s2=() d2=()
  for ((i = 1; i <= RUNS; i++)); do
    new_home "$label-$i"
    home="$HOME_DIR"
    "$start_fn" "$home" "$i"
    read -r a b c d <<<"$(timed_apply "$home" created)"
    w1+=("$a") c1+=("$b") s1+=("$c") d1+=("$d")
    settle "$home"
    read -r a b c d <<<"$(timed_apply "$home" unchanged)"
    w2+=("$a") c2+=("$b") s2+=("$c") d2+=("$d")
    echo "  $label run $i: apply ${w1[-1]} s (cpu: client ${c1[-1]} s, controller ${s1[-1]} s," \
      "db ${d1[-1]} s), re-apply ${w2[-1]} s (cpu ${c2[-1]} + ${s2[-1]} + ${d2[-1]} s);" \
      "load $(loadavg)" >&2
    stop_controller "$home"
  done
  {
    row "$label" "apply (all created)" "$target" "${w1[*]}" "${c1[*]}" "${s1[*]}" "${d1[*]}"
    row "$label" "re-apply (unchanged)" - "${w2[*]}" "${c2[*]}" "${s2[*]}" "${d2[*]}"
    echo "  [$label wall s, apply: ${w1[*]}; re-apply: ${w2[*]}]"
    ratio_line "$label" "${w1[*]}" "${w2[*]}" "${c1[*]}" "${c2[*]}" "${s1[*]}" "${s2[*]}"
  } >>"$RESULTS"
}

start_sqlite() { start_controller "$1"; }

# --- PostgreSQL: a private server, one fresh database per run --------------------------------
pg_supported() {
  "$CENV_BIN" controller run --help 2>&1 | grep -qi 'postgres'
}
start_postgres_controller() {
  local home="$1" db="bench_$2"
  "${PG_AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  mkdir -p "$home/logs"
  CENV_HOME="$home" setsid "$CENV_BIN" controller run \
    --store "postgres://postgres@127.0.0.1:$PG_PORT/$db" >"$home/logs/controller.log" 2>&1 &
  BENCH_PIDS+=("$!")
  local i
  for ((i = 0; i < 300; i++)); do
    if CENV_HOME="$home" "$CENV_BIN" controller status 2>/dev/null | grep -q 'store: *postgres'; then
      return 0
    fi
    sleep 0.1
  done
  echo "error: controller on PostgreSQL did not come up; log:" >&2
  tail -20 "$home/logs/controller.log" >&2
  return 1
}

echo "apply_10k: $OBJECTS objects ($(wc -c <"$MANIFEST") bytes of YAML), $RUNS runs per engine"
machine_line
RESULTS="$BENCH_TMP/results.txt"
printf '%-9s %-21s %8s %10s %8s %8s %8s %10s %10s\n' engine phase "wall s" "objects/s" \
  "cli cpu" "ctl cpu" "db cpu" "obj/cpu-s" target >"$RESULTS"
run_engine sqlite 5000 start_sqlite
if [[ "${BENCH_PG:-1}" == 0 ]]; then
  PG_NOTE="PostgreSQL: skipped (BENCH_PG=0)"
elif ! pg_supported; then
  PG_NOTE="PostgreSQL: not run: PostgreSQL store not selectable yet (cenv controller run --help names no postgres store)"
elif [[ ! -x "$PG_BIN/postgres" ]]; then
  PG_NOTE="PostgreSQL: not run: no server at $PG_BIN"
else
  pg_start
  PG_NOTE="PostgreSQL: private server $PG_BIN on 127.0.0.1:$PG_PORT (default settings, fsync on)"
  DB_CPU_FN=pg_cpu_ticks
  run_engine postgres 2000 start_postgres_controller
fi
echo
cat "$RESULTS"
echo "$PG_NOTE"
echo "load average at end: $(loadavg)"
