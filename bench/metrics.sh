#!/usr/bin/env bash
# The cost of metrics: /json in standard mode with METRICS=off and with METRICS on (the
# default), same binary, same sitting, runs interleaved (off, on, off, on...) so drift hits both.
# Prints the median requests/s of each, and the server's CPU time per million requests (less
# sensitive to other load on the machine than throughput); the budget (issue 12) is 3%.
#
#   bench/metrics.sh                 RUNS=5 DURATION=10 CONNS=256 WORKERS=$(nproc)
#   QUICK=1 bench/metrics.sh         RUNS=2 DURATION=3: a sanity run, not a measurement
#
# Knobs: PORT [18280], RUNS, DURATION, CONNS, THREADS [2], WORKERS, CHOPIN_BIN [build/chopin],
# PATH_UNDER_TEST [/json]. Exits non-zero if wrk reports errors or a server fails to start.
set -euo pipefail
# The chopin binary mounts the auth routes, whose signing key production requires.
JWT_SECRET=${JWT_SECRET:-bench-only-jwt-secret-0123456789abcdef}
cd "$(dirname "$0")/.."
if [ "${QUICK:-0}" = 1 ]; then : "${RUNS:=2}" "${DURATION:=3}"; fi
PORT=${PORT:-18280} RUNS=${RUNS:-5} DURATION=${DURATION:-10} CONNS=${CONNS:-256}
THREADS=${THREADS:-2} WORKERS=${WORKERS:-$(nproc)} CHOPIN_BIN=${CHOPIN_BIN:-build/chopin}
P=${PATH_UNDER_TEST:-/json}
command -v wrk >/dev/null || { echo "wrk is missing (scripts/deps.sh bench)" >&2; exit 1; }
[ -x "$CHOPIN_BIN" ] || { echo "$CHOPIN_BIN is not built" >&2; exit 1; }
SCRATCH=$(mktemp -d /tmp/chopin-bench-metrics.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$SCRATCH"; }
trap cleanup EXIT

HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

one_run() { # metrics (off|on) -> prints "requests/s cpu-seconds-per-million-requests"
    env ENVIRONMENT=production JWT_SECRET="$JWT_SECRET" SERVER_MODE=standard SERVER_PORT="$PORT" WORKERS="$WORKERS" \
        DATABASE_URL=sqlite::memory: METRICS="$1" "$CHOPIN_BIN" 2>"$SCRATCH/server.log" &
    PID=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT$P" >/dev/null && break; sleep 0.05; done
    wrk -t"$THREADS" -c"$CONNS" -d1s "http://127.0.0.1:$PORT$P" >/dev/null # warm-up
    local c0 c1
    c0=$(cpu_ticks "$PID")
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$PORT$P" >"$SCRATCH/wrk.txt"
    c1=$(cpu_ticks "$PID")
    kill "$PID"
    wait "$PID" || true
    PID=
    if grep -qE "Socket errors|Non-2xx" "$SCRATCH/wrk.txt"; then
        echo "wrk reported errors with METRICS=$1:" >&2
        cat "$SCRATCH/wrk.txt" >&2
        exit 1
    fi
    awk -v c="$((c1 - c0))" -v hz="$HZ" '/requests in/ { n = $1 } /^Requests\/sec:/ { r = $2 }
        END { printf "%s %.3f\n", r, c / hz / n * 1e6 }' "$SCRATCH/wrk.txt"
}

declare -a OFF=() ON=() OFFCPU=() ONCPU=()
for r in $(seq "$RUNS"); do
    read -r a b <<<"$(one_run off)"
    OFF+=("$a") OFFCPU+=("$b")
    read -r a b <<<"$(one_run on)"
    ON+=("$a") ONCPU+=("$b")
    echo "run $r: METRICS=off ${OFF[-1]} req/s ${OFFCPU[-1]} CPU s/M, METRICS=on ${ON[-1]} req/s ${ONCPU[-1]} CPU s/M"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
off=$(median "${OFF[@]}") on=$(median "${ON[@]}")
offc=$(median "${OFFCPU[@]}") onc=$(median "${ONCPU[@]}")
awk -v off="$off" -v on="$on" -v offc="$offc" -v onc="$onc" -v w="$WORKERS" -v c="$CONNS" \
    -v d="$DURATION" -v n="$RUNS" -v p="$P" 'BEGIN {
    printf "\n| %s, standard mode, %d workers, %d connections, %d x %d s | req/s (median) | server CPU s per M requests (median) |\n", p, w, c, n, d
    printf "|---|---|---|\n| METRICS=off | %.0f | %.3f |\n| METRICS=on | %.0f | %.3f |\n", off, offc, on, onc
    printf "| cost of metrics | %.2f %% | %.2f %% |\n", 100 * (off - on) / off, 100 * (onc - offc) / offc
}'
