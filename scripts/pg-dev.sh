#!/bin/sh
# A local PostgreSQL for development, kept in the project folder under .pg/.
#
#   scripts/pg-dev.sh start    create the cluster the first time, start it, print DATABASE_URL
#   scripts/pg-dev.sh stop     stop it (the data stays in .pg/)
#   scripts/pg-dev.sh status   say whether it runs, print DATABASE_URL; exit 3 when stopped
#
#   DATABASE_URL=$(scripts/pg-dev.sh start) ./build/chopin
#
# PostgreSQL refuses to run as root: as root the cluster belongs to and runs as the `postgres`
# user (through runuser); as anyone else it runs as that user. PGDEV_PORT picks the port the
# first time (default 5433, next to a system server's 5432); it is then remembered in .pg/port.
# The server listens on 127.0.0.1 only; role and database are both `chopin`, password `chopin`.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/.pg

die() {
    echo "pg-dev: $*" >&2
    exit 1
}

. "$ROOT/scripts/pg-lib.sh"
BIN=$(pg_find_bin) || die "no PostgreSQL server found: install it with scripts/deps.sh test"
pg_owner_setup || die "cannot pick the cluster's owner"

port() { cat "$DIR/port"; }
url() { echo "postgres://chopin:chopin@127.0.0.1:$(port)/chopin"; }
opts() { echo "-k $DIR/sock -p $(port) -c listen_addresses=127.0.0.1"; }
running() { [ -f "$DIR/port" ] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; }
psql_admin() {
    as_owner "$BIN/psql" -h "$DIR/sock" -p "$(port)" -U postgres -d postgres -qtA -v ON_ERROR_STOP=1 "$@"
}

create() {
    mkdir -p "$DIR/sock"
    if [ "$OWNER" != "$(id -un)" ]; then
        chown -R "$OWNER" "$DIR"
        as_owner test -x "$DIR" ||
            die "user $OWNER cannot reach $DIR (a parent folder is not searchable by others)"
    fi
    echo "${PGDEV_PORT:-5433}" >"$DIR/port"
    echo "pg-dev: creating a cluster in $DIR/data" >&2
    as_owner "$BIN/initdb" -D "$DIR/data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 ||
        { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
}

case ${1:-} in
start)
    [ -d "$DIR/data" ] || create
    if running; then
        echo "pg-dev: already running on port $(port)" >&2
    else
        if command -v ss >/dev/null 2>&1 && ss -ltn | grep -q "127.0.0.1:$(port) \|\*:$(port) "; then
            die "port $(port) is taken; remove $DIR/port and retry with PGDEV_PORT=<port>"
        fi
        as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 -o "$(opts)" start \
            >/dev/null 2>&1 || { tail -n 20 "$DIR/server.log" >&2; die "server did not start"; }
    fi
    # Idempotent: the role and database are created when missing.
    if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = 'chopin'")" != 1 ]; then
        psql_admin -c "CREATE ROLE chopin LOGIN PASSWORD 'chopin'" >/dev/null
    fi
    if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'chopin'")" != 1 ]; then
        psql_admin -c "CREATE DATABASE chopin OWNER chopin" >/dev/null
    fi
    url
    ;;
stop)
    if running; then
        as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
        echo "pg-dev: stopped" >&2
    else
        echo "pg-dev: not running" >&2
    fi
    ;;
status)
    if running; then
        echo "pg-dev: running on port $(port) (data in $DIR/data)" >&2
        url
    else
        echo "pg-dev: not running" >&2
        exit 3
    fi
    ;;
*)
    echo "usage: $0 start | stop | status" >&2
    exit 2
    ;;
esac
