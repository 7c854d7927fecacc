#!/usr/bin/env bash
# A stand-in for build/chopin with the same command line, for dry runs of the
# harness before the real server exists or to compare two anchors:
#
#   CHOPIN_BIN=bench/stand-in.sh make bench           # nginx vs nginx
#   STAND_IN=h2o CHOPIN_BIN=bench/stand-in.sh make bench  # h2o vs nginx
#
# Accepts chopin's flags (--mode --host --port --workers) and env equivalents,
# ignores the mode, and execs nginx (default) or h2o in the foreground.
# IDLE_TIMEOUT, if set, becomes the keep-alive timeout (seconds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

port=${SERVER_PORT:-8080} workers=${WORKERS:-1} host=${SERVER_HOST:-127.0.0.1}
while [ $# -gt 0 ]; do
  case $1 in
  --mode) shift 2 ;;
  --host) host=$2; shift 2 ;;
  --port) port=$2; shift 2 ;;
  --workers) workers=$2; shift 2 ;;
  *) echo "stand-in.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[ "$host" = 127.0.0.1 ] || { echo "stand-in.sh: only 127.0.0.1 is supported" >&2; exit 2; }

# The harness exports BENCH_SCRATCH so our files are removed with its own.
if [ -n "${BENCH_SCRATCH:-}" ]; then
  dir=$BENCH_SCRATCH/stand-in-$port
  mkdir -p "$dir"
else
  dir=$(mktemp -d "/tmp/chopin-stand-in.$port.XXXXXX")
fi
case ${STAND_IN:-nginx} in
nginx) exec "$here/nginx.sh" "$port" "$workers" "$dir" "${IDLE_TIMEOUT:-65}" ;;
h2o)
  # h2o serves the two bodies as static files; it adds etag/last-modified.
  chmod 755 "$dir"
  printf 'Hello, World!' >"$dir/plaintext"
  printf '{"message":"Hello, World!"}' >"$dir/json"
  chmod 644 "$dir/plaintext" "$dir/json"
  {
    # h2o refuses to run as root without a user to drop to.
    [ "$(id -u)" = 0 ] && echo "user: nobody"
    echo "num-threads: $workers"
    echo "max-connections: 20000"
    echo "http1-request-timeout: ${IDLE_TIMEOUT:-10}"
    echo "listen: {host: 127.0.0.1, port: $port}"
    echo "hosts:"
    echo "  default:"
    echo "    paths:"
    echo "      /plaintext: {file.file: $dir/plaintext, file.mime.setdefaulttype: text/plain}"
    echo "      /json: {file.file: $dir/json, file.mime.setdefaulttype: application/json}"
  } >"$dir/h2o.conf"
  exec h2o -c "$dir/h2o.conf"
  ;;
*) echo "stand-in.sh: STAND_IN must be nginx or h2o" >&2; exit 2 ;;
esac
