#!/usr/bin/env bash
# run.sh — runs every suite and adds up their counts.
#   tests/run.sh build/tests/test_a build/tests/test_b ...
# CUnit suites print "name: N passed, N failed"; end-to-end scripts
# (tests/e2e_*.sh KIND) print "ok - ..." / "not ok - ..." lines and end the same
# way.  Each e2e script runs once per broker kind in $BROKERS (embedded kafka).
# The last line is "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BROKERS=${BROKERS-embedded kafka} # empty: the CUnit suites only (make unit, make tsan)
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
# No suite may hang the run (CI has 90 minutes in all): each gets TEST_TIMEOUT
# seconds (exit 124 counts as a failure, with its log).
LIMIT=${TEST_TIMEOUT:-1200}
passed=0 failed=0
logdir=$BUILD/test-logs
mkdir -p "$logdir"

count() { # count LOGFILE LABEL EXITCODE
    local line p f
    line=$(grep -E '^[A-Za-z0-9_ .:/-]*: ?[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
    if [ "$3" = 124 ] || [ "$3" = 137 ]; then
        echo "FAIL $2: stopped after ${LIMIT} s (TEST_TIMEOUT); see $1"
        failed=$((failed + 1))
        return
    fi
    if [ -z "$line" ]; then
        echo "FAIL $2: no result line (exit $3); see $1"
        failed=$((failed + 1))
        return
    fi
    p=$(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    if [ "$3" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # a crash after the counts still fails
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" = 0 ]; then echo "ok   $2: $p passed"; else
        echo "FAIL $2: $p passed, $f failed; see $1"
        grep -E '^(not ok|.*FAILED|.*Test: .*\.\.\.FAILED)' "$1" | head -20 | sed 's/^/       /'
    fi
}

for t in "$@"; do
    name=$(basename "$t")
    log=$logdir/$name.log
    timeout -k 10 "$LIMIT" "$t" >"$log" 2>&1
    count "$log" "$name" $?
done

for kind in $BROKERS; do
    for s in tests/e2e_*.sh; do
        [ -e "$s" ] || continue
        name="$(basename "$s" .sh) [$kind]"
        log=$logdir/$(basename "$s" .sh)-$kind.log
        timeout -k 10 "$LIMIT" bash "$s" "$kind" >"$log" 2>&1
        count "$log" "$name" $?
    done
done

case " $BROKERS " in
    *" kafka "*) ;;
    *) echo "note: real Kafka skipped (BROKERS=\"$BROKERS\"); make test runs it too" ;;
esac
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
