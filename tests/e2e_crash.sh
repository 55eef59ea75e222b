#!/usr/bin/env bash
# e2e_crash.sh KIND — exactly-once through a crash: kill -9 of the engine mid-stream,
# then a restart, gives the read_committed outputs of an uninterrupted run.
#
# Engine B (group B, outputs suffixed _b, 2 workers) runs while 3000 transactions arrive
# at 1000/s (event times jittered within the 5 s bound, so no record is late whatever the
# read order); once 300 of its outputs are committed it is killed with SIGKILL, in
# the middle of the stream: 3000 more transactions are produced after the kill, so what B
# committed before it can only come from the first 3000.
# Restarted (same group, same instance), it restores its keyed state from its changelog,
# resumes from the last committed offsets and reads to the end (--until-end).  Engine A
# (group A, suffix _a) reads the same 6000 records without interruption.  With
# isolation.level=read_committed, B's outputs must equal A's: the same processed ids,
# each once; the same final total and count for every user; the same category windows.
# --idle-timeout 600: a partition whose fetches stall on a busy machine must not be taken
# for idle (that would let the watermark pass its records and make them late); the input
# is bounded, --until-end fires every window.
# On the embedded broker (librdkafka's mock cluster) read_committed readers also see the
# outputs of aborted transactions, so there the check is that the duplicates are no more
# than one transaction's, and the final state is exact.
# run.sh: limit=300 min=14
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

# -X debug=cgrp: librdkafka says on stderr when the group gives B its partitions.
# A short session timeout (here and in the restart: the embedded broker's rebalance waits
# on the joiner's too): the restarted B's group drops the killed member after 6 s, not 45.
"$STREAMLAB" engine -b "$BROKER" --group B --suffix _b --workers 2 --idle-timeout 600 --json -X debug=cgrp \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 \
    >"$WORK/b1.out" 2>"$WORK/b1.err" &
b1=$!
bg_track "$b1"
wait_assigned "$WORK/b1.err" B 90
check "engine B has its partitions from group B" test $? = 0
"$STREAMLAB" produce transactions -b "$BROKER" --count 3000 --rate 1000 --seed 5 \
    --out-of-order 2 >"$WORK/prod1.out" 2>&1 &
prod=$!
bg_track "$prod"
dump_b1() {
    timeout 60 kcat -b "$BROKER" -C -t processed_transactions_b -o beginning -e -q \
        -X isolation.level=read_committed 2>/dev/null | wc -l
}
# Kill once B has committed a transaction over 900 inputs (the group's offsets go with
# it: keyed state for a few hundred users to restore) and 300 outputs are there.  (The
# embedded broker's read_committed readers also see open transactions' records, so the
# outputs alone do not say that anything was committed: killed before its first commit
# under load, B had restored 4 pieces.)
for _ in $(seq 120); do
    [ "$(group_committed B)" -ge 900 ] && [ "$(dump_b1)" -ge 300 ] && break
    sleep 0.5
done
kill -9 "$b1"
wait "$b1" 2>/dev/null
rc=0
wait_bounded "$prod" 120 || rc=$?
expect_eq "the producer sends the first 3000 transactions (exit 0)" 0 "$rc"
n1=$(dump_b1)
# B can only have processed what was there before the kill: some of the first 3000
# (those with amount > 100).  The second 3000 come after the kill.
p1=$(timeout 60 kcat -b "$BROKER" -C -t transactions -o beginning -e -q 2>/dev/null |
    $PY -c 'import sys, json; print(sum(1 for l in sys.stdin if json.loads(l)["amount"] > 100))')
if [ "$n1" -ge 300 ] && [ "$n1" -le "${p1:-0}" ]; then
    pass "engine B was killed mid-stream: $n1 processed records committed before the kill, of the first 3000's $p1"
else
    fail "engine B was killed mid-stream" "$n1 committed processed records (want 300..$p1 of the first 3000)"
fi
timeout 120 "$STREAMLAB" produce transactions -b "$BROKER" --count 3000 --rate 1000 --seed 6 \
    --out-of-order 2 >"$WORK/prod2.out" 2>&1
expect_eq "the producer sends 3000 more after the kill (exit 0)" 0 "$?"
rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --group B --suffix _b --workers 2 --idle-timeout 600 --until-end \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 --json >"$WORK/b2.out" 2>"$WORK/b2.err" || rc=$?
expect_eq "restarted engine B reads to the end (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$WORK/b2.err" | sed 's/^/# engine B: /'
rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --group A --suffix _a --workers 2 --idle-timeout 600 --until-end \
    --json >"$WORK/a.out" 2>"$WORK/a.err" || rc=$?
expect_eq "engine A reads the 6000 in one run (exit 0)" 0 "$rc"

dump_committed() { # TOPIC FILE: read_committed, every record to the end
    kcat_dump "$1" "$2" 2>/dev/null
}
for s in a b; do
    for t in processed_transactions user_aggregations category_windows; do
        dump_committed "${t}_$s" "$WORK/${t}_$s.jsonl"
    done
done
timeout 60 kcat -b "$BROKER" -C -t processed_transactions_b -o beginning -e -q \
    -X isolation.level=read_uncommitted 2>/dev/null | wc -l >"$WORK/b_uncommitted.count"

$PY - "$WORK" "$KIND" <<'PY' >"$WORK/crash.checks" 2>&1 || echo "not ok - the checker ran" >>"$WORK/crash.checks"
import json, sys, collections
work, kind = sys.argv[1], sys.argv[2]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
def load(t, s):
    return [json.loads(json.loads(l)["payload"]) for l in open("%s/%s_%s.jsonl" % (work, t, s)) if l.strip()]
b2 = json.loads(open(work + "/b2.out").read().splitlines()[-1])
a = json.loads(open(work + "/a.out").read().splitlines()[-1])
ok("the restarted engine restored its keyed state (%d pieces)" % b2.get("state_restored", 0),
   b2.get("state_restored", 0) > 100, "%r" % b2.get("state_restored"))
ok("both ran exactly-once", a.get("mode") == b2.get("mode") == "exactly-once", "%r %r" % (a.get("mode"), b2.get("mode")))
ok("no record was late in either run", a.get("late") == 0 and b2.get("late") == 0,
   "A %r, B %r" % (a.get("late"), b2.get("late")))
pa, pb = load("processed_transactions", "a"), load("processed_transactions", "b")
ida = [p["transaction_id"] for p in pa]
idb = [p["transaction_id"] for p in pb]
dups = [i for i, n in collections.Counter(idb).items() if n > 1]
if kind == "kafka":
    ok("B's committed processed_transactions hold each id once", not dups,
       "%d duplicates, e.g. %s" % (len(dups), dups[:3]))
else:
    # librdkafka 2.0.2's mock cluster does not hide aborted transactions from
    # read_committed readers: the outputs of the transaction the kill aborted
    # show up a second time.  They are at most one checkpoint's worth.
    ok("B's duplicates are at most the aborted transaction's (%d, under 2000)" % len(dups),
       len(dups) < 2000, "%d duplicates" % len(dups))
    print("# the embedded broker shows aborted transactions to read_committed readers: "
          "%d outputs of the killed run's open transaction appear twice" % len(dups))
ok("B processed the same ids as A (%d)" % len(ida), set(ida) == set(idb) and len(set(ida)) == len(ida) > 5000,
   "A %d, B %d, only A %s, only B %s" % (len(ida), len(set(idb)), sorted(set(ida) - set(idb))[:3], sorted(set(idb) - set(ida))[:3]))
fa = {p["transaction_id"]: p["final_amount"] for p in pa}
fb = {p["transaction_id"]: p["final_amount"] for p in pb}
ok("the same final_amount for every id", fa == fb)
def finals(s):
    last = {}
    for u in load("user_aggregations", s):
        last[u["user_id"]] = (round(u["total_spent"], 2), u["transaction_count"])
    return last
ua, ub = finals("a"), finals("b")
diff = [u for u in ua if ua[u] != ub.get(u)]
ok("every user's final total and count are A's (%d users)" % len(ua), ua == ub and len(ua) > 900,
   "%d differ, e.g. %s" % (len(diff), [(u, ua[u], ub.get(u)) for u in diff[:2]]))
def wins(s):
    return sorted((w["category"], w["window_start"], w["window_end"], round(w["total_amount"], 2), w["transaction_count"])
                  for w in load("category_windows", s))
wa, wb = wins("a"), wins("b")
ok("the same category windows (%d)" % len(wa), wa == wb and len(wa) > 0,
   "only A %s, only B %s" % ([w for w in wa if w not in wb][:2], [w for w in wb if w not in wa][:2]))
n_unc = int(open(work + "/b_uncommitted.count").read().strip() or 0)
print("# read_uncommitted, processed_transactions_b holds %d records (%d more than committed:"
      " the aborted transaction's outputs)" % (n_unc, n_unc - len(pb)))
PY
tap_from "$WORK/crash.checks"
finish
