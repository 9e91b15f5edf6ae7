# Shared by the bench/*.sh scripts (sourced, not run; not executable so `make bench` skips it).
# Gives: REPO, CENV_BIN (absolute), BENCH_TMP (removed on exit), new_home, start_controller,
# stop_controller, gen_services, median/percentile helpers, and machine_line. Every controller
# started through start_controller (or registered with register_home) is stopped on exit.
#
# BENCH_NO_DOCKER=1 (set by the API-only benches before sourcing this: apply_10k, get_latency,
# memory_10k, watch_fanout): DOCKER_HOST=unix:///nonexistent is exported, so every controller
# the script starts (start_controller, `controller run`, a CLI autostart) runs without Docker
# and creates no containers or networks (a controller with Docker would create the cenv-NS
# networks of the bench's namespaces and leave them behind). services_50.sh and run_logs.sh
# need the real Docker and leave it unset.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CENV_BIN="${CENV_BIN:-$REPO/build/cli/cenv}"
[[ "$CENV_BIN" = /* ]] || CENV_BIN="$PWD/$CENV_BIN"
if [[ ! -x "$CENV_BIN" ]]; then
  echo "error: no cenv binary at $CENV_BIN (build it, or set CENV_BIN)" >&2
  exit 1
fi

if [[ "${BENCH_NO_DOCKER:-0}" = 1 ]]; then
  export DOCKER_HOST=unix:///nonexistent
fi

# Every controller a script starts is a cenv instance of its own (README: CENV_INSTANCE), so it
# never adopts or removes what a user's controller made, and all it leaves in Docker (the
# default namespace's network cenv.<instance>-default, say) is removed on exit. A CENV_INSTANCE
# given by the caller is used as it is, and then nothing is removed.
BENCH_OWN_INSTANCE=0
if [[ -z "${CENV_INSTANCE:-}" ]]; then
  export CENV_INSTANCE="bench-$$"
  BENCH_OWN_INSTANCE=1
fi

BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/cenv-bench.XXXXXX")"
BENCH_HOMES=()
BENCH_PIDS=()  # controllers started here, killed on exit if `controller stop` missed them
# Extra cleanup steps (function names) a script adds; run first, before the controllers stop.
BENCH_CLEANUPS=()

bench_cleanup() {
  local rc=$?
  set +e
  # Script cleanups first: they may still talk to the controllers (which would otherwise be
  # started again by the CLI after being stopped below).
  local fn
  for fn in "${BENCH_CLEANUPS[@]}"; do "$fn"; done
  local home pid
  for home in "${BENCH_HOMES[@]}"; do
    CENV_HOME="$home" "$CENV_BIN" controller stop >/dev/null 2>&1
  done
  for pid in "${BENCH_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null && grep -q controller "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null
    fi
  done
  if [[ "$BENCH_OWN_INSTANCE" = 1 && "${BENCH_NO_DOCKER:-0}" != 1 ]] &&
    command -v docker >/dev/null; then
    local filter="label=io.cenv.instance=$CENV_INSTANCE"
    docker ps -aq --filter "$filter" | xargs -r docker rm -f >/dev/null 2>&1
    docker network ls -q --filter "$filter" | xargs -r docker network rm >/dev/null 2>&1
    docker volume ls -q --filter "$filter" | xargs -r docker volume rm >/dev/null 2>&1
  fi
  rm -rf "$BENCH_TMP"
  exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# new_home NAME: sets HOME_DIR to a fresh CENV_HOME under BENCH_TMP, registered for cleanup.
# (Not printed: a $(new_home) subshell could not register it.)
new_home() {
  HOME_DIR="$BENCH_TMP/$1"
  rm -rf "$HOME_DIR"
  mkdir -p "$HOME_DIR"
  BENCH_HOMES+=("$HOME_DIR")
}

# start_controller HOME [PREFIX...]: starts the local controller for HOME in the background (the
# way the CLI autostarts it), through PREFIX when given (`taskset -c 0`, say), with the flags in
# the array START_ARGS when a script sets it (`--listen ... --certs ...`), and waits until it
# answers.
START_ARGS=()
start_controller() {
  local home="$1"
  shift
  CENV_HOME="$home" "$@" "$CENV_BIN" controller start "${START_ARGS[@]}" >/dev/null
  # The pid file may land just after the controller first answers.
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s "$home/run/controller.pid" ]] && break
    sleep 0.05
  done
  BENCH_PIDS+=("$(cat "$home/run/controller.pid")")
}

# settle HOME: waits (at most 120 s) until the controller's CPU stops moving for a second, so
# that what follows is measured alone, not beside the reconcilers still reacting to earlier
# writes (without Docker, each Service's reconcile fails and retries).
settle() {
  local pid prev=-1 now i
  pid=$(controller_pid "$1")
  for ((i = 0; i < 120; i++)); do
    now=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    [[ "$now" == "$prev" ]] && return 0
    prev="$now"
    sleep 1
  done
}

stop_controller() {
  CENV_HOME="$1" "$CENV_BIN" controller stop >/dev/null 2>&1 || true
}

# controller_pid HOME: the pid `cenv controller status` reports.
controller_pid() {
  CENV_HOME="$1" "$CENV_BIN" controller status | awk '$1 == "pid:" { print $2 }'
}

# gen_services FILE NS COUNT: one Environment NS plus COUNT-1 Services in it, each with two
# labels and one port, as one multi-document YAML file.
gen_services() {
  local file="$1" ns="$2" count="$3"
  awk -v ns="$ns" -v n="$((count - 1))" 'BEGIN {
    printf "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: %s\n", ns
    printf "  labels:\n    bench: \"true\"\nspec:\n  baseImage: cenv/base:bookworm\n"
    for (i = 1; i <= n; i++) {
      printf "---\napiVersion: cenv.io/v1\nkind: Service\nmetadata:\n"
      printf "  name: svc-%05d\n  namespace: %s\n", i, ns
      printf "  labels:\n    app: svc-%05d\n    tier: t%d\n", i, i % 10
      printf "spec:\n  ports:\n    - containerPort: %d\n", 8000 + i % 1000
    }
  }' >"$file"
}

# --- A private PostgreSQL (Debian's server binaries), for the benches of the PostgreSQL store ---
# pg_start: initdb into a temp dir and start it on a free port (PG_DIR, PG_PORT); stopped and
# removed on exit. pg_createdb NAME: a fresh database; prints its URL.
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR="" PG_PORT="" PG_AS=()
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
pg_stop() {
  if [[ -n "$PG_DIR" && -f "$PG_DIR/data/postmaster.pid" ]]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  [[ -n "$PG_DIR" ]] && rm -rf "$PG_DIR"
}
pg_start() {
  PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cenv-bench-pg.XXXXXX")"
  BENCH_CLEANUPS+=(pg_stop)
  if ((EUID == 0)); then
    chown postgres: "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  PG_PORT=$(free_port)
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust >"$PG_DIR/initdb.log"
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" start >/dev/null
}
pg_createdb() {
  "${PG_AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1"
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"
}

# cpu_ticks PID: user + system CPU of PID so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK="$(getconf CLK_TCK)"
# pg_cpu_ticks: CPU of the postmaster and its children (the backends) so far, in ticks.
pg_cpu_ticks() {
  local pm p total=0
  pm=$(head -1 "$PG_DIR/data/postmaster.pid")
  for p in "$pm" $(pgrep -P "$pm"); do
    total=$((total + $(cpu_ticks "$p" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# cpu_cap NAME FRACTION PID...: moves the processes PID (with all their threads) into a CPU
# cgroup of their own limited to FRACTION of one CPU, as if each ran on a small machine of its
# own; the cgroup is emptied and removed on exit. Uses cgroup v1's cpu controller or cgroup v2's
# cpu.max; fails (returns 1, changes nothing) where neither is writable.
BENCH_CGROUPS=()
cpu_cap() {
  local name="$1" frac="$2" dir quota
  shift 2
  quota=$(awk -v f="$frac" 'BEGIN { printf "%d", f * 100000 }')
  if [[ -w /sys/fs/cgroup/cpu/cgroup.procs && -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]]; then
    dir="/sys/fs/cgroup/cpu/cenv-bench-$$-$name"
    mkdir "$dir" 2>/dev/null || return 1
    echo 100000 >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us" ||
      { rmdir "$dir"; return 1; }
  elif [[ -w /sys/fs/cgroup/cgroup.subtree_control ]] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || return 1
    dir="/sys/fs/cgroup/cenv-bench-$$-$name"
    mkdir "$dir" 2>/dev/null || return 1
    echo "$quota 100000" >"$dir/cpu.max" || { rmdir "$dir"; return 1; }
  else
    return 1
  fi
  if ((${#BENCH_CGROUPS[@]} == 0)); then BENCH_CLEANUPS+=(cpu_uncap_all); fi
  BENCH_CGROUPS+=("$dir")
  local pid
  for pid in "$@"; do echo "$pid" >"$dir/cgroup.procs"; done
}
# cpu_uncap_all: moves every capped process back and removes the cgroups cpu_cap made.
cpu_uncap_all() {
  local dir pid
  for dir in "${BENCH_CGROUPS[@]}"; do
    [[ -d "$dir" ]] || continue
    while read -r pid; do echo "$pid" >"$(dirname "$dir")/cgroup.procs" 2>/dev/null; done \
      <"$dir/cgroup.procs"
    rmdir "$dir" 2>/dev/null
  done
  BENCH_CGROUPS=()
}

# now_ns: wall clock in nanoseconds.
now_ns() { date +%s%N; }

# median of the numbers on stdin (one per line).
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# percentile P: nearest-rank percentile of the numbers on stdin.
percentile() {
  sort -g | awk -v p="$1" '{ a[NR] = $1 } END { r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; print a[r] }'
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# machine_line: what the numbers were measured on.
machine_line() {
  local cpu mem
  cpu="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  mem="$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "machine: $(nproc) cpus, $cpu, $mem RAM; load average $(loadavg); cenv: $CENV_BIN;" \
    "DOCKER_HOST=${DOCKER_HOST:-(unset)}"
}

# verdict VALUE OP TARGET: "ok" or "MISSED" (OP is <= or >=); never fails the script.
verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
    ok = (op == "<=") ? (v <= t) : (v >= t); print ok ? "ok" : "MISSED" }'
}
