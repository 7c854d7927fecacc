#!/usr/bin/env bash
# Side-by-side HTTPS benchmark: build/chopin against nginx, both terminating TLS with the same
# self-signed ECDSA P-256 certificate (scripts/dev-cert.sh), the same TLS 1.2 cipher list and
# TLS 1.3 suite order (Mozilla intermediate, server preference), X25519/P-256, session tickets,
# and the same worker count. Run through `make bench` (after bench/http.sh) or directly from
# the repository root once build/chopin exists:
#
#   bench/https.sh            # ~5 min (4 tests x 2 servers x RUNS 3 x (DURATION 10 s + 1 s))
#   QUICK=1 bench/https.sh    # smoke run (RUNS=1, DURATION=2), ~40 s on a quiet machine
#
# Rows, each with the server's own CPU time per request or connection (utime+stime of its
# process tree from /proc, nginx's master and workers summed), which is what says how much a
# server can take: on one machine the clients' CPU caps the rates of both servers alike.
#   /json keep-alive           wrk over HTTPS, CONNS connections (req/s)
#   /plaintext pipelined       wrk + bench/wrk/pipeline.lua, DEPTH deep (req/s)
#   handshakes full            HS_CLIENTS parallel `openssl s_time -new` (TLS 1.3 handshake and
#                              one GET /plaintext per connection, HTTP/1.0 so the server closes;
#                              connections per second of wall time)
#   handshakes resumed         the same with `-reuse` (session tickets; the share actually
#                              resumed is reported, and a run below 90% is marked failed)
#
# Knobs: PORT [18480] (chopin PORT, nginx PORT+1), WORKERS [nproc], DURATION [10], RUNS [3],
# CONNS [256], DEPTH [16], HS_CLIENTS [2 x WORKERS], TLS_KTLS [off] (passed to chopin),
# CHOPIN_BIN [build/chopin], RESULTS_DIR [bench/results], SKIP_NGINX=1, QUICK=1,
# TESTS ["json plaintext-pipe full resumed"] (a subset runs only those rows).
# Writes RESULTS_DIR/https-DATE-TIME.md and prints the table; medians of RUNS.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

if [ "${QUICK:-0}" = 1 ]; then : "${DURATION:=2}" "${RUNS:=1}"; fi
PORT=${PORT:-18480} WORKERS=${WORKERS:-$(nproc)} DURATION=${DURATION:-10} RUNS=${RUNS:-3}
CONNS=${CONNS:-256} DEPTH=${DEPTH:-16} HS_CLIENTS=${HS_CLIENTS:-$((2 * WORKERS))}
TESTS=${TESTS:-"json plaintext-pipe full resumed"}
for t in $TESTS; do
  case $t in json | plaintext-pipe | full | resumed) ;; *) echo "https.sh: unknown test '$t'" >&2; exit 2 ;; esac
done
CHOPIN_BIN=${CHOPIN_BIN:-build/chopin} RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
SKIP_NGINX=${SKIP_NGINX:-0} TLS_KTLS=${TLS_KTLS:-off}
HZ=$(getconf CLK_TCK)
case $CHOPIN_BIN in /*) ;; *) CHOPIN_BIN=$ROOT/$CHOPIN_BIN ;; esac
[ -x "$CHOPIN_BIN" ] || die "$CHOPIN_BIN is not an executable"
for n in wrk nginx openssl ss; do command -v "$n" >/dev/null || die "$n is missing"; done

SCRATCH=$(mktemp -d /tmp/chopin-https-bench.XXXXXX)
declare -A PID=() PORT_OF=()
FAILED=0
cleanup() {
  set +e
  local n
  for n in "${!PID[@]}"; do stop_tree "${PID[$n]}"; done
  if [ "$FAILED" = 0 ]; then rm -rf "$SCRATCH"; else log "scratch kept in $SCRATCH"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -Sn 20000 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"

"$ROOT/scripts/dev-cert.sh" "$SCRATCH/cert" localhost >/dev/null
CERT=$SCRATCH/cert/cert.pem KEY=$SCRATCH/cert/key.pem

start() {
  local name=$1 port=$2
  case $name in
  chopin)
    start_server "PID[$name]" "$SCRATCH/$name.log" env ENVIRONMENT=production JWT_SECRET="$JWT_SECRET" \
      TLS_CERT="$CERT" TLS_KEY="$KEY" TLS_PORT="$port" TLS_HTTP=off TLS_KTLS="$TLS_KTLS" \
      SERVER_PORT=$((port + 10)) "$CHOPIN_BIN" --mode performance --workers "$WORKERS" ;;
  nginx)
    start_server "PID[$name]" "$SCRATCH/$name.log" env NGINX_TLS_CERT="$CERT" NGINX_TLS_KEY="$KEY" \
      "$HERE/nginx.sh" "$port" "$WORKERS" "$SCRATCH/nginx" ;;
  esac
  PORT_OF[$name]=$port
  wait_listening "$port" "${PID[$name]}" || { tail "$SCRATCH/$name.log" >&2; die "$name did not start"; }
  curl -skf "https://127.0.0.1:$port/json" | grep -q Hello || die "$name: GET /json over HTTPS failed"
}

now_ns() { date +%s%N; }

# The measuring functions run in $(...) or <(...) subshells, where setting FAILED would be
# lost: they leave a mark in SCRATCH instead, read before the report.
mark_failed() { log "$*"; : >"$SCRATCH/failed"; }

# Server CPU microseconds per unit: cpu_us_per TICKS0 TICKS1 COUNT.
cpu_us_per() {
  awk -v d=$(($2 - $1)) -v n="$3" -v hz="$HZ" 'BEGIN { if (n > 0) printf "%.0f\n", d / hz / n * 1e6; else print 0 }'
}

# Prints "req/s cpu-us-per-request". wrk prints Requests/sec; pipelined runs print
# latency.lua's BENCH line instead.
run_wrk() {
  local test=$1 name=$2 port=${PORT_OF[$2]} out=$SCRATCH/wrk.txt c0 c1 rate
  c0=$(tree_cpu_ticks "${PID[$name]}")
  case $test in
  json) wrk -t"$WORKERS" -c"$CONNS" -d"${DURATION}s" -H "Host: localhost" \
          "https://127.0.0.1:$port/json" >"$out" 2>&1 ;;
  plaintext-pipe) wrk -t"$WORKERS" -c"$CONNS" -d"${DURATION}s" -H "Host: localhost" \
          -s "$HERE/wrk/pipeline.lua" "https://127.0.0.1:$port/plaintext" -- \
          "conns=$CONNS" "depth=$DEPTH" >"$out" 2>&1 ;;
  esac
  c1=$(tree_cpu_ticks "${PID[$name]}")
  if grep -qE 'Socket errors|Non-2xx' "$out"; then
    mark_failed "$test on $name had errors: $(grep -E 'Socket errors|Non-2xx' "$out" | tr '\n' ' ')"
  fi
  if grep -q '^BENCH requests=' "$out"; then
    rate=$(awk '/^BENCH requests=/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         printf "%.0f\n", v["requests"] / (v["duration_us"] / 1e6) }' "$out")
  else
    rate=$(awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' "$out")
  fi
  echo "${rate:-0} $(cpu_us_per "$c0" "$c1" $((${rate:-0} * DURATION)))"
}

# HS_CLIENTS s_time processes at once; prints "conn/s cpu-us-per-connection resumed%".
# s_time stops at the first whole second past -time, so the rate divides by the wall time
# the processes really ran, not by DURATION. Each connection prints one character: 'r'
# resumed, '*' (TLS 1.2/1.3) or 't'/'3' a full handshake.
run_handshakes() {
  local mode=$1 name=$2 port=${PORT_OF[$2]} i pids=() total=0 n c0 c1 t0 t1 f
  c0=$(tree_cpu_ticks "${PID[$name]}")
  t0=$(now_ns)
  for ((i = 0; i < HS_CLIENTS; i++)); do
    openssl s_time -connect "127.0.0.1:$port" "-$mode" -time "$DURATION" -www /plaintext \
      >"$SCRATCH/st-$i.txt" 2>&1 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
  t1=$(now_ns)
  c1=$(tree_cpu_ticks "${PID[$name]}")
  for ((i = 0; i < HS_CLIENTS; i++)); do
    f=$SCRATCH/st-$i.txt
    n=$(awk '/connections in [0-9]+ real seconds/ { print $1; exit }' "$f")
    [ -n "$n" ] || { mark_failed "s_time failed: $(tail -n 3 "$f")"; n=0; }
    total=$((total + n))
  done
  # The progress lines hold nothing but those characters.
  local marks reused all pct=0
  marks=$(cat "$SCRATCH"/st-*.txt | grep -E '^[r*t3]+$' | tr -d '\n')
  all=${#marks}
  reused=$(printf '%s' "$marks" | tr -cd 'r' | wc -c)
  [ "$all" -gt 0 ] && pct=$((100 * reused / all))
  if [ "$mode" = reuse ] && [ "$pct" -lt 90 ]; then
    mark_failed "resumed handshakes on $name: only $pct% were resumed"
  fi
  echo "$(awk -v n="$total" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')" \
    "$(cpu_us_per "$c0" "$c1" "$total")" "$pct"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

SERVERS=(chopin)
[ "$SKIP_NGINX" = 1 ] || SERVERS+=(nginx)
start chopin "$PORT"
[ "$SKIP_NGINX" = 1 ] || start nginx $((PORT + 1))

declare -A RES=() CPU=() RESUMED=()
for test in $TESTS; do
  for name in "${SERVERS[@]}"; do : >"$SCRATCH/$test-$name.vals"; : >"$SCRATCH/$test-$name.cpu"; done
  for ((run = 1; run <= RUNS; run++)); do
    # The servers take turns, the first one changing every run, so neither always meets
    # the machine's state left by the other.
    order=("${SERVERS[@]}")
    if ((run % 2 == 0)) && ((${#SERVERS[@]} == 2)); then order=("${SERVERS[1]}" "${SERVERS[0]}"); fi
    for name in "${order[@]}"; do
      p=
      case $test in
      json | plaintext-pipe) read -r v c < <(run_wrk "$test" "$name") ;;
      full) read -r v c _ < <(run_handshakes new "$name") ;;
      resumed) read -r v c p < <(run_handshakes reuse "$name"); RESUMED[$name]=$p ;;
      esac
      log "$test $name run $run: ${v:-?}/s, ${c:-?} server CPU-us each${p:+, $p% resumed}"
      echo "${v:-0}" >>"$SCRATCH/$test-$name.vals"
      echo "${c:-0}" >>"$SCRATCH/$test-$name.cpu"
      sleep 1
    done
  done
  for name in "${SERVERS[@]}"; do
    RES[$test-$name]=$(median <"$SCRATCH/$test-$name.vals")
    CPU[$test-$name]=$(median <"$SCRATCH/$test-$name.cpu")
  done
done

[ -e "$SCRATCH/failed" ] && FAILED=1
mkdir -p "$RESULTS_DIR"
report=$RESULTS_DIR/https-$(date -u +%Y-%m-%d-%H%M).md
{
  echo "# HTTPS: chopin vs nginx"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(getconf _NPROCESSORS_ONLN) cores, $(uname -sr), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | cut -d' ' -f1-2)."
  echo "$WORKERS workers each, ECDSA P-256 certificate, TLS 1.3 (TLS_AES_128_GCM_SHA256) unless the client"
  echo "asks otherwise; medians of $RUNS runs of ${DURATION} s; chopin TLS_KTLS=$TLS_KTLS."
  echo "wrk: $CONNS connections, -t$WORKERS; handshakes: $HS_CLIENTS parallel \`openssl s_time\`, one GET each."
  echo "CPU-us: the server's own CPU time (user+system, all its processes) per request or connection;"
  echo "the clients share the machine, so on 2 cores the rates are partly theirs, the CPU figures not."
  if [ "$FAILED" != 0 ]; then printf '\n**Some runs had errors; see the log above.**\n'; fi
  echo
  echo "| test | chopin | nginx | chopin/nginx | chopin CPU-us | nginx CPU-us | nginx/chopin CPU |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  for test in $TESTS; do
    case $test in
    json) label="/json keep-alive (req/s)" ;;
    plaintext-pipe) label="/plaintext pipelined $DEPTH (req/s)" ;;
    full) label="new handshakes, full (conn/s)" ;;
    resumed) label="new handshakes, resumed (conn/s; resumed ${RESUMED[chopin]:-?}% / ${RESUMED[nginx]:--}%)" ;;
    esac
    c=${RES[$test-chopin]} n=${RES[$test-nginx]:-} cc=${CPU[$test-chopin]} nc=${CPU[$test-nginx]:-}
    if [ -n "$n" ] && [ "$n" -gt 0 ] && [ "$cc" -gt 0 ]; then
      echo "| $label | $c | $n | $(awk -v a="$c" -v b="$n" 'BEGIN { printf "%.2f", a / b }') |" \
        "$cc | $nc | $(awk -v a="$nc" -v b="$cc" 'BEGIN { printf "%.2f", a / b }') |"
    else
      echo "| $label | $c | ${n:--} | - | $cc | ${nc:--} | - |"
    fi
  done
} >"$report"
cat "$report"
log "report: ${report#"$ROOT/"}"
[ "$FAILED" = 0 ]
