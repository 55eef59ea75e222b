#!/usr/bin/env bash
# e2e_outage.sh KIND — at-least-once through an outage.
#
# KIND=kafka, the broker goes away under a running engine (broker_restart keeps the data):
#   `streamlab produce transactions --rate 0 --count 3000`; `streamlab engine --count 6000
#   --group G --json` starts in the background; once G has committed something, a producer
#   starts sending 1500 more at 300/s and 2 s later the broker stops, stays down 5 s and
#   comes back on the same port with the same data (producer and engine are busy across
#   the outage; the producer must still deliver all 1500); then 1500 more at full speed.
#   The engine must exit 0 (within 150 s) with input.transactions >= 6000.
#   Checks: transactions holds 6000 records; processed_transactions holds every input
#   transaction_id with amount > 100 at least once (duplicates are allowed and counted);
#   the last user_aggregations record of each user has total_spent and transaction_count
#   >= the user's true totals (a replayed record can only add) — exact numbers reported.
#
# KIND=embedded: its broker keeps everything in memory, so a broker restart loses the data
#   and there is nothing to be at-least-once about.  The outage that makes sense there is
#   the engine's own: `streamlab engine --count 6000 --group G` runs while the producer
#   sends 3000 at 300/s; once G has committed something the engine is killed with SIGKILL
#   (no chance to flush or commit); 3000 more are produced; a second engine in G with
#   --count 6000-C (C = the committed offsets) resumes and must exit 0.  Checks: every input
#   transaction_id with amount > 100 is in processed_transactions at least once (counts of
#   duplicates reported).  User totals are not checked: the engine keeps them in memory,
#   and the killed engine's are gone with it (the numbers are reported, not asserted).
# KIND=kafka runs on a Kafka of its own (own-broker), not on the one tests/run.sh shares:
# it stops and restarts that broker.
# run.sh: own-broker limit=420 min.embedded=7 min.kafka=11
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

S=$STREAMLAB
GROUP=$(group_name outage)
TOTAL=6000

# committed_sum: the sum of G's committed offsets on transactions (-1 when unknown).
committed_sum() {
    timeout 30 "$S" groups -b "$BROKER" --describe "$GROUP" --json 2>/dev/null | $PY -c '
import json, sys
try:
    g = json.load(sys.stdin)
    print(sum(p["committed"] for p in g["partitions"] if p["topic"] == "transactions"))
except Exception:
    print(-1)'
}
# wait_committed LIMIT_S: polls until G has committed something; prints the sum.
wait_committed() {
    local c=-1
    for _ in $(seq 1 $(($1 * 2))); do
        c=$(committed_sum)
        [ "$c" -gt 0 ] 2>/dev/null && break
        sleep 0.5
    done
    echo "$c"
}
# wait_pid PID LIMIT_S: waits for PID (a child of ours) to exit; sets RC (124 = still
# running after LIMIT_S, then it is killed).
wait_pid() {
    local pid=$1 limit=$2 start=$SECONDS
    while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - start)) -lt "$limit" ]; do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        sleep 5
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        RC=124
    else
        RC=0
        wait "$pid" || RC=$?
    fi
}
# produce NAME COUNT ARGS...: streamlab produce transactions --count COUNT ARGS in the
# foreground; checks exit 0 and "COUNT delivered, 0 failed".
produce() {
    local name=$1 n=$2 rc=0
    shift 2
    timeout 150 "$S" produce transactions -b "$BROKER" --count "$n" "$@" >"$WORK/$name.out" \
        2>"$WORK/$name.err" </dev/null || rc=$?
    produce_check "$name" "$n" "$rc" "$*"
}
# produce_check NAME COUNT RC LABEL
produce_check() {
    if [ "$3" = 0 ] && grep -q ": $2 delivered, 0 failed" "$WORK/$1.out"; then
        pass "produce transactions --count $2 $4 exits 0: $2 delivered, 0 failed"
    else
        fail "produce transactions --count $2 $4 exits 0: $2 delivered, 0 failed" \
            "exit $3, stdout: $(head -c 200 "$WORK/$1.out"), stderr: $(grep -v 'kafka FAIL\|kafka ERROR' "$WORK/$1.err" | tail -c 300)"
    fi
}

if [ "$KIND" = kafka ]; then
    produce produce1 3000 --rate 0

    "$S" engine -b "$BROKER" --count "$TOTAL" --group "$GROUP" --json \
        >"$WORK/engine.out" 2>"$WORK/engine.err" </dev/null &
    ENGINE=$!
    bg_track "$ENGINE"
    C=$(wait_committed 60)
    if [ "$C" -gt 0 ] 2>/dev/null; then
        pass "the engine commits offsets before the outage"
    else
        fail "the engine commits offsets before the outage" "committed sum $C after 60 s"
    fi
    # 1500 more at 300/s: the broker goes down while they flow (producer and engine busy).
    timeout 150 "$S" produce transactions -b "$BROKER" --count 1500 --rate 300 \
        >"$WORK/produce2.out" 2>"$WORK/produce2.err" </dev/null &
    PRODUCER=$!
    bg_track "$PRODUCER"
    sleep 2
    echo "# committed before the outage: $(committed_sum) (3000 + what the producer sent in 2 s)"
    broker_stop
    sleep 5
    if broker_restart; then
        pass "the Kafka broker comes back on $BROKER with its data"
    else
        fail "the Kafka broker comes back on $BROKER with its data"
        finish
        exit 1
    fi
    kill -0 "$ENGINE" 2>/dev/null && echo "# the engine is still running after the outage"
    wait_pid "$PRODUCER" 150
    produce_check produce2 1500 "$RC" "--rate 300 (across the outage)"
    produce produce3 1500 --rate 0
    wait_pid "$ENGINE" 150
    expect_eq "the engine (--count $TOTAL) exits 0 after the outage" 0 "$RC"
    [ "$RC" = 0 ] || sed 's/^/# engine: /' "$WORK/engine.err" | tail -15
    grep -iE 'error|fail|warn|lost|down' "$WORK/engine.err" | head -5 | sed 's/^/# engine stderr: /'
    tail -n1 "$WORK/engine.out" >"$WORK/summary.json"
    CHECK_TOTALS=1
else
    # A short session timeout: the group drops the killed member after 6 s, not 45 s.
    "$S" engine -b "$BROKER" --count "$TOTAL" --group "$GROUP" --json -X session.timeout.ms=6000 \
        >"$WORK/engine1.out" 2>"$WORK/engine1.err" </dev/null &
    ENGINE=$!
    bg_track "$ENGINE"
    timeout 120 "$S" produce transactions -b "$BROKER" --rate 300 --count 3000 \
        >"$WORK/produce1.out" 2>"$WORK/produce1.err" </dev/null &
    PRODUCER=$!
    bg_track "$PRODUCER"
    C=$(wait_committed 60)
    kill -KILL "$ENGINE" 2>/dev/null
    wait "$ENGINE" 2>/dev/null
    if [ "$C" -gt 0 ] 2>/dev/null; then
        pass "the first engine commits offsets, then is killed with SIGKILL"
    else
        fail "the first engine commits offsets, then is killed with SIGKILL" "committed sum $C after 60 s"
    fi
    wait_bounded "$PRODUCER" 120
    rc=$?
    if [ "$rc" = 0 ] && grep -q ": 3000 delivered, 0 failed" "$WORK/produce1.out"; then
        pass "produce transactions --rate 300 --count 3000 (while the engine dies) exits 0: 3000 delivered"
    else
        fail "produce transactions --rate 300 --count 3000 (while the engine dies) exits 0: 3000 delivered" \
            "exit $rc, stdout: $(head -c 200 "$WORK/produce1.out")"
    fi
    produce produce2 3000 --rate 0
    C2=$(committed_sum)
    echo "# committed when the first engine was seen committing: $C; after it was killed: $C2"
    if [ "$C2" -ge 0 ] 2>/dev/null && [ "$C2" -le "$TOTAL" ]; then
        REST=$((TOTAL - C2))
        RC=0
        timeout 150 "$S" engine -b "$BROKER" --count "$REST" --group "$GROUP" --json \
            >"$WORK/engine.out" 2>"$WORK/engine.err" </dev/null || RC=$?
        expect_eq "a second engine in G (--count $REST = $TOTAL - committed) exits 0" 0 "$RC"
        [ "$RC" = 0 ] || sed 's/^/# engine: /' "$WORK/engine.err" | tail -15
    else
        fail "the committed offsets of G can be read after the kill" "got [$C2]"
    fi
    tail -n1 "$WORK/engine.out" >"$WORK/summary.json" 2>/dev/null
    CHECK_TOTALS=0
fi

for t in transactions processed_transactions user_aggregations; do
    kcat_dump "$t" "$WORK/$t.jsonl" || echo "# kcat could not read $t"
done

$PY - "$WORK" "$TOTAL" "$KIND" "$CHECK_TOTALS" >"$WORK/checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/checks.txt"
import collections, json, sys
from decimal import Decimal, ROUND_HALF_UP
work, total, kind, check_totals = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"

def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))

def load(topic):
    out = []
    try:
        for line in open("%s/%s.jsonl" % (work, topic)):
            if line.strip():
                e = json.loads(line)
                e["value"] = json.loads(e["payload"])
                out.append(e)
    except OSError:
        pass
    return sorted(out, key=lambda e: (e["partition"], e["offset"]))

FACTOR = {"electronics": Decimal("0.95"), "books": Decimal("0.90"), "clothing": Decimal("0.92")}
def final_cents(r):
    f = FACTOR.get(r["category"], Decimal("1.0"))
    return int((Decimal(str(r["amount"])) * 100 * f).to_integral_value(rounding=ROUND_HALF_UP))
def cents(x):
    return int((Decimal(str(x)) * 100).to_integral_value(rounding=ROUND_HALF_UP))

try:
    s = json.load(open(work + "/summary.json"))
    got_in = s.get("input", {}).get("transactions")
    if kind == "kafka":
        ok("summary input.transactions >= %d" % total, isinstance(got_in, int) and got_in >= total,
           "input %r" % got_in)
    print(("engine summary: " if kind == "kafka" else "second engine's summary: ") +
          "input %s output %s dlq %s late %s delivery_failed %s" % (
        got_in, s.get("output"), s.get("dlq"), s.get("late"), s.get("delivery_failed")))
except (OSError, ValueError, AttributeError) as e:
    ok("the engine ends with a JSON summary", False, str(e))

inp = load("transactions")
proc = load("processed_transactions")
aggs = load("user_aggregations")
ids = collections.Counter(e["value"]["transaction_id"] for e in inp)
ok("transactions holds %d records, every transaction_id once" % total,
   len(inp) == total and all(c == 1 for c in ids.values()),
   "%d records, %d distinct ids" % (len(inp), len(ids)))
want = {}
for e in inp:
    v = e["value"]
    if Decimal(str(v["amount"])) > 100:
        want[v["transaction_id"]] = v
got = collections.Counter(e["value"].get("transaction_id") for e in proc)
missing = sorted(set(want) - set(got))
unexpected = sorted(set(got) - set(want))
dups = {i: c for i, c in got.items() if c > 1}
print("inputs with amount > 100: %d; processed_transactions: %d records, %d distinct; "
      "%d transaction_ids twice or more (%d extra records)" % (
          len(want), len(proc), len(got), len(dups), sum(c - 1 for c in dups.values())))
ok("processed_transactions holds every input with amount > 100 (%d) at least once" % len(want),
   not missing, "%d missing, e.g. %s" % (len(missing), missing[:5]))
ok("processed_transactions holds nothing else", not unexpected,
   "%d unexpected, e.g. %s" % (len(unexpected), unexpected[:5]))

truth = collections.defaultdict(lambda: [0, 0])
for v in want.values():
    truth[v["user_id"]][0] += final_cents(v)
    truth[v["user_id"]][1] += 1
last = {}
for e in aggs:
    last[e["value"].get("user_id")] = e["value"]
exact = over = under = 0
excess_cents = excess_count = 0
unders = []
for u, (c, k) in truth.items():
    v = last.get(u)
    if v is None:
        under += 1
        unders.append("%s: no aggregation (true %.2f / %d)" % (u, c / 100, k))
        continue
    gc, gk = cents(v.get("total_spent", 0)), v.get("transaction_count", 0)
    if gc == c and gk == k:
        exact += 1
    elif gc >= c and gk >= k:
        over += 1
        excess_cents += gc - c
        excess_count += gk - k
    else:
        under += 1
        unders.append("%s: total_spent %.2f count %d, true %.2f / %d" % (u, gc / 100, gk, c / 100, k))
print("user_aggregations: %d users; last record exact for %d, above the truth for %d "
      "(+%.2f, +%d transactions in all), below it for %d" % (
          len(truth), exact, over, excess_cents / 100, excess_count, under))
if unders:
    print("below the truth, e.g.: " + "; ".join(unders[:5]))
if check_totals:
    ok("each user's last user_aggregations >= the true total_spent and transaction_count "
       "(%d users)" % len(truth), under == 0, "%d users below: %s" % (under, "; ".join(unders[:4])))
EOF
tap_from "$WORK/checks.txt"

finish
