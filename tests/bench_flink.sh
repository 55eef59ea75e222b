#!/usr/bin/env bash
# bench_flink.sh — streamlab's engine against its Flink SQL twin (figures, not tests).
#   The same BENCH_FLINK_RECORDS (100000) transactions in a real Kafka (3 partitions),
#   the transaction pipeline end to end, 3 runs each (a fresh group and output suffix
#   each run), medians:
#   - streamlab engine --count N --workers 1 and 2: its summary's rate (first input
#     record to last output delivered);
#   - the twin (streamlab flink submit --bounded) at parallelism 1 and 2 on a local
#     Flink (tests/flink/flink.sh): N / (last - first output record's Kafka timestamp in
#     processed_transactions), the same span as streamlab's; and N / the job's wall time
#     from Flink's REST API (scheduling and start included).
#   The ratio per core divides each rate by its workers / parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
N=${BENCH_FLINK_RECORDS:-100000}
RUNS=${BENCH_FLINK_RUNS:-3}
PY=/usr/bin/python3
tmp=$(mktemp -d)
FLINK_PID=
cleanup() {
    if [ -n "$FLINK_PID" ]; then
        kill -TERM "$FLINK_PID" 2>/dev/null || true
        wait "$FLINK_PID" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

source tests/lib/broker.sh
broker_start kafka >/dev/null 2>&1
tests/flink/flink.sh fetch 2>/dev/null
setsid tests/flink/flink.sh run "$tmp/flink" >"$tmp/flink.out" 2>"$tmp/flink.err" </dev/null &
FLINK_PID=$!
for _ in $(seq 1 240); do [ -s "$tmp/flink.out" ] && break; sleep 0.5; done
read -r REST GATEWAY <"$tmp/flink.out"
echo "== streamlab engine vs the Flink SQL twin (Flink $(tests/flink/flink.sh version)), real Kafka at $BROKER"
"$STREAMLAB" produce transactions -b "$BROKER" --rate 0 --count "$N" --seed 7 >/dev/null

declare -A per_core
for w in 1 2; do
    rates=()
    for i in $(seq "$RUNS"); do
        r=$("$STREAMLAB" engine -b "$BROKER" --count "$N" --workers "$w" --group "bf-$w-$i-$$" \
            --suffix "_bs$w$i" --json 2>/dev/null |
            tail -1 | $PY -c 'import json,sys; print(round(json.load(sys.stdin)["rate"]))')
        rates+=("$r")
    done
    m=$(printf '%s\n' "${rates[@]}" | median)
    per_core[s$w]=$(echo "$m / $w" | bc -l)
    echo "streamlab engine --workers $w, $N records: runs ${rates[*]} records/s; median $m records/s"
done

for p in 1 2; do
    rates=() walls=()
    for i in $(seq "$RUNS"); do
        job=$("$STREAMLAB" flink submit --gateway "$GATEWAY" -b "$BROKER" --bounded --parallelism "$p" \
            --group "bf-flink-$p-$i-$$" --suffix "_bf$p$i" 2>/dev/null)
        state=
        for _ in $(seq 1 1200); do
            state=$(curl -sf "$REST/jobs/$job" | $PY -c 'import json,sys; print(json.load(sys.stdin)["state"])')
            case $state in FINISHED|FAILED|CANCELED) break ;; esac
            sleep 0.5
        done
        [ "$state" = FINISHED ] || { echo "  flink job $job ended $state"; continue; }
        wall=$(curl -sf "$REST/jobs/$job" | $PY -c 'import json,sys; print(json.load(sys.stdin)["duration"] / 1000)')
        span=$(kcat -b "$BROKER" -C -t "processed_transactions_bf$p$i" -e -q -f '%T\n' |
            $PY -c 'import sys; t=[int(x) for x in sys.stdin if x.strip()]; print((max(t)-min(t))/1000, len(t))')
        rates+=("$(echo "$N / ${span% *}" | bc)")
        walls+=("$(echo "$N / $wall" | bc)")
    done
    m=$(printf '%s\n' "${rates[@]}" | median)
    per_core[f$p]=$(echo "$m / $p" | bc -l)
    echo "flink twin parallelism $p, $N records: first to last output runs ${rates[*]} records/s;" \
        "median $m records/s (job wall time incl. start: runs ${walls[*]} records/s)"
done
printf 'per core: streamlab/flink %.1fx at 1 worker vs parallelism 1, %.1fx at 2 vs 2\n' \
    "$(echo "${per_core[s1]} / ${per_core[f1]}" | bc -l)" "$(echo "${per_core[s2]} / ${per_core[f2]}" | bc -l)"
