#!/usr/bin/env bash
# e2e_options.sh KIND — engine options through the command line, with exact expectations.
#
# Both kinds:
#   engine --at-least-once through a kill -9: an engine of group G (--at-least-once,
#   outputs suffixed _alo) runs while 3000 transactions arrive at 1000/s, and is killed
#   with SIGKILL once G has committed 300 input offsets; 3000 more are produced after the kill; a second engine of G
#   (--until-end) must exit 0, read exactly 6000 - C records (C = G's committed offsets
#   after the kill: it resumes there), say at-least-once in its summary, and every input
#   transaction with amount > 100 must be in processed_transactions_alo at least once
#   (the repeats are counted and reported).
#   consume --read-committed: a transactional producer (confluent-kafka) writes c1-c5
#   (committed), a1-a3 (aborted), c6-c7 (committed).  On Kafka, --read-committed prints
#   exactly c1..c7 and without it all ten; and while a transaction is open, --read-committed
#   stops before its records (then prints them once it commits).  The embedded broker
#   (librdkafka's mock cluster) shows aborted and open transactions to read_committed
#   readers too, so there only the committed records' presence is checked.
# KIND=embedded only (they do not depend on the broker):
#   --window-slide, --session-gap, --allowed-lateness (and without it), through
#   `engine --replay` on hand-made inputs whose outputs are worked out below;
#   --state-ttl on the broker: the TTL is in processing time (as Flink's state TTL), so
#   a user's total is forgotten once 2 s of the engine's clock pass without a record of
#   theirs (the script waits 4 s: that wait is the input) and the next record starts it
#   again; the same input replayed without --state-ttl keeps adding.
# run.sh: limit=360 min.embedded=27 min.kafka=17
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

# mk ID,USER,CATEGORY,AMOUNT,HH:MM:SS ...: transactions of 2024-01-15, one a line.
mk() {
    $PY -c '
import json, sys
for a in sys.argv[1:]:
    tid, user, cat, amt, ts = a.split(",")
    print(json.dumps({"transaction_id": tid, "user_id": user, "product": "p", "category": cat,
                      "amount": float(amt), "quantity": 1, "payment_method": "paypal",
                      "timestamp": "2024-01-15T" + ts + ".000000", "location": "city_1"},
                     separators=(",", ":")))' "$@"
}

# --- engine --at-least-once through a kill -9 ---------------------------------------------
G=$(group_name alo)
"$STREAMLAB" engine -b "$BROKER" --group "$G" --suffix _alo --at-least-once --json -X debug=cgrp \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 \
    >"$WORK/alo1.out" 2>"$WORK/alo1.err" &
alo1=$!
bg_track "$alo1"
wait_assigned "$WORK/alo1.err" "$G" 90
check "the at-least-once engine has its partitions" test $? = 0
# the input arrives while it runs, so that the kill comes while it is at work
"$STREAMLAB" produce transactions -b "$BROKER" --count 3000 --rate 1000 --seed 21 \
    >"$WORK/p1.out" 2>&1 &
p1=$!
bg_track "$p1"
wait_group_committed "$G" 300 120
check "the at-least-once engine commits offsets (300 or more)" test $? = 0
kill -9 "$alo1"
wait "$alo1" 2>/dev/null
wait_bounded "$p1" 120
expect_eq "3000 transactions while the engine runs and dies" 0 "$?"
C=$(group_committed "$G")
echo "# committed after the kill: $C"
timeout 120 "$STREAMLAB" produce transactions -b "$BROKER" --count 3000 --rate 0 --seed 22 \
    >"$WORK/p2.out" 2>&1
expect_eq "3000 more after the kill" 0 "$?"
rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --group "$G" --suffix _alo --at-least-once --until-end \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 --json >"$WORK/alo2.out" 2>"$WORK/alo2.err" || rc=$?
expect_eq "the restarted at-least-once engine reads to the end (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$WORK/alo2.err" | sed 's/^/# engine: /'
kcat_dump transactions "$WORK/alo_in.jsonl"
timeout 60 kcat -b "$BROKER" -C -t processed_transactions_alo -o beginning -e -q -J \
    >"$WORK/alo_out.jsonl" 2>/dev/null
$PY - "$WORK" "$C" <<'PY' >"$WORK/alo.checks" 2>&1 || echo "not ok - the at-least-once checker ran" >>"$WORK/alo.checks"
import collections, json, sys
work, c = sys.argv[1], int(sys.argv[2] or 0)
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
def load(f):
    return [json.loads(json.loads(l)["payload"]) for l in open(work + "/" + f) if l.strip()]
s = json.loads(open(work + "/alo2.out").read().splitlines()[-1])
tx = load("alo_in.jsonl")
ok("transactions holds the 6000", len(tx) == 6000, "%d" % len(tx))
ok("the restart resumed at the committed offsets: it read 6000 - %d = %d" % (c, 6000 - c),
   s["input"].get("transactions") == 6000 - c and 300 <= c < 6000, "read %r, committed %d" % (s["input"], c))
ok("its summary says at-least-once", s.get("mode") == "at-least-once", "%r" % s.get("mode"))
want = {t["transaction_id"] for t in tx if t["amount"] > 100}
got = collections.Counter(p["transaction_id"] for p in load("alo_out.jsonl"))
missing = want - set(got)
ok("every transaction with amount > 100 is processed at least once (%d)" % len(want),
   not missing and len(want) > 5000, "%d missing, e.g. %s" % (len(missing), sorted(missing)[:3]))
ok("nothing else is processed", set(got) <= want, "%s" % sorted(set(got) - want)[:3])
print("# repeated after the kill: %d records (at-least-once may repeat what came after the last commit)"
      % sum(n - 1 for n in got.values()))
PY
tap_from "$WORK/alo.checks"

# --- consume --read-committed --------------------------------------------------------------
"$STREAMLAB" topics -b "$BROKER" --create rc_topic --partitions 1 >/dev/null 2>&1
$PY - "$BROKER" rc_topic <<'PY' >"$WORK/txw.out" 2>&1
import sys
from confluent_kafka import Producer
addr, topic = sys.argv[1], sys.argv[2]
p = Producer({"bootstrap.servers": addr, "transactional.id": "e2e-rc-" + topic, "linger.ms": 0})
p.init_transactions(30)
def batch(vals, commit):
    p.begin_transaction()
    for v in vals:
        p.produce(topic, key=b"k", value=v.encode(), partition=0)
    p.flush(30)
    (p.commit_transaction if commit else p.abort_transaction)(30)
batch(["c1", "c2", "c3", "c4", "c5"], True)
batch(["a1", "a2", "a3"], False)
batch(["c6", "c7"], True)
print("written")
PY
check "a transactional producer writes c1-c5, a1-a3 (aborted), c6-c7" grep -q written "$WORK/txw.out"
rc_out=$(timeout 60 "$STREAMLAB" consume rc_topic -b "$BROKER" --from-beginning --raw --read-committed \
    --count 7 2>"$WORK/rc.err" | tr '\n' ' ')
all_out=$(timeout 60 "$STREAMLAB" consume rc_topic -b "$BROKER" --from-beginning --raw --count 10 \
    2>"$WORK/all.err" | tr '\n' ' ')
expect_eq "consume without --read-committed prints all ten" "c1 c2 c3 c4 c5 a1 a2 a3 c6 c7 " "$all_out"
if [ "$KIND" = kafka ]; then
    expect_eq "consume --read-committed prints the committed ones only" "c1 c2 c3 c4 c5 c6 c7 " "$rc_out"
    # an open transaction: --read-committed stops before it until it commits
    $PY - "$BROKER" rc_open "$WORK/txo.go" <<'PY' >"$WORK/txo.out" 2>&1 &
import os, sys, time
from confluent_kafka import Producer
addr, topic, go = sys.argv[1:4]
p = Producer({"bootstrap.servers": addr, "transactional.id": "e2e-open-" + topic, "linger.ms": 0})
p.init_transactions(30)
p.begin_transaction()
for v in ["c1", "c2", "c3"]:
    p.produce(topic, key=b"k", value=v.encode(), partition=0)
p.commit_transaction(30)
p.begin_transaction()
for v in ["o1", "o2"]:
    p.produce(topic, key=b"k", value=v.encode(), partition=0)
p.flush(30)
print("open", flush=True)
for _ in range(1200):  # until the test creates GO (120 s at most)
    if os.path.exists(go):
        break
    time.sleep(0.1)
p.commit_transaction(30)
print("committed", flush=True)
PY
    txo=$!
    bg_track "$txo"
    for _ in $(seq 1 300); do grep -q open "$WORK/txo.out" && break; sleep 0.1; done
    check "a transactional producer leaves o1-o2 open after c1-c3" grep -q open "$WORK/txo.out"
    open_out=$(timeout 60 "$STREAMLAB" consume rc_open -b "$BROKER" --from-beginning --raw --read-committed \
        --idle 5 2>/dev/null | tr '\n' ' ')
    expect_eq "consume --read-committed stops before the open transaction" "c1 c2 c3 " "$open_out"
    touch "$WORK/txo.go"
    wait_bounded "$txo" 60 >/dev/null
    check "the transaction commits" grep -q committed "$WORK/txo.out"
    open_out=$(timeout 60 "$STREAMLAB" consume rc_open -b "$BROKER" --from-beginning --raw --read-committed \
        --count 5 2>/dev/null | tr '\n' ' ')
    expect_eq "then consume --read-committed prints its records too" "c1 c2 c3 o1 o2 " "$open_out"
else
    case " $rc_out" in *" c1 c2 c3 c4 c5 "*)
        pass "consume --read-committed prints the committed records (the embedded broker shows aborted ones too)" ;;
        *) fail "consume --read-committed prints the committed records" "$rc_out" ;; esac
fi

[ "$KIND" = embedded ] || { finish; exit; }

# --- --window-slide, --session-gap, --allowed-lateness (engine --replay) ----------------------
# replay NAME FLAGS...: engine --replay $WORK/NAME.jsonl --out $WORK/NAME.out FLAGS
replay() {
    local name=$1
    shift
    timeout 60 "$STREAMLAB" engine --replay "$WORK/$name.jsonl" --out "$WORK/$name.out" --workers 1 "$@" \
        >"$WORK/$name.log" 2>&1
    expect_eq "engine --replay $name $* exits 0" 0 "$?"
}
# windows NAME: category_windows as "category start-end count total[ update]" lines
windows() {
    $PY - "$WORK/$1.out/category_windows.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    w = json.loads(l)
    print("%s %s-%s %d %.2f%s" % (w["category"], w["window_start"][11:19], w["window_end"][11:19],
                                  w["transaction_count"], w["total_amount"], " update" if w.get("update") else ""))
PY
}
# books (discount 0.90): 200 -> 180.00, 300 -> 270.00; home: no discount
mk w1,u1,books,200,10:00:05 w2,u1,books,300,10:00:25 >"$WORK/slide.jsonl"
replay slide --window 30 --window-slide 10
# 30 s windows every 10 s: 10:00:05 is in the three that start 09:59:40, 09:59:50 and
# 10:00:00; 10:00:25 in those that start 10:00:00, 10:00:10 and 10:00:20.
expect_eq "--window 30 --window-slide 10: five sliding windows, 10:00:05 in three and 10:00:25 in three" \
"books 09:59:40-10:00:10 1 180.00
books 09:59:50-10:00:20 1 180.00
books 10:00:00-10:00:30 2 450.00
books 10:00:10-10:00:40 1 270.00
books 10:00:20-10:00:50 1 270.00" "$(windows slide | sort)"

mk s1,u1,books,200,10:00:00 s2,u2,books,200,10:00:05 s3,u1,books,200,10:00:12 \
   s4,u1,books,200,10:00:30 s5,u1,home,150,10:00:31 >"$WORK/session.jsonl"
replay session --session-gap 10
# books: 0, 5, 12 are less than 10 s apart (one session, to 12 + 10); 30 is 18 s after 12
# (a new one); home has its own session.
expect_eq "--session-gap 10: a session closes 10 s after its last record, per category" \
"books 10:00:00-10:00:22 3 540.00
books 10:00:30-10:00:40 1 180.00
home 10:00:31-10:00:41 1 150.00" "$(windows session | sort)"

mk l1,u1,home,200,10:00:05 l2,u1,home,200,10:00:40 l3,u1,home,200,10:00:20 \
   l4,u1,home,200,10:01:20 l5,u1,home,200,10:00:10 >"$WORK/lateness.jsonl"
cp "$WORK/lateness.jsonl" "$WORK/nolateness.jsonl"
replay lateness --allowed-lateness 10
# 10:00:40 moves the watermark to 10:00:34.999: [10:00:00, 10:00:30) fires with l1.
# l3 (10:00:20) is late but within 10 s of lateness (34.999 < 30 + 10): the window fires
# again with 2 records, as an update.  l4 (10:01:20) moves the watermark to 10:01:14.999,
# past 10:00:40: l5 (10:00:10) is too late even for the lateness, and is late.
expect_eq "--allowed-lateness 10: the window re-fires with the late record, marked update" \
"home 10:00:00-10:00:30 1 200.00
home 10:00:00-10:00:30 2 400.00 update
home 10:00:30-10:01:00 1 200.00
home 10:01:00-10:01:30 1 200.00" "$(windows lateness)"
expect_eq "--allowed-lateness 10: only the record past the lateness is in late_transactions" \
    "l5" "$(grep -o '"transaction_id":"[a-z0-9]*"' "$WORK/lateness.out/late_transactions.jsonl" | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
replay nolateness
expect_eq "without --allowed-lateness both late records are late, no update" \
    "l3 l5" "$(grep -o '"transaction_id":"[a-z0-9]*"' "$WORK/nolateness.out/late_transactions.jsonl" | cut -d'"' -f4 | tr '\n' ' ' | sed 's/ $//')"
windows nolateness | grep -q update && fail "without --allowed-lateness no window is an update" ||
    pass "without --allowed-lateness no window is an update"

# --- --state-ttl (processing time, on the broker) ---------------------------------------------
G2=$(group_name ttl)
"$STREAMLAB" engine -b "$BROKER" --group "$G2" --suffix _ttl --state-ttl 2 --json \
    >"$WORK/ttl.out" 2>"$WORK/ttl.err" &
ttl=$!
bg_track "$ttl"
# last_total: the last user_aggregations_ttl record of u-ttl as "total count" (60 s for COUNT records)
last_total() {
    local want=$1 end=$((SECONDS + 60)) out
    while :; do
        out=$(timeout 30 kcat -b "$BROKER" -C -t user_aggregations_ttl -o beginning -e -q \
            -X isolation.level=read_committed -f '%s\n' 2>/dev/null | grep '"u-ttl"')
        [ "$(grep -c . <<<"$out")" -ge "$want" ] && break
        [ "$SECONDS" -lt "$end" ] || break
        sleep 0.3
    done
    tail -n1 <<<"$out" | $PY -c 'import json,sys
try:
    u = json.loads(sys.stdin.read()); print("%.2f %d" % (u["total_spent"], u["transaction_count"]))
except Exception:
    print("none")'
}
mk t1,u-ttl,home,200,10:00:00 t2,u-ttl,home,300,10:00:01 | timeout 30 kcat -b "$BROKER" -P -t transactions -k u-ttl
expect_eq "--state-ttl 2: two records of a user add up" "500.00 2" "$(last_total 2)"
sleep 4 # no record of the user for 4 s of the engine's clock: the input of this check
mk t3,u-ttl,home,150,10:00:02 | timeout 30 kcat -b "$BROKER" -P -t transactions -k u-ttl
expect_eq "--state-ttl 2: after 4 s without one, the user's total starts again" "150.00 1" "$(last_total 3)"
mk t1,u-ttl,home,200,10:00:00 t2,u-ttl,home,300,10:00:01 t3,u-ttl,home,150,10:00:02 >"$WORK/nottl.jsonl"
replay nottl
expect_eq "without --state-ttl the same three records keep adding (650.00, 3)" "650.00 3" \
    "$(tail -n1 "$WORK/nottl.out/user_aggregations.jsonl" | $PY -c 'import json,sys; u=json.load(sys.stdin); print("%.2f %d" % (u["total_spent"], u["transaction_count"]))')"
finish
