#!/usr/bin/env bash
# The whole test suite. Each suite prints "N passed, N failed"; this script sums them and ends
# with one such line. Exit status 0 only if nothing failed.
#
# Sections, in order (tests/run.sh SECTION... runs only those; default all):
#   lint     cppcheck (mk/lint.mk): one failure per file with a finding
#   release  unit and integration tests against the release build
#   cli      the chopin command end to end: install to a temporary prefix, chopin new,
#            generate, db, run and routes, on SQLite and PostgreSQL
#   install  `make install DESTDIR=tmp`, then every example built out of tree with gcc and
#            clang through pkg-config and run, every public header as C11 and C++17
#   asan     the same under ASan+UBSan
#   fuzz     every fuzz corpus and regression input through every driver (ASan+UBSan)
#   tsan     unit tests and the multi-worker suite under ThreadSanitizer
#   faults   load and fault tests (tests/faults/, a few minutes; also `make test-faults`),
#            then resets, slow clients and floods again over HTTPS;
#            SKIP_FAULTS=1 leaves them out of a full run
#   cluster  3 instances behind HAProxy on one PostgreSQL (tests/cluster/, about a minute;
#            also `make test-cluster`); SKIP_CLUSTER=1 leaves it out of a full run
set -uo pipefail
cd "$(dirname "$0")/.."

JOBS=$(nproc 2>/dev/null || echo 2)
SECTIONS=" ${*:-lint release install cli asan fuzz tsan faults cluster} "
want() { [[ $SECTIONS == *" $1 "* ]]; }
LOG=build/test-logs
mkdir -p "$LOG"
passed=0
failed=0

# suite NAME CMD...: runs one suite, echoes its output, adds its counts (a suite that dies
# without a summary counts as one failure).
suite() {
    local name=$1
    shift
    echo "== $name"
    "$@" 2>&1 | tee "$LOG/$name.log"
    local line
    line=$(grep -oE '[0-9]+ passed, [0-9]+ failed' "$LOG/$name.log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "   $name: no summary line (crashed?)"
        failed=$((failed + 1))
        return
    fi
    local p f
    p=$(echo "$line" | awk '{print $1}')
    f=$(echo "$line" | awk '{print $3}')
    passed=$((passed + p))
    failed=$((failed + f))
}

build() {
    echo "== build $*"
    if ! make -s -j"$JOBS" WERROR=1 "$@" >"$LOG/build.log" 2>&1; then
        cat "$LOG/build.log"
        echo "build failed: $*"
        failed=$((failed + 1))
        return 1
    fi
}

# autocannon (tools/autocannon, pinned; `make autocannon`), test_drain.py's second load generator
# beside wrk. A failed fetch stops nothing else: that case fails and says why.
autocannon_fetched=""
fetch_autocannon() {
    [ -n "$autocannon_fetched" ] && return 0
    autocannon_fetched=1
    echo "== autocannon"
    if ! make -s autocannon >"$LOG/autocannon.log" 2>&1; then
        cat "$LOG/autocannon.log"
        echo "   autocannon was not fetched: test_drain.py's takeover_under_autocannon will fail"
    fi
}

integration() { # label, binary
    local t
    fetch_autocannon
    for t in tests/integration/test_*.py; do
        suite "$1-$(basename "$t" .py)" env CHOPIN_BIN="$2" python3 "$t"
    done
    # The conformance suite again, over HTTPS (lib.py's TLS mode).
    suite "$1-test_conformance-tls" env CHOPIN_BIN="$2" CHOPIN_TEST_TLS=1 \
        python3 tests/integration/test_conformance.py
}

# Counted per file: every C file checked passes unless cppcheck reports something in it.
lint() {
    local out rc files bad
    out=$(make -s lint 2>&1)
    rc=$?
    echo "$out"
    files=$(find src app fuzz tests/unit -name '*.c' | wc -l)
    bad=0
    if [ "$rc" -ne 0 ]; then
        bad=$(echo "$out" | grep -oE '^[^: ]+\.[ch]:[0-9]+: ' | cut -d: -f1 | sort -u | wc -l)
        [ "$bad" -eq 0 ] && bad=1
    fi
    echo "lint: $((files - bad)) passed, $bad failed"
}

# A throwaway PostgreSQL for the database suites (release, ASan, HTTP endpoints); stopped on
# exit. CHOPIN_REQUIRE_PG=1 makes a missing cluster a failure instead of a skip.
export CHOPIN_REQUIRE_PG=1
pg_stop() { [ -n "${CHOPIN_PG_DIR:-}" ] && tests/db/pg-test-cluster.sh stop "$CHOPIN_PG_DIR" >/dev/null 2>&1; }
if want release || want asan || want cli; then
    if pg_env=$(tests/db/pg-test-cluster.sh start); then
        eval "$pg_env"
        export CHOPIN_PG_URL CHOPIN_PG_DIR CHOPIN_PG_TLS_URL
        trap pg_stop EXIT
    else
        echo "== no PostgreSQL test cluster: database suites will fail"
    fi
fi

if want lint; then
    suite lint lint
fi

if want release && build all build/unit-tests build/test-app build/auth-test-app build/db-tests examples \
    build/mw-app build/brotli-decode build/db-test-app build/testkit-tests \
    build/testkit-docs-fallback build/db-app; then
    suite unit ./build/unit-tests
    suite db ./build/db-tests
    suite testkit ./build/testkit-tests
    suite testing-example ./build/examples/testing_example test
    suite docs-fallback ./build/testkit-docs-fallback
    # /api-docs rendered by headless Chromium (about 15 s).
    suite docs-ui env CHOPIN_BIN="$PWD/build/chopin" python3 tests/testkit/test_docs_ui.py
    integration release "$PWD/build/chopin"
fi

if want cli && build all; then
    suite cli env CHOPIN_BIN="$PWD/build/chopin" python3 tests/cli/test_cli.py
fi

if want install && build all; then
    suite install python3 tests/install/test_install.py
fi

if want asan && build O=build/debug SAN=1 build/debug/chopin build/debug/unit-tests \
    build/debug/test-app build/debug/auth-test-app build/debug/db-tests build/debug/mw-app build/debug/brotli-decode \
    build/debug/db-test-app build/debug/examples/db_hello build/debug/testkit-tests \
    build/debug/db-app build/debug/examples/notes; then
    suite unit-asan ./build/debug/unit-tests
    suite db-asan ./build/debug/db-tests
    suite testkit-asan ./build/debug/testkit-tests
    integration asan "$PWD/build/debug/chopin"
fi

# Every fuzz corpus and regression input through every fuzz driver, built with gcc and
# ASan+UBSan and a plain main() instead of libFuzzer (mk/fuzz.mk): one suite per driver.
if want fuzz && build O=build/debug SAN=1 fuzz-replay-bins; then
    for src in fuzz/*.c; do
        d=$(basename "$src" .c)
        [ "$d" = replay_main ] && continue
        # shellcheck disable=SC2046
        suite "fuzz-replay-$d" build/debug/fuzz-replay/"$d" \
            $(ls -d fuzz/corpus/*/ fuzz/regression/*/ 2>/dev/null)
    done
fi

# ThreadSanitizer. halt_on_error makes a racy unit run die before its summary line (counted
# as a failure); lib.Server fails a suite on any ThreadSanitizer line in the server's stderr.
if want tsan && build O=build/tsan SAN=thread build/tsan/chopin build/tsan/unit-tests \
    build/tsan/testkit-tests; then
    suite unit-tsan env TSAN_OPTIONS=halt_on_error=1 ./build/tsan/unit-tests
    # The test client's server thread, workers and client thread.
    suite testkit-tsan env TSAN_OPTIONS=halt_on_error=1 ./build/tsan/testkit-tests
    suite tsan-test_threads env CHOPIN_BIN="$PWD/build/tsan/chopin" \
        python3 tests/integration/test_threads.py
    # HTTPS shares contexts, ticket keys and certificate generations between threads.
    suite tsan-test_tls env CHOPIN_BIN="$PWD/build/tsan/chopin" python3 \
        tests/integration/test_tls.py resumption sighup pipelined garbage main_server_exits
fi

if want faults && [ "${SKIP_FAULTS:-0}" != 1 ] && build all &&
    build O=build/debug SAN=1 build/debug/chopin; then
    for t in tests/faults/test_*.py; do
        suite "faults-$(basename "$t" .py)" env CHOPIN_BIN="$PWD/build/chopin" \
            CHOPIN_ASAN_BIN="$PWD/build/debug/chopin" python3 "$t"
    done
    # Again over HTTPS (flib's CHOPIN_TEST_TLS mode): resets under ASan (mid-handshake too),
    # slow clients, and the descriptor flood. The soak and the 10,000-idle case stay plain.
    for t in resets slow flood; do
        suite "faults-test_$t-tls" env CHOPIN_BIN="$PWD/build/chopin" \
            CHOPIN_ASAN_BIN="$PWD/build/debug/chopin" CHOPIN_TEST_TLS=1 \
            python3 "tests/faults/test_$t.py"
    done
fi

# Loopback only; HAProxy and (unless the release/asan sections started one) PostgreSQL are
# started by scripts/cluster.sh and stopped at the end.
if want cluster && [ "${SKIP_CLUSTER:-0}" != 1 ] && build all; then
    suite cluster env CHOPIN_BIN="$PWD/build/chopin" timeout 600 python3 tests/cluster/test_cluster.py
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
