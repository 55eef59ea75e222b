#!/usr/bin/env bash
# e2e_golden.sh KIND — the replay's output bytes do not change.
#
# tests/golden/replay_input.py writes a fixed input (20,000 transactions with late,
# bad and odd records); `streamlab engine --replay` runs the transaction pipeline over
# it with 1 and with 2 workers, and every output topic's bytes must hash to what
# tests/golden/replay.sha256 recorded before the engine's hot path was reworked
# (the speed issue: every output byte stays the same).  No broker is involved; KIND
# is taken like every e2e script's and the check is the same for both.
#   GOLDEN_RECORD=1 bash tests/e2e_golden.sh embedded   rewrites the hashes (only
#   when an output is meant to change; say why in the commit).
# run.sh: runs=once limit=180 min=8
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}" 0

$PY tests/golden/replay_input.py "$WORK/in.jsonl"
want=tests/golden/replay.sha256
for w in 1 2; do
    "$STREAMLAB" engine --replay "$WORK/in.jsonl" --out "$WORK/out$w" --workers "$w" \
        >"$WORK/replay$w.log" 2>&1 || fail "replay with $w worker(s) exits 0" "$(tail -3 "$WORK/replay$w.log")"
    (cd "$WORK/out$w" && sha256sum -- *.jsonl) >"$WORK/got$w.sha256"
done
if [ "${GOLDEN_RECORD:-0}" = 1 ]; then
    cp "$WORK/got1.sha256" "$want"
    echo "# recorded $want"
fi
for w in 1 2; do
    if diff -u "$want" "$WORK/got$w.sha256" >"$WORK/diff$w"; then
        pass "replay with $w worker(s): every output topic is byte-identical to the golden run ($(wc -l <"$want") topics)"
    else
        fail "replay with $w worker(s): every output topic is byte-identical to the golden run" "$(cat "$WORK/diff$w")"
    fi
done
# the golden run holds what it must: dead letters, late records, every output (fraud
# alerts too: the input has small-then-large pairs by chance)
for t in transactions.dlq late_transactions processed_transactions high_value_transactions user_aggregations category_windows fraud_alerts; do
    n=$(wc -l <"$WORK/out1/$t.jsonl" 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then pass "the golden run writes $t ($n records)"; else fail "the golden run writes $t"; fi
done
finish
