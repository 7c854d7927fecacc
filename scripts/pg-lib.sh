# shellcheck shell=sh
# Shared by scripts/pg-dev.sh and tests/db/pg-test-cluster.sh (source it; it defines
# functions and sets BIN, OWNER and as_owner).
#
#   pg_find_bin      prints the newest PostgreSQL server's bin directory (PG_BINDIR wins)
#   pg_owner_setup   PostgreSQL refuses to run as root: as root, the cluster belongs to and
#                    runs as the `postgres` user (through runuser); otherwise as the caller.

pg_find_bin() {
    if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then
        echo "$PG_BINDIR"
        return 0
    fi
    best=""
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && best=$d
    done
    [ -n "$best" ] && echo "$best" && return 0
    d=$(command -v initdb 2>/dev/null || true)
    [ -n "$d" ] && dirname "$d" && return 0
    return 1
}

pg_owner_setup() {
    if [ "$(id -u)" -eq 0 ]; then
        OWNER=postgres
        id "$OWNER" >/dev/null 2>&1 || {
            echo "running as root needs a 'postgres' user" >&2
            return 1
        }
        as_owner() { runuser -u "$OWNER" -- "$@"; }
    else
        OWNER=$(id -un)
        as_owner() { "$@"; }
    fi
}
