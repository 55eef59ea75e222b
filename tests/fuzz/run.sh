#!/usr/bin/env bash
# run.sh — runs each libFuzzer target given for FUZZ_SECONDS, one after the
# other (they share the machine), and prints per target: runs, exec/s,
# coverage (cov = edges, ft = features), and "no crash" or the crash file.
# Called by `make fuzz`: BUILD is the fuzz build (build/fuzz).
#   $BUILD/fuzz-seeds/<target>   seeds written by gen_seeds at each run
#   $BUILD/fuzz-corpus/<target>  the corpus libFuzzer grows (kept between runs)
#   $BUILD/fuzz-crashes/<target> crashing inputs (crash-*, leak-*, timeout-*, oom-*)
#   $BUILD/fuzz-logs/<target>.log libFuzzer's full output
# Exit status: 0 when no target crashed.
set -u
BUILD=${BUILD:-build/fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: run.sh FUZZER..." >&2; exit 2; }

rm -rf "$BUILD/fuzz-seeds"
"$BUILD/fuzzers/gen_seeds" "$BUILD/fuzz-seeds" || exit 1
mkdir -p "$BUILD/fuzz-logs"
# Zone conversion (timestamps with Z or +hh:mm) goes through localtime_r:
# a zone with summer time exercises it more than UTC.
export TZ=${FUZZ_TZ:-Europe/Berlin}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=0
printf '%-20s %8s %12s %8s %8s %8s  %s\n' target seconds runs exec/s cov ft result
for bin in "$@"; do
    name=$(basename "$bin")
    corpus="$BUILD/fuzz-corpus/$name" crashes="$BUILD/fuzz-crashes/$name"
    log="$BUILD/fuzz-logs/$name.log"
    mkdir -p "$corpus" "$crashes"
    opts=(-max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048
          -artifact_prefix="$crashes/")
    case $name in
    fuzz_evtime) ;;
    *) opts+=(-dict="$HERE/json.dict") ;;
    esac
    case $name in
    # handle_frame reports every bad record on stderr and prints frames on
    # stdout: keep libFuzzer's own output (and sanitizer reports) only.
    fuzz_consume_frame) opts+=(-close_fd_mask=3) ;;
    esac
    seeds=("$BUILD/fuzz-seeds/$name")
    [ -d "$HERE/corpus/$name" ] && seeds+=("$HERE/corpus/$name")
    start=$(date +%s)
    "$bin" "${opts[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    took=$(( $(date +%s) - start ))
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -1)
    eps=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -1)
    crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -1)
    if [ $rc -eq 0 ] && [ -z "$crash" ]; then
        result="no crash"
    else
        result="CRASH ${crash:-(exit $rc, see $log)}"
        failed=1
    fi
    printf '%-20s %8s %12s %8s %8s %8s  %s\n' "$name" "$took" "${runs:-?}" "${eps:-?}" \
        "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed
