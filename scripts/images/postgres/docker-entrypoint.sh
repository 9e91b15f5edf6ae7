#!/usr/bin/env bash
# Entrypoint of cenv/postgres:15, modelled on the official postgres image's:
#   - run as root: fix ownership of PGDATA and the socket dir, then re-exec as postgres;
#   - PGDATA empty: initdb with POSTGRES_USER (default postgres) and POSTGRES_PASSWORD,
#     password auth (scram-sha-256, or POSTGRES_HOST_AUTH_METHOD) for host connections,
#     listen on all addresses, create POSTGRES_DB (default: the user name), run
#     /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz;
#   - finally exec postgres in the foreground (PID 1 of the container).
# Any command not starting with "postgres" (or a -flag) is exec'ed as is.
set -Eeuo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

log() { echo "cenv-postgres: $*" >&2; }

# As PID 1 this shell would ignore `docker stop` (SIGINT/SIGTERM) until it execs postgres;
# stop promptly instead, also in the middle of initdb.
trap 'log "stopped by SIGINT"; exit 130' INT
trap 'log "stopped by SIGTERM"; exit 143' TERM

# "docker run IMAGE -c foo=bar" means "postgres -c foo=bar".
if [[ $# -eq 0 || ${1:0:1} == '-' ]]; then
  set -- postgres "$@"
fi

if [[ $1 != postgres ]]; then
  exec "$@"
fi

if [[ $(id -u) -eq 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA" || true
  chmod 3777 /var/run/postgresql
  # Only chown what is not already ours: PGDATA may be a large existing volume.
  find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
  chown postgres:postgres /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

process_init_file() {
  local f=$1
  case $f in
    *.sh)
      if [[ -x $f ]]; then
        log "running $f"
        "$f"
      else
        log "sourcing $f"
        # shellcheck disable=SC1090
        . "$f"
      fi
      ;;
    *.sql) log "running $f"; psql_init -f "$f" ;;
    *.sql.gz) log "running $f"; gunzip -c "$f" | psql_init ;;
    *) log "ignoring $f" ;;
  esac
}

# psql_init [--db NAME] ARGS...: psql over the unix socket as POSTGRES_USER.
psql_init() {
  local db=$POSTGRES_DB
  if [[ ${1:-} == --db ]]; then db=$2; shift 2; fi
  PGHOST=$init_socket_dir PGPORT=5432 psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
    --username "$POSTGRES_USER" --dbname "$db" "$@"
}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
  : "${POSTGRES_USER:=postgres}"
  : "${POSTGRES_DB:=$POSTGRES_USER}"
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  export POSTGRES_USER POSTGRES_DB
  if [[ -z ${POSTGRES_PASSWORD:-} && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
    log "error: database is uninitialized and POSTGRES_PASSWORD is not set."
    log "  Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust to allow all"
    log "  connections without a password, never do that outside tests)."
    exit 1
  fi

  log "initializing $PGDATA for user $POSTGRES_USER"
  pwfile=$(mktemp)
  trap 'rm -f "$pwfile"' EXIT
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  # In the background + wait: bash runs the traps above only between commands, and
  # initdb takes seconds. When PID 1 exits, the kernel ends initdb too.
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list, as upstream.
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
    ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA" >/dev/null &
  wait $!
  rm -f "$pwfile"
  trap - EXIT

  if [[ $POSTGRES_HOST_AUTH_METHOD == scram-sha-256 ]]; then
    echo "password_encryption = 'scram-sha-256'" >>"$PGDATA/postgresql.conf"
  fi
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all $POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  # Start a server reachable only on a private unix socket to create the database and
  # run the init scripts, then stop it again. Private, so that pg_isready (health
  # checks) answers only once the real server is up.
  init_socket_dir=$(mktemp -d)
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432 -k $init_socket_dir" -w start >/dev/null
  if [[ $POSTGRES_DB != postgres ]]; then
    psql_init --db postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  shopt -s nullglob
  for f in /docker-entrypoint-initdb.d/*; do
    process_init_file "$f"
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  rmdir "$init_socket_dir"
  log "init complete; ready for start up"
fi

exec "$@"
