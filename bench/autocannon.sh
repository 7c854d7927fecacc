#!/usr/bin/env bash
# The second load generator's table beside wrk's: issue 12 asks for `bombardier -c 256 -d 10s`
# on /json and /plaintext, which cannot be installed here (bench/README.md), so autocannon
# (npm, pinned in tools/autocannon) stands in: `autocannon -c 256 -d 10`, no pipelining, against
# build/chopin (performance mode) and nginx, started and checked exactly as http.sh does it
# (bench/lib.sh), with the same worker count. Run through `make bench` (after http.sh;
# SKIP_AUTOCANNON=1 leaves it out), or from the repository root once build/chopin and
# autocannon (`make autocannon`) exist:
#
#   bench/autocannon.sh            # ~5 min
#   QUICK=1 bench/autocannon.sh    # smoke run, ~45 s
#
# autocannon runs in one Node.js thread and is usually the bottleneck at 256 connections: its
# req/s are then its own limit more than the servers'. So each run also records autocannon's
# CPU, the server's CPU seconds per million requests (utime+stime of its process tree from
# /proc, as in http.sh), which is what compares the servers when the client saturates, and what
# other processes took; the report says what limited each run (autocannon_report.py's limit()).
#
# Knobs (environment, defaults in brackets):
#   PORT [18280]     chopin PORT, nginx PORT+1
#   RUNS [3]         recorded runs per server and test; the report shows medians
#   DURATION [10]    seconds per run (autocannon -d)   WARMUP [3]  unrecorded warm-up seconds
#   CONNS [256]      autocannon -c
#   LAYOUTS ["pinned all"]  as in http.sh:
#       pinned: server (1 worker) under taskset -c SERVER_CPU [0], autocannon under CLIENT_CPU [1]
#       all:    server with ALL_WORKERS [nproc] workers, autocannon unpinned
#   TESTS ["json plaintext"]
#   CHOPIN_BIN [build/chopin]  CHOPIN_ARGS [] extra arguments for it
#   AUTOCANNON [build/tools/autocannon/node_modules/.bin/autocannon]
#   SKIP_NGINX=1     chopin alone
#   QUICK=1          DURATION=2 WARMUP=0 RUNS=1, unless set
#   RESULTS_DIR [bench/results]  KEEP_SCRATCH=1 keeps /tmp/chopin-autocannon.* (raw JSON, logs)
#
# Writes RESULTS_DIR/autocannon-DATE-TIME.md (and .tsv, every run) and prints its tables. Exits non-zero if any run
# had errors or non-2xx answers, a server died or a response check failed; the report is still
# written, with the problem marked.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

if [ "${QUICK:-0}" = 1 ]; then : "${DURATION:=2}" "${WARMUP:=0}" "${RUNS:=1}"; fi
PORT=${PORT:-18280} RUNS=${RUNS:-3} DURATION=${DURATION:-10} WARMUP=${WARMUP:-3}
CONNS=${CONNS:-256} LAYOUTS=${LAYOUTS:-"pinned all"} TESTS=${TESTS:-"json plaintext"}
ALL_WORKERS=${ALL_WORKERS:-$(nproc)} SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-1}
CHOPIN_BIN=${CHOPIN_BIN:-build/chopin} CHOPIN_ARGS=${CHOPIN_ARGS:-}
AUTOCANNON=${AUTOCANNON:-build/tools/autocannon/node_modules/.bin/autocannon}
SKIP_NGINX=${SKIP_NGINX:-0} RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
PAUSE=1  # seconds between runs, so the previous run's closing sockets settle
HZ=$(getconf CLK_TCK)
CORES=$(getconf _NPROCESSORS_ONLN)
declare -A PID=() PORT_OF=()
FAILED=0

check_knobs() {
  local n
  for n in PORT RUNS DURATION WARMUP CONNS ALL_WORKERS; do
    [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, not '${!n}'"
  done
  if [ "$RUNS" -lt 1 ] || [ "$DURATION" -lt 1 ]; then die "RUNS and DURATION must be at least 1"; fi
  for n in $LAYOUTS; do case $n in pinned | all) ;; *) die "unknown layout '$n'" ;; esac; done
  for n in $TESTS; do case $n in json | plaintext) ;; *) die "unknown test '$n'" ;; esac; done
  case $CHOPIN_BIN in /*) ;; *) CHOPIN_BIN=$ROOT/$CHOPIN_BIN ;; esac
  case $AUTOCANNON in /*) ;; *) AUTOCANNON=$ROOT/$AUTOCANNON ;; esac
  [ -x "$CHOPIN_BIN" ] || die "$CHOPIN_BIN is not an executable"
  [ -x "$AUTOCANNON" ] || die "$AUTOCANNON is not an executable; run make autocannon"
  for n in nginx node taskset ss python3 pgrep; do
    command -v "$n" >/dev/null || die "$n is missing; run scripts/deps.sh bench"
  done
}

setup_scratch() {
  SCRATCH=$(mktemp -d /tmp/chopin-autocannon.XXXXXX)
  chmod 711 "$SCRATCH"  # as in http.sh: servers that drop privileges reach their files
  mkdir -p "$SCRATCH/raw" "$SCRATCH/logs"
  TSV=$SCRATCH/runs.tsv
  python3 "$HERE/autocannon_report.py" header >"$TSV"
  : >"$SCRATCH/notes.txt"
  : >"$SCRATCH/commands.txt"
}

# Fill LOAD_CMD for test $1 against port $2 for $3 seconds in layout $4 (for lib.sh's
# run_interleaved). No extra headers: the command of the issue, with -j for the JSON report.
load_cmd() {
  local test=$1 port=$2 secs=$3 layout=$4 prefix=()
  [ "$layout" = pinned ] && prefix=(taskset -c "$CLIENT_CPU")
  LOAD_CMD=("${prefix[@]}" "$AUTOCANNON" -c "$CONNS" -d "$secs" -j "http://127.0.0.1:$port/$test")
}

# One recorded run of test $2 against server $3 in layout $1; appends a row to TSV.
measure() {
  local layout=$1 test=$2 name=$3 run=$4 pid=${PID[$3]} raw c0 c1 t0 t1 m0 m1 client_s
  local TIMEFORMAT='%3U %3S'
  raw=$SCRATCH/raw/$layout-$test-$name-$run
  load_cmd "$test" "${PORT_OF[$name]}" "$DURATION" "$layout"
  # The machine's busy time less the server's and autocannon's is what other processes took.
  m0=$(machine_busy_ticks) c0=$(tree_cpu_ticks "$pid") t0=$EPOCHREALTIME
  { time "${LOAD_CMD[@]}" >"$raw.json" 2>"$raw.err"; } 2>"$raw.time" || true
  c1=$(tree_cpu_ticks "$pid") m1=$(machine_busy_ticks) t1=$EPOCHREALTIME
  client_s=$(awk '{ print $1 + $2 }' "$raw.time")
  if ! alive "$pid"; then
    shout "$name died during $test ($layout) run $run; its log: $SCRATCH/logs"
    note "FAILED: $name died during $test ($layout) run $run"
    FAILED=1
    return 1
  fi
  local row
  if ! row=$(python3 "$HERE/autocannon_report.py" row "$raw.json" "$layout" "$test" "$name" "$run" \
    $((c1 - c0)) "$HZ" "$client_s" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    $((m1 - m0)) "$CORES"); then
    cat "$raw.err" >&2
    shout "autocannon produced no result for $name $test ($layout) run $run"
    note "FAILED: autocannon produced no result for $name $test ($layout) run $run"
    FAILED=1
    return 0
  fi
  printf '%s\n' "$row" >>"$TSV"
  printf '%s\n' "$row" | awk -F'\t' '{
    printf "bench:   %-7s run %s: %7s req/s  p99 %4s ms  %6.2f CPU-s/M req  server %3s%%  autocannon %3s%%  errors %s  non-2xx %s  others %s%%\n",
      $3, $4, $5, $8, $14, $15, $16, $10, $12, $17 }' >&2
  if ! printf '%s\n' "$row" | awk -F'\t' '$10 == 0 && $12 == 0 { ok = 1 } END { exit !ok }'; then
    shout "$name $test ($layout) run $run had errors or non-2xx answers"
    note "FAILED: $name $test ($layout) run $run had $(printf '%s' "$row" | cut -f10) errors and $(printf '%s' "$row" | cut -f12) non-2xx answers"
    FAILED=1
  fi
}

run_layout() {
  local layout=$1 workers=1 pinned=1 name test
  [ "$layout" = all ] && workers=$ALL_WORKERS pinned=0
  log "=== layout $layout: $workers server worker(s)"
  start_target chopin "$workers" "$pinned"
  [ "$SKIP_NGINX" = 1 ] || start_target nginx "$workers" "$pinned"
  for name in "${!PID[@]}"; do check_target "$name"; done
  for test in $TESTS; do
    # shellcheck disable=SC2086 # the names of the servers that run
    run_interleaved "$layout" "$test" ${PID[chopin]:+chopin} ${PID[nginx]:+nginx}
  done
  stop_all
}

write_meta() {
  local commit
  commit=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
  {
    machine_meta
    echo "autocannon=$("$AUTOCANNON" --version 2>&1 | tr '\n' ' ' | sed 's/ *$//')"
    echo "chopin=${CHOPIN_BIN#"$ROOT/"} at $commit"
    echo "quick=${QUICK:-0}"
    echo "runs=$RUNS"
    echo "duration=$DURATION"
    echo "warmup=$WARMUP"
    echo "conns=$CONNS"
    echo "all_workers=$ALL_WORKERS"
    echo "server_cpu=$SERVER_CPU"
    echo "client_cpu=$CLIENT_CPU"
  } >"$SCRATCH/meta.txt"
}

main() {
  check_knobs
  start_sitting "$PORT" $((PORT + 1))
  local layout
  for layout in $LAYOUTS; do run_layout "$layout"; done
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$SCRATCH/meta.txt"

  mkdir -p "$RESULTS_DIR"
  local report
  report=$RESULTS_DIR/autocannon-$(date '+%Y-%m-%d-%H%M').md
  python3 "$HERE/autocannon_report.py" report "$SCRATCH/meta.txt" "$TSV" "$SCRATCH/notes.txt" \
    "$SCRATCH/commands.txt" >"$report"
  cp "$TSV" "${report%.md}.tsv"
  echo
  sed -n '/^## Results/,/^## Every run/p' "$report" | sed '$d'
  log "report: ${report#"$ROOT/"}"
  if [ "$FAILED" = 1 ]; then
    shout "some results are not valid; see the Warnings section of ${report#"$ROOT/"}"
    exit 1
  fi
}

main "$@"
