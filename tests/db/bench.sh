#!/bin/sh
# The driver against pgbench, same server, same query, same number of connections, one run
# after the other:
#   pgbench -M prepared -c C -j W with  SELECT id, randomnumber FROM world WHERE id = :id
#   build/db-bench with W workers x C/W pipelined connections, single-query batches
#
#   tests/db/bench.sh [DB_BENCH_BINARY]     (make db-bench)
#
# Uses CHOPIN_PG_URL when set, else a throwaway cluster from pg-test-cluster.sh.
# BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_WORKERS (2), BENCH_IN_FLIGHT (256),
# BENCH_ROUNDS (3).
set -eu
cd "$(dirname "$0")/../.."
BIN=${1:-build/db-bench}
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-16}
WORKERS=${BENCH_WORKERS:-2}
INFLIGHT=${BENCH_IN_FLIGHT:-256}
ROUNDS=${BENCH_ROUNDS:-3}

own=""
if [ -z "${CHOPIN_PG_URL:-}" ]; then
    eval "$(tests/db/pg-test-cluster.sh start)"
    own=$CHOPIN_PG_DIR
    trap 'tests/db/pg-test-cluster.sh stop "$own"' EXIT
fi
URL=$CHOPIN_PG_URL

# Creates and seeds the World table if needed (the fixture's migrations), and warms the cache.
"$BIN" "$URL" 1 1 1 1 >/dev/null

script=$(mktemp)
printf '\\set id random(1, 10000)\nSELECT id, randomnumber FROM world WHERE id = :id;\n' >"$script"
# Alternating rounds, so that both see the same machine (other load comes and goes); the
# medians are the result.
pg_all=""
ours_all=""
allocs=""
for r in $(seq 1 "$ROUNDS"); do
    pg=$(pgbench -n -M prepared -c "$CONNS" -j "$WORKERS" -T "$SECS" -f "$script" "$URL" 2>/dev/null |
        sed -n 's/^tps = \([0-9]*\).*/\1/p' | head -n 1)
    out=$("$BIN" "$URL" "$SECS" "$WORKERS" "$CONNS" "$INFLIGHT")
    ours=$(echo "$out" | sed -n 's/^db-bench: \([0-9]*\) batches.*/\1/p')
    allocs=$(echo "$out" | sed -n 's/.* \([0-9.]*\) heap allocations per batch/\1/p')
    echo "round $r: pgbench $pg tps, driver $ours batches/s"
    pg_all="$pg_all $pg"
    ours_all="$ours_all $ours"
done
rm -f "$script"
median() { echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
pg_med=$(median "$pg_all")
ours_med=$(median "$ours_all")
echo "pgbench -M prepared -S-like SELECT, $CONNS connections, $WORKERS threads: median $pg_med tps"
echo "driver, $WORKERS workers x $((CONNS / WORKERS)) pipelined connections, $INFLIGHT in flight per worker: median $ours_med batches/s ($allocs heap allocations per batch, all in libpq)"
awk -v a="$ours_med" -v b="$pg_med" 'BEGIN { if (b > 0) printf "driver / pgbench = %.2fx\n", a / b }'
