#!/usr/bin/env bash
# e2e_scale.sh KIND — scale-out across processes: 1, 2 and 3 engine processes of one
# group give the same read_committed outputs, and a kill -9 of one of them moves its
# partitions, with their state, to the others.
#
# 3000 transactions (3 partitions, event times jittered within the 5 s bound, 1 s
# windows so that there are a few dozen) are produced first.  Then, each run in a group
# of its own (outputs suffixed _p1, _p2, _p3), N processes read them to the end
# (--until-end, --settle 6 so that the group forms before the first record).  User totals are keyed by the input's key; category windows go through
# the repartition topic streamlab-<group>-repartition-category_windows, whose watermark
# markers come from every upstream partition.  Compared with the 1-process run, record by
# record: the same processed ids, each once; the same final total and count for every
# user; the same fired category windows.
#
# Then the kill: 2 processes (group K, session.timeout.ms 6 s) run while 3000 more
# transactions arrive at 600/s; once K has committed outputs, one is killed with SIGKILL.
# The survivor takes its partitions over (restoring their state from the changelog) and
# goes on; when the input has ended it is stopped (SIGTERM: a clean commit) and a last
# process of group K finishes it (--until-end).  Its outputs equal those of a 1-process
# run over all 6000 (group P).  On the embedded broker read_committed readers also see
# the outputs of aborted transactions, so there the processed ids may repeat (at most one
# transaction's worth), the final state and windows must be exact.
# run.sh: limit=480 min=28
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

"$STREAMLAB" produce transactions -b "$BROKER" --count 3000 --rate 1000 --seed 11 \
    --out-of-order 2 >"$WORK/prod1.out" 2>&1
expect_eq "the producer sends 3000 transactions (exit 0)" 0 "$?"

G=$(group_name scale)
# X: -X settings for every engine here: a short session timeout (the kill), a short
# transaction timeout (a killed process's open transaction is aborted soon).
X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 -X transaction.timeout.ms=10000)
# --settle: processes started together wait until the group has formed, so that they
# split the partitions from the first record (a real Kafka here assigns a joiner at once).
SETTLE=6
run_group() { # N SUFFIX: N processes of group $G-SUFFIX read to the end
    local n=$1 sfx=$2 pids=() i rc=0
    for i in $(seq 1 "$n"); do
        timeout 150 "$STREAMLAB" engine -b "$BROKER" --group "$G-$sfx" --instance "$i" \
            --suffix "_$sfx" --window 1 --until-end --settle "$SETTLE" --json "${X[@]}" \
            >"$WORK/$sfx.$i.out" 2>"$WORK/$sfx.$i.err" &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || { rc=$?; tail -n 3 "$WORK/$sfx.$((i + 1)).err" | sed 's/^/# /'; }
    done
    return $rc
}
for n in 1 2 3; do
    run_group "$n" "p$n"
    expect_eq "$n engine process(es) read the 3000 to the end (exit 0)" 0 "$?"
done

# --- kill -9 of one of two processes ----------------------------------------------------
# -X debug=cgrp: librdkafka says on stderr when the group gives a process partitions.
for i in 1 2; do
    "$STREAMLAB" engine -b "$BROKER" --group "$G-k" --instance "$i" --suffix _k --window 1 \
        --json "${X[@]}" -X debug=cgrp >"$WORK/k.$i.out" 2>"$WORK/k.$i.err" &
    eval "k$i=\$!"
    bg_track $!
done
# The group has formed when both processes have partitions of their own.
wait_assigned "$WORK/k.1.err" "$G-k" 90 && wait_assigned "$WORK/k.2.err" "$G-k" 90
check "both processes of group K have partitions" test $? = 0
"$STREAMLAB" produce transactions -b "$BROKER" --count 3000 --rate 600 --seed 12 \
    --out-of-order 2 >"$WORK/prod2.out" 2>&1 &
prod=$!
bg_track "$prod"
for _ in $(seq 60); do
    n=$(timeout 30 kcat -b "$BROKER" -C -t processed_transactions_k -o beginning -e -q \
        -X isolation.level=read_committed 2>/dev/null | wc -l)
    [ "$n" -gt 3000 ] && break
    sleep 0.5
done
kill -9 "$k2"
wait "$k2" 2>/dev/null
rc=0
wait_bounded "$prod" 120 || rc=$?
expect_eq "the producer sends 3000 more transactions (exit 0)" 0 "$rc"
# The survivor notices (session timeout), restores the killed one's state (on a real
# Kafka once the broker has aborted the killed one's open transaction) and catches up:
# wait until every transaction above the filter (amount > 100) has its committed output.
want=$(timeout 60 kcat -b "$BROKER" -C -t transactions -o beginning -e -q 2>/dev/null |
    $PY -c 'import sys, json; print(sum(1 for l in sys.stdin if json.loads(l)["amount"] > 100))')
have=0
for _ in $(seq 120); do
    have=$(timeout 30 kcat -b "$BROKER" -C -t processed_transactions_k -o beginning -e -q \
        -X isolation.level=read_committed 2>/dev/null |
        $PY -c 'import sys, json; print(len({json.loads(l)["transaction_id"] for l in sys.stdin}))')
    [ "$have" -ge "$want" ] && break
    sleep 1
done
expect_eq "the survivor alone committed an output for every transaction ($want)" "$want" "$have"
kill -TERM "$k1"
rc=0
wait_bounded "$k1" 60 || rc=$?
expect_eq "the surviving process stops cleanly (exit 0)" 0 "$rc"
rc=0
timeout 150 "$STREAMLAB" engine -b "$BROKER" --group "$G-k" --instance 3 --suffix _k --window 1 \
    --until-end --json "${X[@]}" >"$WORK/k.3.out" 2>"$WORK/k.3.err" || rc=$?
expect_eq "a last process of the group reads to the end (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 3 "$WORK/k.3.err" | sed 's/^/# /'
run_group 1 all
expect_eq "one process reads all 6000 in one run (exit 0)" 0 "$?"

for s in p1 p2 p3 k all; do
    for t in processed_transactions user_aggregations category_windows; do
        kcat_dump "${t}_$s" "$WORK/${t}_$s.jsonl" 2>/dev/null
    done
done

$PY - "$WORK" "$KIND" <<'PY' >"$WORK/scale.checks" 2>&1 || echo "not ok - the checker ran" >>"$WORK/scale.checks"
import json, sys, collections, glob
work, kind = sys.argv[1], sys.argv[2]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
def load(t, s):
    return [json.loads(json.loads(l)["payload"]) for l in open("%s/%s_%s.jsonl" % (work, t, s)) if l.strip()]
def summaries(s):
    out = []
    for f in sorted(glob.glob("%s/%s.*.out" % (work, s))):
        lines = open(f).read().splitlines()
        out.append(json.loads(lines[-1]) if lines else {})
    return out
def ids(s):
    return [p["transaction_id"] for p in load("processed_transactions", s)]
def finals(s):
    last = {}
    for u in load("user_aggregations", s):
        last[u["user_id"]] = (round(u["total_spent"], 2), u["transaction_count"])
    return last
def wins(s):
    return sorted((w["category"], w["window_start"], w["window_end"], round(w["total_amount"], 2),
                   w["transaction_count"], bool(w.get("update"))) for w in load("category_windows", s))
ref_ids, ref_users, ref_wins = ids("p1"), finals("p1"), wins("p1")
ok("the 1-process run processed each id once (%d)" % len(ref_ids),
   len(ref_ids) == len(set(ref_ids)) > 2500, "%d records, %d ids" % (len(ref_ids), len(set(ref_ids))))
ok("the 1-process run fired category windows (%d)" % len(ref_wins), len(ref_wins) >= 8)
for n in (2, 3):
    s = "p%d" % n
    sums = summaries(s)
    split = [sum(x.get("input", {}).values()) for x in sums]
    print("%d processes: input records per process %s, windows fired per process %s" %
          (n, split, [x.get("output", {}).get("category_windows") for x in sums]))
    ok("%d processes split the input (%s, sum 3000)" % (n, split), sum(split) == 3000, "%r" % split)
    ok("%d processes: no record late" % n, all(x.get("late") == 0 for x in sums))
    got = ids(s)
    ok("%d processes: the same processed ids, each once (%d)" % (n, len(got)),
       sorted(got) == sorted(ref_ids), "%d vs %d, only here %s" % (len(got), len(ref_ids), sorted(set(got) - set(ref_ids))[:3]))
    u = finals(s)
    diff = [k for k in ref_users if ref_users[k] != u.get(k)]
    ok("%d processes: every user's final total and count (%d users)" % (n, len(ref_users)),
       u == ref_users, "%d differ, e.g. %s" % (len(diff), [(k, ref_users[k], u.get(k)) for k in diff[:2]]))
    w = wins(s)
    ok("%d processes: the same fired category windows (%d)" % (n, len(w)), w == ref_wins,
       "only 1: %s, only %d: %s" % ([x for x in ref_wins if x not in w][:2], n, [x for x in w if x not in ref_wins][:2]))

# the kill
k1 = json.loads(open(work + "/k.1.out").read().splitlines()[-1])
k3 = json.loads(open(work + "/k.3.out").read().splitlines()[-1])
print("the survivor: %r input, %d pieces of state restored, rebalance pauses %r ms" %
      (k1.get("input"), k1.get("state_restored", 0), k1.get("rebalance_pause_ms")))
ok("the survivor restored the killed process's state on taking its partitions (%d pieces)"
   % k1.get("state_restored", 0), k1.get("state_restored", 0) > 50, "%r" % k1.get("state_restored"))
ok("no record was late", k1.get("late") == 0 and k3.get("late") == 0, "%r %r" % (k1.get("late"), k3.get("late")))
all_ids, k_ids = ids("all"), ids("k")
dups = [i for i, c in collections.Counter(k_ids).items() if c > 1]
if kind == "kafka":
    ok("group K's committed processed_transactions hold each id once", not dups,
       "%d duplicates, e.g. %s" % (len(dups), dups[:3]))
else:
    ok("group K's duplicates are at most the aborted transaction's (%d, under 1500)" % len(dups),
       len(dups) < 1500, "%d duplicates" % len(dups))
    print("the embedded broker shows aborted transactions to read_committed readers: "
          "%d outputs of the killed process's open transaction appear twice" % len(dups))
ok("group K processed the same ids as one process (%d)" % len(set(all_ids)),
   set(k_ids) == set(all_ids) and len(all_ids) == len(set(all_ids)) > 5000,
   "one %d, K %d, only one %s, only K %s" % (len(all_ids), len(set(k_ids)), sorted(set(all_ids) - set(k_ids))[:3], sorted(set(k_ids) - set(all_ids))[:3]))
ua, uk = finals("all"), finals("k")
diff = [k for k in ua if ua[k] != uk.get(k)]
ok("group K: every user's final total and count (%d users)" % len(ua), ua == uk,
   "%d differ, e.g. %s" % (len(diff), [(k, ua[k], uk.get(k)) for k in diff[:2]]))
wa, wk = wins("all"), wins("k")
extra = collections.Counter(wk) - collections.Counter(wa)
missing = collections.Counter(wa) - collections.Counter(wk)
if kind == "kafka":
    ok("group K: the same fired category windows (%d)" % len(wa), wa == wk and len(wa) > 8,
       "only one: %s, only K: %s" % (list(missing)[:2], list(extra)[:2]))
else:
    # the aborted transaction's window results show up too (as its processed records do):
    # one more copy of windows that the 1-process run fired, none other.  (How many depends
    # on how far the killed process had got in its open transaction: not asserted.)
    ok("group K: the same fired category windows (%d); %d of them once more, from the aborted transaction"
       % (len(wa), sum(extra.values())),
       not missing and len(wa) > 8 and set(extra) <= set(wa) and all(n == 1 for n in extra.values()),
       "missing %s, repeated %s" % (list(missing)[:2], [(w, n) for w, n in extra.items() if n > 1 or w not in wa][:2]))
PY
tap_from "$WORK/scale.checks"
finish
