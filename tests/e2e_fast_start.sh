#!/usr/bin/env bash
# e2e_fast_start.sh KIND — the engine reads at once when the producer starts fast.
#
# 1. The console, ten times in a row, each fresh: as soon as its screen appears, p
#    (the transaction producer) then ] five times (50k/s).  Each time the engine's
#    source count in pane 6 (source:transactions) must grow within 5 s of the keys,
#    the group's lag must be shown non-zero while it catches up, and 3 s later the
#    count must have grown again with no "engine stalled" on the screen.  (It
#    read nothing in 4 of 4 such launches: the engine's consumer landed on the
#    embedded broker's moving log start again and again; see engine.c, reposition.)
# 2. The command line: `streamlab produce transactions --rate R --count 15R` and, at
#    the same moment, `streamlab engine --duration 15 --json`; the engine must read at
#    least 90% of what was produced in the run (R = 20,000).
#
# KIND=embedded: each console brings its own broker (--listen on a free port), and the
# command-line run uses a fresh `streamlab broker`; KIND=kafka: the real broker, and the
# command-line run's group starts at the end of what earlier tests left in transactions.
# run.sh: limit=360 min=31
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

kind=${1:-}
case $kind in
    embedded) e2e_init "$kind" 0 ;;
    *) e2e_init "$kind" ;;
esac
command -v tmux >/dev/null || { fail "tmux is installed"; finish; exit 1; }
. tests/lib/console.sh

LAUNCHES=${FAST_START_LAUNCHES:-10}
source_count() { grep -oE 'source:transactions +[0-9]+' <<<"$SCREEN" | grep -oE '[0-9]+$' | head -1; }
lag_shown() { grep -oE 'group streamlab-console lag [0-9]+' <<<"$SCREEN" | grep -oE '[0-9]+$' | head -1; }
source_above() { local n; n=$(source_count); [ -n "$n" ] && [ "$n" -gt "$1" ]; }
lag_above_zero() { local n; n=$(lag_shown); [ -n "$n" ] && [ "$n" -gt 0 ]; }

# --- 1. ten fresh consoles ---------------------------------------------------------
MUST_LIVE=1
for i in $(seq 1 "$LAUNCHES"); do
    if [ "$kind" = embedded ]; then
        console_listen "fast$i" 160 48 "6 Kafka & engine"
    else
        # the console's group reads transactions from where it last committed: the
        # records of earlier launches are behind it, so each launch starts fresh
        console_start "fast$i" 160 48 -b "$BROKER"
    fi
    if ! wait_for 20 has "6 Kafka & engine"; then
        fail "launch $i: the console's screen appears"
        dump_screen
        break
    fi
    key p
    for _ in 1 2 3 4 5; do key ']'; done
    keys_at=$SECONDS
    if wait_for 20 has "50.0k/s"; then :; else fail "launch $i: ] x5 raises the rate to 50k/s"; dump_screen; fi
    # the group's first assignment takes the broker's initial rebalance delay (3 s)
    # from the console's start, which came before the keys
    before=$(source_count)
    before=${before:-0}
    if wait_for $((5 - (SECONDS - keys_at))) source_above "$before"; then
        pass "launch $i: the engine's source count grows within 5 s of p ]x5 ($(source_count))"
    else
        fail "launch $i: the engine's source count grows within 5 s of p ]x5" "it stayed at $(source_count)"
        dump_screen
    fi
    if wait_for 10 lag_above_zero; then
        pass "launch $i: the group's lag is shown non-zero while the engine catches up ($(lag_shown))"
    else
        fail "launch $i: the group's lag is shown non-zero while the engine catches up" \
            "pane 6: $(grep -oE 'group streamlab-console lag [^│]*' <<<"$SCREEN" | head -1)"
    fi
    n1=$(source_count)
    sleep 3
    snap
    n2=$(source_count)
    if [ -n "$n1" ] && [ -n "$n2" ] && [ "$n2" -gt "$n1" ] && ! has "engine stalled"; then
        pass "launch $i: the engine goes on reading ($n1 then $n2 3 s later)"
    else
        fail "launch $i: the engine goes on reading" "source count $n1 then $n2"
        dump_screen
    fi
    MUST_LIVE=0
    key q
    wait_for 30 has_re '^EXIT=0$' || { fail "launch $i: q exits with status 0"; dump_screen; }
    tm kill-session -t "$S" 2>/dev/null
    MUST_LIVE=1
done
MUST_LIVE=0

# --- 2. the command line at 20k/s -------------------------------------------------
run_cli() { # RATE
    local rate=$1 count=$(($1 * 15)) addr bpid=
    if [ "$kind" = embedded ]; then
        # a broker of its own on a port it picks (no race for a free port)
        extra_broker || fail "an embedded broker for the $rate/s run starts"
        bpid=$EXTRA_BROKER_PID
        addr=$EXTRA_BROKER
    else
        addr=$BROKER
    fi
    local group
    group=$(group_name fast)
    if [ "$kind" = kafka ]; then
        # the group starts where transactions ends now: what earlier tests left there
        # is not this run's (a commit at the end offsets, through confluent-kafka)
        $PY - "$addr" "$group" <<'PYEOF' || fail "the group's offsets are set at the end of transactions"
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2]})
md = c.list_topics("transactions", timeout=20)
tps = []
for p in md.topics["transactions"].partitions:
    lo, hi = c.get_watermark_offsets(TopicPartition("transactions", p), timeout=20)
    tps.append(TopicPartition("transactions", p, hi))
c.commit(offsets=tps, asynchronous=False)
c.close()
PYEOF
    fi
    "$STREAMLAB" produce transactions -b "$addr" --rate "$rate" --count "$count" \
        >"$WORK/produce-$rate.log" 2>&1 &
    local ppid=$!
    # The engine stops once it has read what the run produces (--count), or after 60 s:
    # what it misses is what the broker's retention removed before a fetch reached it
    # (the stall this script is about), not the tail a fixed 15 s would cut off when
    # the machine is busy and the producer finishes late.
    "$STREAMLAB" engine -b "$addr" --group "$group" --pipelines transactions --count "$count" \
        --duration 60 --json >"$WORK/engine-$rate.json" 2>"$WORK/engine-$rate.err"
    wait_bounded "$ppid" 120 || fail "the producer at $rate/s ends within 120 s"
    [ -n "$bpid" ] && kill "$bpid" 2>/dev/null
    local read
    read=$(tail -1 "$WORK/engine-$rate.json" | $PY -c 'import json,sys; print(json.load(sys.stdin)["input"].get("transactions", 0))' 2>/dev/null)
    read=${read:-0}
    if [ $((read * 10)) -ge $((count * 9)) ]; then
        pass "produce at ${rate}/s with the engine started at once: it read $read of $count (>= 90%)"
    else
        fail "produce at ${rate}/s with the engine started at once: it reads >= 90%" \
            "it read $read of $count; its stderr: $(tr '\n' ' ' <"$WORK/engine-$rate.err" | cut -c1-600)"
    fi
}
run_cli 20000

finish
