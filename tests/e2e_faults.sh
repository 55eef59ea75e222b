#!/usr/bin/env bash
# e2e_faults.sh KIND — a broker outage under exactly-once, with the embedded broker's
# fault hooks (`streamlab broker --control`: librdkafka's mock API).
#
# The faults are the embedded broker's own, so this script runs its own embedded broker
# whatever KIND is (a real Kafka's restart is tests/e2e_outage.sh KIND=kafka).  An engine
# (exactly-once, 2 workers, --count 3500) runs while 3000 transactions arrive at 300/s;
# once it has its partitions and has committed the first records, every broker goes down
# for 5 s ("down"), then comes back ("up").  The producer
# must deliver all 3000, the engine must exit 0 with the outage in its summary, and the
# read_committed outputs must be exact: every transaction with amount > 100 processed
# once, every user's final total and count equal to the sums over their transactions.
# Then "rtt 300" slows every response and "error 0 7 3" fails the next three Produce
# requests: 500 more transactions still arrive, each once.
# run.sh: runs=once lane=e limit=240 min=19
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}" 0

control_broker
check "the embedded broker with --control serves on $FB" test -n "$FB"

# -X debug=cgrp: librdkafka says on stderr when the group gives the engine its partitions.
"$STREAMLAB" engine -b "$FB" --group F --count 3500 --workers 2 --json -X debug=cgrp \
    >"$WORK/eng.out" 2>"$WORK/eng.err" &
eng=$!
bg_track "$eng"
wait_assigned "$WORK/eng.err" F 60
check "the engine has its partitions from group F" test $? = 0
"$STREAMLAB" produce transactions -b "$FB" --count 3000 --rate 300 --seed 9 \
    >"$WORK/prod.out" 2>&1 &
prod=$!
bg_track "$prod"
# The outage comes once the engine is at work: it has committed records of the stream.
wait_group_committed F 1 60 transactions "$FB"
check "the engine commits the first records before the outage" test $? = 0
expect_eq "down: every broker stops answering" "ok broker 1 down" "$(say down)"
sleep 5 # the outage's length (a fault, not a wait for something)
expect_eq "up: the broker answers again" "ok broker 1 up" "$(say up)"
rc=0
wait_bounded "$prod" 120 || rc=$?
expect_eq "the producer delivers all 3000 across the outage (exit 0)" 0 "$rc"
grep -q "3000 delivered, 0 failed" "$WORK/prod.out" && pass "producer: 3000 delivered, 0 failed" ||
    fail "producer: 3000 delivered, 0 failed" "$(tail -1 "$WORK/prod.out")"
expect_eq "rtt 300: every response 300 ms late" "ok 300 ms added to every response" "$(say 'rtt 300')"
expect_eq "error 0 7 3: the next 3 Produce requests time out" \
    "ok the next 3 requests of API 0 fail with Broker: Request timed out" "$(say 'error 0 7 3')"
rc=0
timeout 120 "$STREAMLAB" produce transactions -b "$FB" --count 500 --rate 0 --seed 10 \
    >"$WORK/prod2.out" 2>&1 || rc=$?
expect_eq "the producer delivers 500 more through the slow, failing broker (exit 0)" 0 "$rc"
say 'rtt 0' >/dev/null
rc=0
wait_bounded "$eng" 180 || rc=$?
expect_eq "the engine reads all 3500 and exits 0" 0 "$rc"
[ "$rc" = 0 ] || grep -v '^streamlab: kafka [A-Z]*: \[thrd' "$WORK/eng.err" | tail -n 5 | sed 's/^/# engine: /'
grep -q "broker unreachable" "$WORK/eng.err" && pass "the engine said the broker was unreachable" ||
    fail "the engine said the broker was unreachable" "no such line on stderr"
grep -q "the broker is back after" "$WORK/eng.err" && pass "the engine said the broker was back" ||
    fail "the engine said the broker was back" "no such line on stderr"

for t in transactions processed_transactions user_aggregations; do
    kcat_dump "$t" "$WORK/$t.jsonl" "$FB" 2>/dev/null
done
$PY - "$WORK" <<'PY' >"$WORK/faults.checks" 2>&1 || echo "not ok - the checker ran" >>"$WORK/faults.checks"
import json, sys, collections
from decimal import Decimal, ROUND_HALF_UP
work = sys.argv[1]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
def load(t):
    return [json.loads(json.loads(l)["payload"]) for l in open("%s/%s.jsonl" % (work, t)) if l.strip()]
s = json.loads(open(work + "/eng.out").read().splitlines()[-1])
ok("the summary counts the outage (%r, %r s)" % (s.get("outages"), s.get("outage_s")),
   s.get("outages", 0) >= 1 and s.get("outage_s", 0) >= 3)
ok("the engine read 3500 records", s["input"].get("transactions") == 3500, "%r" % s["input"])
tx = load("transactions")
ok("transactions holds 3500 records", len(tx) == 3500, "%d" % len(tx))
FACTOR = {"electronics": Decimal("0.95"), "books": Decimal("0.90"), "clothing": Decimal("0.92")}
def final_cents(t):  # half away from zero on the exact product, as the engine does
    f = FACTOR.get(t["category"], Decimal("1.0"))
    return int((Decimal(str(t["amount"])) * 100 * f).to_integral_value(rounding=ROUND_HALF_UP))
def cents(x):
    return int((Decimal(str(x)) * 100).to_integral_value(rounding=ROUND_HALF_UP))
want = {t["transaction_id"]: t for t in tx if t["amount"] > 100}
proc = load("processed_transactions")
ids = [p["transaction_id"] for p in proc]
dups = [i for i, n in collections.Counter(ids).items() if n > 1]
ok("every transaction with amount > 100 is processed (%d)" % len(want), set(ids) == set(want),
   "missing %s, unexpected %s" % (sorted(set(want) - set(ids))[:3], sorted(set(ids) - set(want))[:3]))
ok("each once (read_committed)", not dups, "%d duplicates" % len(dups))
totals = collections.defaultdict(lambda: [0, 0])
for t in want.values():
    totals[t["user_id"]][0] += final_cents(t)
    totals[t["user_id"]][1] += 1
last = {}
for u in load("user_aggregations"):
    last[u["user_id"]] = (cents(u["total_spent"]), u["transaction_count"])
bad = [u for u in totals if tuple(totals[u]) != last.get(u)]
ok("every user's final total and count are the sums over their transactions (%d users)" % len(totals),
   not bad, "%d differ, e.g. %s" % (len(bad), [(u, totals[u], last.get(u)) for u in bad[:3]]))
PY
tap_from "$WORK/faults.checks"
finish
