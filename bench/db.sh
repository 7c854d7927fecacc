#!/usr/bin/env bash
# make bench-db: the TechEmpower database tests over HTTP against chopin on PostgreSQL, and
# `pgbench -M prepared` running the same single-row SELECT at the same number of database
# connections, in the same run, as the ceiling /db is compared with.
#
#   bench/db.sh                 (make bench-db)
#
# Knobs (environment): RUNS [3] DURATION [10] WARMUP [3] CONNS [256] WORKERS [2]
#   DB_POOL [8] (database connections per worker: pgbench gets WORKERS x DB_POOL clients)
#   PGBENCH_THREADS [the number of cores: pgbench's best here]  WRK_THREADS [WORKERS]
#   MODE [performance]  TESTS ["db queries fortunes updates cached"]  QUICK=1 (short runs)
#   CHOPIN_PG_URL (an existing database; otherwise a throwaway cluster is started)
#   CHOPIN_BIN [build/chopin]  RESULTS_DIR [bench/results]
# Runs alternate: each round measures /db and then pgbench back to back (so the ratio compares
# neighbours in time on a noisy machine), then the other endpoints; the medians of the rounds,
# and each round's ratio, are reported. When the PostgreSQL server is local (a throwaway
# cluster, or CHOPIN_PG_DIR), its CPU time per request is reported for /db and for pgbench.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

RUNS=${RUNS:-3} DURATION=${DURATION:-10} WARMUP=${WARMUP:-3} CONNS=${CONNS:-256}
WORKERS=${WORKERS:-2} DB_POOL=${DB_POOL:-8} MODE=${MODE:-performance}
TESTS=${TESTS:-"db queries fortunes updates cached"}
CHOPIN_BIN=${CHOPIN_BIN:-$ROOT/build/chopin} RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
if [ "${QUICK:-0}" = 1 ]; then RUNS=1 DURATION=3 WARMUP=1; fi
DB_CONNS=$((WORKERS * DB_POOL))
PGBENCH_THREADS=${PGBENCH_THREADS:-$(nproc)} WRK_THREADS=${WRK_THREADS:-$WORKERS}
PORT=${PORT:-18090}

for n in wrk pgbench psql gnuplot python3; do command -v "$n" >/dev/null || die "$n is missing"; done
[ -x "$CHOPIN_BIN" ] || die "no $CHOPIN_BIN (make all)"
port_busy "$PORT" && die "port $PORT is busy"

SCRATCH=$(mktemp -d /tmp/chopin-bench-db.XXXXXX)
PG_OWN=""
SRV=""
cleanup() {
  if [ -n "$SRV" ]; then stop_tree "$SRV"; fi
  if [ -n "$PG_OWN" ]; then "$ROOT/tests/db/pg-test-cluster.sh" stop "$PG_OWN" >/dev/null 2>&1 || true; fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

if [ -z "${CHOPIN_PG_URL:-}" ]; then
  eval "$("$ROOT/tests/db/pg-test-cluster.sh" start)"
  PG_OWN=$CHOPIN_PG_DIR
fi
URL=$CHOPIN_PG_URL
log "PostgreSQL at ${URL%%@*}@...; chopin: $MODE mode, $WORKERS workers x $DB_POOL connections"

start_server SRV "$SCRATCH/chopin.log" env SERVER_MODE="$MODE" SERVER_PORT="$PORT" \
  WORKERS="$WORKERS" DB_POOL_SIZE="$DB_POOL" ENVIRONMENT=production JWT_SECRET="$JWT_SECRET" DATABASE_URL="$URL" \
  "$CHOPIN_BIN"
wait_listening "$PORT" "$SRV" 30 || { cat "$SCRATCH/chopin.log" >&2; die "chopin did not start"; }
curl -sf "http://127.0.0.1:$PORT/db" >/dev/null || die "GET /db failed"

path_of() {
  case $1 in
  db) echo /db ;;
  queries) echo "/queries?queries=20" ;;
  fortunes) echo /fortunes ;;
  updates) echo "/updates?queries=20" ;;
  cached) echo "/cached-queries?count=100" ;;
  *) die "unknown test $1" ;;
  esac
}

SQL="$SCRATCH/select.sql"
printf '\\set id random(1, 10000)\nSELECT id, randomnumber FROM world WHERE id = :id;\n' >"$SQL"
PGBENCH=(pgbench -n -M prepared -c "$DB_CONNS" -j "$PGBENCH_THREADS" -f "$SQL" "$URL")
WRK_ARGS=(-t"$WRK_THREADS" -c"$CONNS" --timeout 8s --latency -H 'Host: localhost'
  -H 'Accept: application/json,text/html;q=0.9,*/*;q=0.8' -H 'Connection: keep-alive'
  -s "$HERE/wrk/latency.lua")

TSV="$SCRATCH/runs.tsv"
printf 'test\trun\treq_s\tp99_ms\terrors\tcpu_s_per_M\tpg_cpu_s_per_M\n' >"$TSV"

# PostgreSQL's CPU ticks so far: its live processes, plus what the postmaster collected from
# the backends that ended (pgbench's connections end with it). Empty when it is not local.
PG_PID=""
if [ -n "${CHOPIN_PG_DIR:-}" ] && [ -r "$CHOPIN_PG_DIR/data/postmaster.pid" ]; then
  PG_PID=$(head -n 1 "$CHOPIN_PG_DIR/data/postmaster.pid")
fi
pg_cpu_ticks() {
  [ -n "$PG_PID" ] || return 0
  local live
  live=$(tree_cpu_ticks "$PG_PID")
  stat_fields "$PG_PID" | awk -v live="$live" '{ printf "%d\n", live + $14 + $15 }'
}

# CPU-seconds per million of $3 requests from tick counts $1 and $2; empty without counts.
per_million() {
  [ -n "$1" ] && [ -n "$2" ] && [ "${3:-0}" -gt 0 ] || return 0
  awk -v d=$(($2 - $1)) -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", d / hz / n * 1e6 }'
}

# One wrk run of test $1 for $2 seconds; with $3 (the run number) it is recorded.
wrk_run() {
  local test=$1 secs=$2 run=${3:-} raw c0 c1 p0 p1 n
  raw="$SCRATCH/$test-${run:-warm}.txt"
  c0=$(tree_cpu_ticks "$SRV")
  p0=$(pg_cpu_ticks)
  wrk "${WRK_ARGS[@]}" -d"${secs}s" "http://127.0.0.1:$PORT$(path_of "$test")" -- "conns=$CONNS" >"$raw" 2>&1 || true
  c1=$(tree_cpu_ticks "$SRV")
  p1=$(pg_cpu_ticks)
  [ -z "$run" ] && return 0
  n=$(awk '/requests in/ { print $1 }' "$raw")
  awk -v t="$test" -v r="$run" -v cpu="$(per_million "$c0" "$c1" "${n:-0}")" \
    -v pg="$(per_million "$p0" "$p1" "${n:-0}")" '
    /^Requests\/sec:/ { rps = $2 }
    /^BENCH / { for (i = 2; i <= NF; i++) if ($i ~ /^p99_us=/) { sub(/p99_us=/, "", $i); p99 = $i / 1000 } }
    /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
    /Non-2xx/ { e += $NF }
    END { printf "%s\t%s\t%.0f\t%.2f\t%d\t%s\t%s\n", t, r, rps, p99, e, cpu == "" ? "0.00" : cpu, pg }' \
    "$raw" >>"$TSV"
}

pgbench_run() {
  local secs=$1 run=${2:-} out tps p0 p1 n
  p0=$(pg_cpu_ticks)
  out=$("${PGBENCH[@]}" -T "$secs" 2>&1) || die "pgbench failed: $out"
  p1=$(pg_cpu_ticks)
  [ -z "$run" ] && return 0
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)
  lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
  n=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
  printf 'pgbench\t%s\t%.0f\t%s\t0\t\t%s\n' "$run" "$tps" "${lat:-}" "$(per_million "$p0" "$p1" "${n:-0}")" >>"$TSV"
}

log "warm-up"
for t in $TESTS; do wrk_run "$t" "$WARMUP"; done
pgbench_run "$WARMUP"
for run in $(seq "$RUNS"); do
  for t in $TESTS; do
    log "run $run: $t"
    wrk_run "$t" "$DURATION" "$run"
    if [ "$t" = db ]; then
      log "run $run: pgbench"
      pgbench_run "$DURATION" "$run"
    fi
  done
  case " $TESTS " in *" db "*) ;; *)
    log "run $run: pgbench"
    pgbench_run "$DURATION" "$run"
    ;;
  esac
done

stop_tree "$SRV"
SRV=""
[ "${STOP_STATUS:-0}" = 0 ] || [ "${STOP_STATUS:-}" = gone ] || shout "chopin exited with $STOP_STATUS"

mkdir -p "$RESULTS_DIR"
stamp=$(date -u +%Y-%m-%d-%H%M)
base="$RESULTS_DIR/db-$stamp"
cp "$TSV" "$base.tsv"
python3 "$HERE/db_report.py" "$base.tsv" "$base.md" "$base.dat" \
  "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $MODE mode, $WORKERS workers x $DB_POOL db connections, wrk -t$WRK_THREADS -c$CONNS, pgbench -c$DB_CONNS -j$PGBENCH_THREADS, $(psql "$URL" -Atc 'show server_version' 2>/dev/null | cut -d' ' -f1 | sed 's/^/PostgreSQL /')"
gnuplot -e "datafile='$base.dat'; outfile='$base.png'" "$HERE/db_plot.gp"
rm -f "$base.dat"
cat "$base.md"
log "report: ${base#"$ROOT"/}.md (runs .tsv, chart .png)"
