#!/usr/bin/env bash
# bench.sh — throughput figures (not tests): medians of 5 runs on this machine.
#   BENCH_RUNS=5  BENCH_RECORDS=45000  BROKERS="embedded kafka"
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
RUNS=${BENCH_RUNS:-5}
RECORDS=${BENCH_RECORDS:-45000}
BROKERS=${BENCH_BROKERS:-embedded kafka}

# The engine beside its peers (kcat pipe, Python baselines), side by side.
bash tests/bench_engine.sh

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

for kind in $BROKERS; do
    (
        source tests/lib/broker.sh
        broker_start "$kind" >/dev/null
        echo "== $kind broker at $BROKER"
        "$STREAMLAB" produce transactions -b "$BROKER" --rate 0 --count "$RECORDS" --seed 7 >/dev/null
        rates=()
        for i in $(seq "$RUNS"); do
            r=$("$STREAMLAB" engine -b "$BROKER" --count "$RECORDS" --group "bench-$i-$$" --json 2>/dev/null |
                tail -1 | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rate"]))')
            rates+=("$r")
        done
        echo "engine end to end, $RECORDS keyed records already in transactions, first input to last output:"
        echo "  runs: ${rates[*]} records/s; median $(printf '%s\n' "${rates[@]}" | median) records/s"
        prates=()
        for i in $(seq "$RUNS"); do
            r=$("$STREAMLAB" produce transactions -b "$BROKER" --rate 0 --count 300000 |
                sed -E 's/.*\(([0-9]+)\/s\).*/\1/')
            prates+=("$r")
        done
        echo "producer alone, 300000 records, acks=all, idempotent:"
        echo "  runs: ${prates[*]} records/s; median $(printf '%s\n' "${prates[@]}" | median) records/s"
    )
done

# (Replay with 1 and 2 workers, against a Python script: bench_engine.sh.)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Event-to-sink latency at 10,000 records/s on the embedded broker: the engine runs
# while the producer sends 100,000 records; its summary has p50/p99 from each
# record's Kafka timestamp (set by the producer) to the outputs it caused.  A fresh
# broker per run, so that no backlog from an earlier run is read.
p50s=() p99s=()
for i in $(seq 3); do
    read -r p50 p99 < <(
        source tests/lib/broker.sh
        broker_start embedded >/dev/null 2>&1
        "$STREAMLAB" engine -b "$BROKER" --group "lat-$$" --duration 20 --json \
            >"$tmp/lat.out" 2>/dev/null &
        eng=$!
        sleep 5 # the group settles
        "$STREAMLAB" produce transactions -b "$BROKER" --rate 10000 --count 100000 >/dev/null
        wait "$eng"
        tail -1 "$tmp/lat.out" | /usr/bin/python3 -c '
import json, sys
l = json.load(sys.stdin)["metrics"]["transactions"]["latency"]
print(l["p50_ms"], l["p99_ms"])'
    )
    p50s+=("$p50") p99s+=("$p99")
done
echo "== event-to-sink latency at 10,000 records/s (embedded broker, 100,000 records):"
echo "  p50 runs: ${p50s[*]} ms; median $(printf '%s\n' "${p50s[@]}" | sort -g | sed -n 2p) ms"
echo "  p99 runs: ${p99s[*]} ms; median $(printf '%s\n' "${p99s[@]}" | sort -g | sed -n 2p) ms"

# --headless's producer holds its rate (tests/e2e_headless.sh no longer asserts a band
# around rate x duration: how many it sends in 5 s depends on the machine's load).
hl=()
for i in $(seq "$RUNS"); do
    hl+=("$("$STREAMLAB" --headless --duration 5 --rate 500 --json 2>/dev/null | tail -1 |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["produced"]["transactions"])')")
done
echo "== --headless --duration 5 --rate 500 (embedded broker): transactions produced (2500 at the rate)"
echo "  runs: ${hl[*]}; median $(printf '%s\n' "${hl[@]}" | median)"

# The console's CPU and memory.
bash tests/bench_console.sh
bash tests/bench_fast_start.sh
bash tests/bench_video.sh
bash tests/bench_eos.sh
bash tests/bench_scale.sh
bash tests/bench_files.sh
bash tests/bench_flink.sh
