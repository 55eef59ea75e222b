#!/usr/bin/env bash
# e2e_console_faults.sh KIND — the console shows broker faults: records lost to retention
# before its engine read them, an outage while it happens, and the recovery after it.
#
# The faults are the embedded broker's own (`streamlab broker --control`: librdkafka's
# mock API; its retention keeps ~100,000 records a partition), so this script runs its
# own embedded broker whatever KIND is (tests/e2e_outage.sh restarts a real Kafka).
#  1. 1000 transactions; `streamlab engine --group streamlab-console` (the console's
#     group) reads them and commits; 100,000 more arrive while no engine runs, so the log
#     start of every partition passes the group's position;
#  2. the console on that broker: its engine resumes there, and the Kafka pane says how
#     many records retention removed before they were read (exactly log start - committed,
#     as `streamlab groups` and `streamlab topics` give them);
#  3. with the console's producer on (p), "down": the pane says BROKER DOWN while it
#     lasts; "up": it says the outage count and that the engine resumed; the LOST line is
#     still there, for the session, with the time of the last loss.
# run.sh: runs=once limit=240 min=17
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}" 0
. tests/lib/console.sh

control_broker
check "the embedded broker with --control serves on $FB" test -n "$FB"

check "1000 transactions" \
    bash -c "'$STREAMLAB' produce transactions -b $FB --count 1000 --rate 0 >/dev/null"
check "the console's group reads them and commits (engine --until-end, exit 0)" \
    bash -c "timeout 120 '$STREAMLAB' engine -b $FB --group streamlab-console --until-end >/dev/null 2>'$WORK/e1.err'"
# 100,000 uncompressed: more than the ~5 MB a partition keeps (tests/e2e_retention.sh
# floods with 200,000, where the size is the point; lz4 batches would fit).
check "100,000 more at full speed while no engine runs" \
    bash -c "timeout 120 '$STREAMLAB' produce transactions -b $FB --count 100000 --rate 0 -X compression.codec=none >/dev/null"
"$STREAMLAB" groups -b "$FB" --describe streamlab-console --json >"$WORK/g.json" 2>/dev/null
"$STREAMLAB" topics -b "$FB" --json >"$WORK/t.json" 2>/dev/null
want=$($PY - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
g, t = json.load(open(w + "/g.json")), json.load(open(w + "/t.json"))
start = {p["partition"]: p["log_start"] for x in t if x["topic"] == "transactions"
         for p in x["partitions"]}
print(sum(max(0, start[p["partition"]] - p["committed"]) for p in g["partitions"]
          if p["topic"] == "transactions"))
PY
)
check "retention removed records the group had not read (log start - committed = $want)" \
    test "${want:-0}" -gt 0

console_start faults 200 60 -b "$FB"
lost_line() { has_re "LOST: retention removed $want records the engine had not read"; }
expect "the Kafka pane says exactly $want records were lost to retention" 90 lost_line
# (its consumer joins the group and restores its state first: slow on a loaded machine)
expect "the engine reads on past the gap" 180 has_re 'source:transactions +[1-9][0-9]* '
expect "the LOST count is still $want once it has read" 5 lost_line

key p # the producer: records flowing through the outage, as a user would have them
expect "p starts the console's producer" 30 has_re 'producer ON'
expect "its records reach the engine" 30 has_re 'producer ON [^|]*\([1-9][0-9.]*k? sent\)'
expect_eq "down: every broker stops answering" "ok broker 1 down" "$(say down)"
expect "the pane says BROKER DOWN while it lasts" 60 has_re 'BROKER DOWN for [0-9]+ s: the engine waits'
sleep 3 # the outage's length (a fault, not a wait for something)
expect_eq "up: the broker answers again" "ok broker 1 up" "$(say up)"
recovered() { has_re 'broker outages: 1, [0-9.]+ s in all; recovered, the engine resumed'; }
expect "after it, the pane says one outage and that the engine resumed" 90 recovered
expect "BROKER DOWN is gone" 5 has_none "BROKER DOWN"
expect "the LOST count stays $want: records read since were not lost" 5 lost_line
flat_pane() { tr -s ' \n│' ' ' <<<"$SCREEN"; }
lost_when() { grep -qE "LOST: retention removed $want records the engine had not read \(this session; the last at [0-9]{2}:[0-9]{2}:[0-9]{2};" <<<"$(flat_pane)"; }
expect "the LOST line says it counts this session and when the last loss was (issue 19)" 5 lost_when
console_quit "console"
finish
