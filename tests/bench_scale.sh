#!/usr/bin/env bash
# bench_scale.sh — the rebalance pause when an engine process joins or leaves its group
# (figures, not tests).  Embedded broker; transactions arrive at 2000/s throughout.
# Engine A runs alone; 6 s later engine B joins the group, 6 s after that B stops
# (SIGTERM: it leaves the group).  A's summary lists its pauses: from each revocation
# to the first record it processed after the next assignment (the restore of the
# partitions' state from the changelog included).  3 runs, medians.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
source tests/lib/broker.sh
broker_start embedded >/dev/null 2>&1
med() { sort -g | awk '{v[NR] = $1} END {print NR ? v[int((NR + 1) / 2)] : "nan"}'; }
joins=() leaves=()
for i in 1 2 3; do
    g=scale-bench-$i-$$
    "$STREAMLAB" produce transactions -b "$BROKER" --rate 2000 --count 48000 --seed "$i" \
        >/dev/null 2>&1 &
    prod=$!
    pids+=("$prod")
    "$STREAMLAB" engine -b "$BROKER" --group "$g" --instance a --suffix "_sb$i" --json \
        -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 >"$tmp/a$i.out" 2>/dev/null &
    a=$!
    pids+=("$a")
    sleep 6
    "$STREAMLAB" engine -b "$BROKER" --group "$g" --instance b --suffix "_sb$i" --json \
        -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 >"$tmp/b$i.out" 2>/dev/null &
    b=$!
    pids+=("$b")
    sleep 6
    kill -TERM "$b"
    wait "$b" || true
    sleep 6
    kill -TERM "$a"
    wait "$a" || true
    kill "$prod" 2>/dev/null || true
    wait "$prod" 2>/dev/null || true
    read -r j l r < <(tail -1 "$tmp/a$i.out" | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
p = s.get("rebalance_pause_ms") or []
print(p[0] if len(p) > 0 else "nan", p[1] if len(p) > 1 else "nan", s.get("restore_s"))')
    [ "$j" = nan ] || joins+=("$j")
    [ "$l" = nan ] || leaves+=("$l")
    echo "  run $i: engine A paused ${j} ms when B joined, ${l} ms when B left (of all that, restoring state: ${r} s)"
done
echo "rebalance pause (revocation to the next record processed): join median $(printf '%s\n' "${joins[@]}" | med) ms, leave median $(printf '%s\n' "${leaves[@]}" | med) ms"
