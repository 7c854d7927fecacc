#!/usr/bin/env bash
# A local scale-out: 3 chopin instances behind HAProxy (deploy/haproxy.cfg as is), all on one
# PostgreSQL, on loopback. For trying the production setup by hand, and used by
# tests/cluster (make test-cluster).
#
#   scripts/cluster.sh up DIR        start PostgreSQL (unless DATABASE_URL is set), the
#                                    instances and HAProxy; DIR/cluster.env then holds ports,
#                                    pids and URLs (source it)
#   scripts/cluster.sh restart I DIR graceful restart of instance I (1-3): SIGTERM, wait
#                                    for its exit, start it again, wait until HAProxy sees
#                                    it healthy
#   scripts/cluster.sh rolling DIR   restart every instance, one after the other
#   scripts/cluster.sh start I DIR   start instance I again (e.g. after a kill -9)
#   scripts/cluster.sh down DIR      stop everything (and the PostgreSQL it started)
#
# Knobs: CHOPIN_BIN [build/chopin], BASE_PORT [a free range: LB on BASE_PORT, instances on
# BASE_PORT+1..3], WORKERS [2], DRAIN_DELAY [3s] (must exceed HAProxy's fall x inter plus an
# interval), CHOPIN_CHECK_INTER [500ms], DATABASE_URL [a throwaway cluster], JWT_SECRET [random,
# 32 bytes, generated once per cluster]. Every instance gets the same JWT_SECRET, so an access
# token issued by one verifies on all the others (as behind any balancer); cluster.env holds it
# and is readable by its owner only.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=3

die() {
    echo "cluster: $*" >&2
    exit 1
}

free_base() { # a port P with P..P+3 all free, below the ephemeral range (32768-60999 on
    # Linux), where outgoing connections (to PostgreSQL...) would otherwise take them
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randrange(20000, 32000)
    ok = True
    for q in range(p, p + 4):
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        t.close()
    if ok:
        print(p)
        break
EOF
}

load_env() {
    [ -f "$DIR/cluster.env" ] || die "$DIR/cluster.env missing: run '$0 up $DIR' first"
    # shellcheck disable=SC1091
    . "$DIR/cluster.env"
}

save_var() { # name value: replaces or appends NAME=value in cluster.env (owner-only: it
    # holds JWT_SECRET)
    local f=$DIR/cluster.env
    (
        umask 077
        grep -v "^$1=" "$f" >"$f.tmp" || true
        printf '%s=%q\n' "$1" "$2" >>"$f.tmp"
    )
    mv "$f.tmp" "$f"
}

haproxy_cmd() { # command for the admin socket
    python3 - "$CHOPIN_HAPROXY_SOCK" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode() + b"\n")
out = b""
while True:
    d = s.recv(65536)
    if not d: break
    out += d
sys.stdout.write(out.decode())
EOF
}

server_state() { # instance -> UP, DOWN, ... as HAProxy sees it
    haproxy_cmd "show stat" | awk -F, -v s="app$1" '$1 == "chopin" && $2 == s { print $18 }'
}

wait_for() { # seconds, command...: polls every 100 ms
    local until=$((SECONDS + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$until" ] || return 1
        sleep 0.1
    done
}

healthy() { curl -fsS -m 2 "http://127.0.0.1:$1/health" >/dev/null; }
is_up() { [ "$(server_state "$1")" = UP ]; }

start_instance() { # I
    local i=$1 port=$((BASE_PORT + $1))
    env ENVIRONMENT=production SERVER_HOST=127.0.0.1 SERVER_PORT="$port" WORKERS="$WORKERS" \
        DATABASE_URL="$DATABASE_URL" JWT_SECRET="$JWT_SECRET" DRAIN_DELAY="$DRAIN_DELAY" \
        SHUTDOWN_TIMEOUT=10s \
        "$CHOPIN_BIN" >>"$DIR/app$i.log" 2>&1 &
    save_var "APP${i}_PID" $!
    wait_for 20 healthy "$port" || die "instance $i did not become healthy (log: $DIR/app$i.log)"
}

stop_instance() { # I: SIGTERM and wait for the exit (the drain takes DRAIN_DELAY + in-flight)
    local pidvar="APP$1_PID"
    local pid=${!pidvar:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    local until=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null; do
        [ "$SECONDS" -lt "$until" ] || die "instance $1 (pid $pid) did not exit"
        sleep 0.1
    done
}

cmd_up() {
    mkdir -p "$DIR"
    : >"$DIR/cluster.env"
    CHOPIN_BIN=${CHOPIN_BIN:-$ROOT/build/chopin}
    [ -x "$CHOPIN_BIN" ] || die "$CHOPIN_BIN is not built (make)"
    BASE_PORT=${BASE_PORT:-$(free_base)}
    WORKERS=${WORKERS:-2} DRAIN_DELAY=${DRAIN_DELAY:-3s}
    CHOPIN_CHECK_INTER=${CHOPIN_CHECK_INTER:-500ms}
    save_var ROOT "$ROOT"
    save_var CHOPIN_BIN "$CHOPIN_BIN"
    save_var BASE_PORT "$BASE_PORT"
    save_var WORKERS "$WORKERS"
    save_var DRAIN_DELAY "$DRAIN_DELAY"
    save_var CHOPIN_CHECK_INTER "$CHOPIN_CHECK_INTER"
    # 32 random bytes as 64 hex digits: printable, and above the 32-byte minimum in production.
    save_var JWT_SECRET "${JWT_SECRET:-$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')}"
    if [ -z "${DATABASE_URL:-}" ]; then
        local pg_env
        pg_env=$("$ROOT/tests/db/pg-test-cluster.sh" start) || die "cannot start PostgreSQL"
        eval "$pg_env"
        DATABASE_URL=$CHOPIN_PG_URL
        save_var PG_DIR "$CHOPIN_PG_DIR"
    fi
    save_var DATABASE_URL "$DATABASE_URL"
    load_env
    for i in $(seq 1 $N); do start_instance "$i"; done
    load_env
    CHOPIN_HAPROXY_SOCK=$DIR/haproxy.sock
    save_var CHOPIN_HAPROXY_SOCK "$CHOPIN_HAPROXY_SOCK"
    save_var LB_URL "http://127.0.0.1:$BASE_PORT"
    env CHOPIN_LB_BIND="127.0.0.1:$BASE_PORT" CHOPIN_HAPROXY_SOCK="$CHOPIN_HAPROXY_SOCK" \
        CHOPIN_CHECK_INTER="$CHOPIN_CHECK_INTER" CHOPIN_APP1="127.0.0.1:$((BASE_PORT + 1))" \
        CHOPIN_APP2="127.0.0.1:$((BASE_PORT + 2))" CHOPIN_APP3="127.0.0.1:$((BASE_PORT + 3))" \
        haproxy -db -f "$ROOT/deploy/haproxy.cfg" >>"$DIR/haproxy.log" 2>&1 &
    save_var HAPROXY_PID $!
    load_env
    for i in $(seq 1 $N); do
        wait_for 20 is_up "$i" || die "HAProxy does not see instance $i up (log: $DIR/haproxy.log)"
    done
    echo "cluster up: $LB_URL -> 127.0.0.1:$((BASE_PORT + 1))..$((BASE_PORT + N)) ($DIR/cluster.env)"
}

cmd_restart() { # I
    load_env
    local t0=$SECONDS
    stop_instance "$1"
    start_instance "$1"
    load_env
    wait_for 20 is_up "$1" || die "HAProxy does not see instance $1 back up"
    echo "instance $1 restarted in $((SECONDS - t0)) s"
}

cmd_down() {
    [ -f "$DIR/cluster.env" ] || return 0
    load_env
    for i in $(seq 1 $N); do stop_instance "$i" || true; done
    [ -n "${HAPROXY_PID:-}" ] && kill "$HAPROXY_PID" 2>/dev/null || true
    if [ -n "${PG_DIR:-}" ]; then "$ROOT/tests/db/pg-test-cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; fi
    echo "cluster down"
}

[ $# -ge 2 ] || die "usage: $0 up|down|rolling DIR, or $0 restart|start I DIR"
case $1 in
up) DIR=$2 cmd_up ;;
down) DIR=$2 cmd_down ;;
rolling)
    DIR=$2
    for i in $(seq 1 $N); do cmd_restart "$i"; done
    ;;
restart)
    [ $# -eq 3 ] || die "usage: $0 restart I DIR"
    DIR=$3 cmd_restart "$2"
    ;;
start)
    [ $# -eq 3 ] || die "usage: $0 start I DIR"
    DIR=$3
    load_env
    start_instance "$2"
    load_env
    wait_for 20 is_up "$2" || die "HAProxy does not see instance $2 up"
    ;;
*) die "unknown command '$1'" ;;
esac
