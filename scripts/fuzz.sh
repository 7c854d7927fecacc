#!/usr/bin/env bash
# Runs libFuzzer drivers one after another: scripts/fuzz.sh BUILD_DIR DRIVER...
# FUZZ_TIME seconds each (default 60), extra libFuzzer flags in FUZZ_FLAGS. New corpus units
# go to BUILD_DIR/corpus/<driver>/ (scratch: promote good ones to fuzz/corpus/ by hand, after
# `-merge=1`), crashes and timeouts to fuzz/regression/<driver>/. Prints one figure line per
# driver and exits non-zero if any driver found something.
set -uo pipefail
cd "$(dirname "$0")/.."

out=$1
shift
time=${FUZZ_TIME:-60}
status=0
mkdir -p "$out/logs"
for d in "$@"; do
    bin=$out/fuzzers/$d
    corpus=$out/corpus/$d
    mkdir -p "$corpus" "fuzz/regression/$d" "fuzz/corpus/$d"
    dict=fuzz/http.dict
    [ -f "fuzz/$d.dict" ] && dict=fuzz/$d.dict
    log=$out/logs/$d.log
    before=$(find "fuzz/regression/$d" -type f | wc -l)
    echo "== fuzz $d for ${time}s (dictionary $dict, log $log)"
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$time" -print_final_stats=1 -dict="$dict" \
        -artifact_prefix="fuzz/regression/$d/" ${FUZZ_FLAGS:-} \
        "$corpus" "fuzz/corpus/$d" "fuzz/regression/$d" >"$log" 2>&1
    rc=$?
    after=$(find "fuzz/regression/$d" -type f | wc -l)
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    [ -z "$done_line" ] && done_line=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}')
    cov=$(echo "$done_line" | grep -oE 'cov: [0-9]+' | awk '{print $2}')
    ft=$(echo "$done_line" | grep -oE 'ft: [0-9]+' | awk '{print $2}')
    corp=$(echo "$done_line" | grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' | awk '{print $2}')
    echo "fuzz $d: execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?}" \
        "findings=$((after - before)) exit=$rc"
    if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
        grep -E 'ERROR|SUMMARY|==[0-9]+==|^request_head:|^chunked:' "$log" | head -n 20
        status=1
    fi
done
exit $status
