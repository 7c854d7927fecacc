#!/usr/bin/env bash
# User-space instructions per HTTPS connection, chopin against nginx, counted by callgrind:
# unlike req/s or CPU time, the count does not move with whatever else the machine runs, so it
# compares the two servers' TLS work even on a shared 2-core VM where bench/https.sh's
# handshake rates overlap from run to run. Each server runs with 1 worker under
# `valgrind --tool=callgrind`, serves SMALL and then (in a fresh process) LARGE connections
# made one after another by bench/tls_client.py (a handshake, one GET /plaintext, a close;
# full handshakes, then resumed ones), and the difference of the two totals divided by
# LARGE - SMALL is the cost of one connection without the start-up. Kernel work (TCP, the
# syscalls themselves) is not counted.
#
#   bench/tls_instructions.sh          SMALL [20] LARGE [220] PORT [18590] CHOPIN_BIN [build/chopin]
#
# About 4 minutes. Prints a table; exits non-zero if a server or the client fails.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
SMALL=${SMALL:-20} LARGE=${LARGE:-220} PORT=${PORT:-18590}
CHOPIN_BIN=${CHOPIN_BIN:-$ROOT/build/chopin}
for n in valgrind nginx python3 openssl ss; do command -v "$n" >/dev/null || die "$n is missing"; done
[ -x "$CHOPIN_BIN" ] || die "$CHOPIN_BIN is not an executable (make first)"
SCRATCH=$(mktemp -d /tmp/chopin-tls-instr.XXXXXX)
SERVER=
cleanup() { [ -n "$SERVER" ] && stop_tree "$SERVER"; rm -rf "$SCRATCH"; }
trap cleanup EXIT
"$ROOT/scripts/dev-cert.sh" "$SCRATCH/cert" localhost >/dev/null
CERT=$SCRATCH/cert/cert.pem KEY=$SCRATCH/cert/key.pem
# nginx as bench/https.sh runs it (same TLS settings), but one process, run below under valgrind.
NGINX_TLS_CERT=$CERT NGINX_TLS_KEY=$KEY NGINX_MASTER=off NGINX_CONF_ONLY=1 \
  "$HERE/nginx.sh" "$PORT" 1 "$SCRATCH/nginx"

# instructions SERVER N MODE: sets COUNT to the server's total user-space instructions (in this
# shell, not in $(...), so that the trap stops a server left running by a failure).
instructions() {
  local name=$1 n=$2 mode=$3 out=$SCRATCH/cg.$1.$2.$3
  local vg=(valgrind --tool=callgrind --callgrind-out-file="$out")
  case $name in
  chopin)
    start_server SERVER "$SCRATCH/$name.log" env ENVIRONMENT=production \
      JWT_SECRET=bench-only-jwt-secret-0123456789abcdef TLS_CERT="$CERT" TLS_KEY="$KEY" \
      TLS_PORT="$PORT" TLS_HTTP=off SERVER_PORT=$((PORT + 1)) \
      "${vg[@]}" "$CHOPIN_BIN" --mode performance --workers 1 ;;
  nginx)
    start_server SERVER "$SCRATCH/$name.log" "${vg[@]}" nginx -p "$SCRATCH/nginx" \
      -e "$SCRATCH/nginx/logs/error.log" -c "$SCRATCH/nginx/nginx.conf" ;;
  esac
  wait_listening "$PORT" "$SERVER" 60 || { tail "$SCRATCH/$name.log" >&2; die "$name did not start"; }
  python3 "$HERE/tls_client.py" "$PORT" "$n" "$mode" >"$SCRATCH/client.out" ||
    die "$name: the client failed"
  if [ "$mode" = reuse ] && ! grep -q "resumed $((n - 1))\$" "$SCRATCH/client.out"; then
    die "$name: not every connection resumed: $(cat "$SCRATCH/client.out")"
  fi
  stop_tree "$SERVER"
  SERVER=
  COUNT=$(awk '/^summary:/ { print $2 }' "$out")
  [ -n "$COUNT" ] || die "$name: callgrind wrote no summary"
}

echo "| connection | chopin instructions | nginx instructions | chopin/nginx |"
echo "| --- | ---: | ---: | ---: |"
for mode in new reuse; do
  declare -A per=()
  for name in chopin nginx; do
    instructions "$name" "$SMALL" "$mode"
    small=$COUNT
    instructions "$name" "$LARGE" "$mode"
    large=$COUNT
    per[$name]=$(((large - small) / (LARGE - SMALL)))
    log "$name $mode: $small instructions for $SMALL connections, $large for $LARGE"
  done
  label="full handshake + GET"
  [ "$mode" = reuse ] && label="resumed handshake + GET"
  echo "| $label | ${per[chopin]} | ${per[nginx]} |" \
    "$(awk -v a="${per[chopin]}" -v b="${per[nginx]}" 'BEGIN { printf "%.2f", a / b }') |"
done
