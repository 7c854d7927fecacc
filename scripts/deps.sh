#!/bin/sh
# Installs the Debian packages a task needs, only those missing.
# Usage: scripts/deps.sh GROUP...   groups: build test bench bench-json bench-db fuzz lint
set -eu

pkgs=""
for group in "$@"; do
    case $group in
    build) pkgs="$pkgs gcc make pkg-config libsqlite3-dev libpq-dev libssl-dev zlib1g-dev libbrotli-dev libargon2-dev" ;;
    test) pkgs="$pkgs gcc make pkg-config libsqlite3-dev libpq-dev libssl-dev zlib1g-dev libbrotli-dev libargon2-dev openssl python3 postgresql curl clang libclang-rt-14-dev chromium haproxy python3-prometheus-client wrk" ;;
    bench) pkgs="$pkgs gcc make pkg-config libsqlite3-dev libpq-dev libssl-dev zlib1g-dev libbrotli-dev libargon2-dev wrk nginx gnuplot-nox python3 curl procps libmimalloc-dev openssl valgrind" ;;
    bench-json) pkgs="$pkgs gcc make pkg-config libcjson-dev libjansson-dev gnuplot-nox" ;;
    bench-db) pkgs="$pkgs wrk postgresql postgresql-contrib gnuplot-nox python3" ;;
    fuzz) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    lint) pkgs="$pkgs cppcheck" ;;
    *) echo "deps.sh: unknown group '$group'" >&2; exit 2 ;;
    esac
    case $group in
    # npm fetches the pinned tools/ packages (scripts/npm-ci.sh): the API docs' UI at build
    # time (mk/docs.mk; the test renders it in Chromium), and autocannon for test_drain.py and
    # bench/autocannon.sh (mk/autocannon.mk). Any npm will do, so Debian's is installed only
    # when none is on PATH.
    build | test | bench) command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm" ;;
    esac
done

missing=""
for p in $pkgs; do
    case " $missing " in *" $p "*) continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "Installing missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps.sh: need root (or sudo) to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
