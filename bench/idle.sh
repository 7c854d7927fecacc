#!/usr/bin/env bash
# Memory per idle keep-alive connection, chopin against nginx, and optionally
# how long each server keeps an idle connection open. bench/http.sh runs it
# after the load tests; it also runs alone from the repository root:
#
#   bench/idle.sh OUT.tsv
#
# For each server: start it fresh (IDLE_WORKERS workers, unpinned), check its
# answers, read its tree's RSS, have bench/idle_conns.py open IDLE_CONNS
# connections that each make one request and then sit idle, read the RSS
# again, and report (idle - before) / connections. RSS is user-space memory
# only: the kernel's socket buffers are not in it, for either server.
#
# Knobs: IDLE_CONNS [10000] IDLE_WORKERS [1] PORT [18080] CHOPIN_BIN
#   [build/chopin] CHOPIN_ARGS SKIP_NGINX=1
#   IDLE_CLOSE=1      also wait for the servers to close the idle connections:
#                     chopin gets IDLE_TIMEOUT in its environment, nginx the
#                     same keepalive_timeout; the wait is capped at IDLE_CAP
#   IDLE_TIMEOUT [15] seconds (chopin's default)   IDLE_CAP [IDLE_TIMEOUT + 15]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

[ $# -eq 1 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
OUT=$1
IDLE_CONNS=${IDLE_CONNS:-10000} IDLE_WORKERS=${IDLE_WORKERS:-1} PORT=${PORT:-18080}
IDLE_CLOSE=${IDLE_CLOSE:-0} IDLE_TIMEOUT=${IDLE_TIMEOUT:-15}
IDLE_CAP=${IDLE_CAP:-$((IDLE_TIMEOUT + 15))}
CHOPIN_BIN=${CHOPIN_BIN:-build/chopin} CHOPIN_ARGS=${CHOPIN_ARGS:-} SKIP_NGINX=${SKIP_NGINX:-0}
case $CHOPIN_BIN in /*) ;; *) CHOPIN_BIN=$ROOT/$CHOPIN_BIN ;; esac
READY_LIMIT_S=120  # opening 10,000 connections takes about a second here

SERVER_PID="" CLIENT_PID="" WORK="" FAILED=0

cleanup() {
  set +e
  [ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && stop_tree "$SERVER_PID"
  [ -n "$WORK" ] && rm -rf "$WORK"
  return 0
}

# The client needs IDLE_CONNS descriptors, the server as many again; each is
# its own process, so each gets the whole soft limit.
raise_fd_limit() {
  ulimit -Sn 20000 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
  local have
  have=$(ulimit -Sn)
  [ "$have" -ge $((IDLE_CONNS + 100)) ] ||
    die "open-file limit $have is too low for $IDLE_CONNS connections (lower IDLE_CONNS)"
}

start() {
  local name=$1 port=$2 logf=$WORK/$1.log cmd
  port_busy "$port" && die "port $port is in use"
  # shellcheck disable=SC2206
  case $name in
  chopin)
    cmd=(env ENVIRONMENT=production JWT_SECRET="$JWT_SECRET")
    [ "$IDLE_CLOSE" = 1 ] && cmd+=("IDLE_TIMEOUT=$IDLE_TIMEOUT")
    cmd+=("$CHOPIN_BIN" --mode performance --host 127.0.0.1 --port "$port"
          --workers "$IDLE_WORKERS" $CHOPIN_ARGS) ;;
  nginx) cmd=("$HERE/nginx.sh" "$port" "$IDLE_WORKERS" "$WORK/nginx" "$IDLE_TIMEOUT") ;;
  esac
  start_server SERVER_PID "$logf" "${cmd[@]}"
  wait_listening "$port" "$SERVER_PID" || { tail -n 20 "$logf" >&2; die "$name did not start"; }
  "$HERE/check.py" "$port" >"$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt" >&2; die "$name failed the response check"; }
}

# Wait for the client's READY line; fail if it exits first or takes too long.
wait_ready() {
  local out=$1 i
  for ((i = 0; i < READY_LIMIT_S * 10; i++)); do
    grep -q '^READY' "$out" && return 0
    alive "$CLIENT_PID" || return 1
    sleep 0.1
  done
  return 1
}

field() { grep -o "$1=[^ ]*" "$2" | head -n 1 | cut -d= -f2; }

measure() {
  local name=$1 port=$2 out before idle after est cap=()
  out=$WORK/$name.client
  start "$name" "$port"
  sleep 0.5
  before=$(tree_rss_kib "$SERVER_PID")
  [ "$IDLE_CLOSE" = 1 ] && cap=("$IDLE_CAP")
  : >"$out"  # exists before wait_ready first looks, whatever the scheduling
  "$HERE/idle_conns.py" "$port" "$IDLE_CONNS" "${cap[@]}" >"$out" 2>&1 &
  CLIENT_PID=$!
  wait_ready "$out" || { cat "$out" >&2; die "$name: the idle client did not get its connections up"; }
  sleep 1  # let the server finish whatever it does after the last response
  idle=$(tree_rss_kib "$SERVER_PID")
  est=$(ss -Htn state established "sport = :$port" | wc -l)
  kill -USR1 "$CLIENT_PID"
  [ "$IDLE_CLOSE" = 1 ] && log "$name: waiting up to ${IDLE_CAP}s for the server to close idle connections"
  wait "$CLIENT_PID" || { cat "$out" >&2; die "$name: the idle client failed"; }
  CLIENT_PID=""
  after=$(tree_rss_kib "$SERVER_PID")
  alive "$SERVER_PID" || die "$name died holding idle connections"
  stop_tree "$SERVER_PID"
  SERVER_PID=""

  local open failed
  open=$(field open "$out") failed=$(field failed "$out")
  if [ "$failed" != 0 ]; then
    shout "$name: $failed of $IDLE_CONNS idle connections failed"
    FAILED=1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$IDLE_CONNS" "$open" \
    "$failed" "$est" "$before" "$idle" "$(awk -v a="$before" -v b="$idle" -v n="$open" 'BEGIN { print n ? (b - a) / n : 0 }')" \
    "$after" "$([ "$IDLE_CLOSE" = 1 ] && echo "$IDLE_TIMEOUT" || echo NA)" \
    "$(field closed "$out")" "$(field early "$out")" "$(field idle_min_s "$out" || true)" \
    "$(field idle_p50_s "$out" || true)" "$(field idle_max_s "$out" || true)" >>"$OUT"
  tail -n 1 "$OUT" | awk -F'\t' '{ printf "bench: idle %-7s %s open, rss %s -> %s KiB: %.2f KiB per connection%s\n",
    $1, $3, $6, $7, $8, $10 == "NA" ? "" : sprintf("; server closed %s within the cap, idle %s-%s s", $11, $13, $15) }' >&2
}

main() {
  raise_fd_limit
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  WORK=$(mktemp -d /tmp/chopin-bench-idle.XXXXXX)
  printf 'server\tconns\topen\tfailed\testablished\trss_before_kib\trss_idle_kib\tkib_per_conn\trss_after_kib\ttimeout_s\tclosed_by_server\tclosed_early\tidle_min_s\tidle_p50_s\tidle_max_s\n' >"$OUT"
  log "=== idle connections: $IDLE_CONNS, $IDLE_WORKERS worker(s)"
  measure chopin "$PORT"
  [ "$SKIP_NGINX" = 1 ] || measure nginx $((PORT + 1))
  return "$FAILED"
}

main
