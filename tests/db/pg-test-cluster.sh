#!/bin/sh
# A throwaway PostgreSQL cluster for the database tests, under /tmp on a free port.
#
#   tests/db/pg-test-cluster.sh start            prints CHOPIN_PG_URL=... and CHOPIN_PG_DIR=...
#                                                (and CHOPIN_PG_TLS_URL=..., see below)
#   tests/db/pg-test-cluster.sh stop DIR         stops the cluster and deletes DIR
#   tests/db/pg-test-cluster.sh restart DIR      pg_ctl -m immediate restart (the outage test)
#   tests/db/pg-test-cluster.sh down DIR         pg_ctl -m immediate stop, keeping the cluster
#   tests/db/pg-test-cluster.sh up DIR           starts a cluster that is down
#   tests/db/pg-test-cluster.sh status DIR
#
# The output of `start` is meant for eval:  eval "$(tests/db/pg-test-cluster.sh start)"
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (via
# runuser); as anyone else it runs as that user. Exit status 0 on success, 1 on failure with
# the reason on stderr, 3 when no PostgreSQL server is installed.
set -eu

die() {
    echo "pg-test-cluster: $*" >&2
    exit 1
}

. "$(dirname "$0")/../../scripts/pg-lib.sh"
BIN=$(pg_find_bin) || {
    echo "pg-test-cluster: no PostgreSQL server found (install postgresql)" >&2
    exit 3
}
pg_owner_setup || die "cannot pick the cluster's owner"

free_port() {
    # A port nothing listens on: python3 asks the kernel for one; otherwise probe with ss.
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
        return
    fi
    p=$((20000 + $$ % 20000))
    while ss -ltn 2>/dev/null | grep -q ":$p "; do p=$((p + 1)); done
    echo "$p"
}

ctl() { # DIR ARGS...
    dir=$1
    shift
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" "$@"
}

# The server also accepts TLS, with a self-signed certificate made at start when openssl is
# installed: CHOPIN_PG_TLS_URL (sslmode=require) reaches it that way. CHOPIN_PG_URL says
# sslmode=disable, since libpq's default would otherwise pick TLS for every test and benchmark.
#
# fsync and full-page writes only protect against an OS crash, which a throwaway cluster does not
# survive anyway. Commits stay synchronous: the restart test kills the server (-m immediate),
# and an asynchronous commit would lose the freshly created schema with it.
server_opts() { # DIR PORT
    tls=""
    if [ -f "$1/tls/server.crt" ]; then
        tls=" -c ssl=on -c ssl_cert_file=$1/tls/server.crt -c ssl_key_file=$1/tls/server.key"
    fi
    echo "-k $1/sock -p $2 -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=128MB$tls"
}

make_cert() { # DIR: a self-signed certificate for 127.0.0.1, readable by the owner only
    command -v openssl >/dev/null 2>&1 || return 0
    mkdir -p "$1/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=127.0.0.1 \
        -keyout "$1/tls/server.key" -out "$1/tls/server.crt" >"$1/tls/openssl.log" 2>&1 ||
        die "cannot make a TLS certificate: $(cat "$1/tls/openssl.log")"
    chmod 600 "$1/tls/server.key"
}

cmd=${1:-}
case $cmd in
start)
    dir=$(mktemp -d /tmp/chopin-pg.XXXXXX)
    chmod 755 "$dir"
    mkdir -p "$dir/sock"
    make_cert "$dir"
    [ "$OWNER" = "$(id -un)" ] || chown -R "$OWNER" "$dir"
    if ! as_owner "$BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    port=$(free_port)
    echo "$port" >"$dir/port"
    if ! ctl "$dir" -w -t 30 -o "$(server_opts "$dir" "$port")" start >/dev/null 2>&1; then
        cat "$dir/server.log" >&2 2>/dev/null || true
        die "server did not start"
    fi
    as_owner "$BIN/psql" -h "$dir/sock" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE chopin LOGIN PASSWORD 'chopin'" \
        -c "CREATE DATABASE chopin OWNER chopin" >/dev/null || die "cannot create role/database"
    echo "CHOPIN_PG_URL=postgres://chopin:chopin@127.0.0.1:$port/chopin?sslmode=disable"
    if [ -f "$dir/tls/server.crt" ]; then
        echo "CHOPIN_PG_TLS_URL=postgres://chopin:chopin@127.0.0.1:$port/chopin?sslmode=require"
    fi
    echo "CHOPIN_PG_DIR=$dir"
    ;;
stop)
    dir=${2:?usage: stop DIR}
    [ -f "$dir/port" ] || die "$dir is not a test cluster"
    ctl "$dir" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
restart)
    dir=${2:?usage: restart DIR}
    port=$(cat "$dir/port")
    ctl "$dir" -w -t 30 -m immediate -o "$(server_opts "$dir" "$port")" restart >/dev/null
    ;;
down)
    dir=${2:?usage: down DIR}
    ctl "$dir" -m immediate stop >/dev/null
    ;;
up)
    dir=${2:?usage: up DIR}
    port=$(cat "$dir/port")
    ctl "$dir" -w -t 30 -o "$(server_opts "$dir" "$port")" start >/dev/null
    ;;
status)
    dir=${2:?usage: status DIR}
    ctl "$dir" status
    ;;
*)
    echo "usage: $0 start | stop DIR | restart DIR | down DIR | up DIR | status DIR" >&2
    exit 2
    ;;
esac
