#!/usr/bin/env bash
# e2e_semantics.sh KIND — event-time semantics through a real broker.
#
# 1. An idle partition: 60 records one second apart (event time) go to partition 0 of
#    transactions only (kcat -p 0); partitions 1 and 2 stay empty.  With --idle-timeout 2
#    windows fire while the engine runs (--duration, so no final watermark); with
#    --idle-timeout 600 the empty partitions hold the watermark back and none fires.
# 2. Late data: a controlled input (below) whose late records are known in advance goes
#    to `engine --count 1050 --workers 2` (a new group) in two phases.  Exactly the
#    designed late records must appear in late_transactions and in no window: every
#    processed transaction is counted in exactly one category window or is in
#    late_transactions (sum of window counts + late = processed), each late record was
#    processed (it went through filter and map), each names the 30 s window it missed.
#    The summary's late count is what late_transactions holds, and it has latency
#    percentiles.
# 3. `produce --late-fraction 0.05` stamps about 5% of 3000 records 35-65 s back.
# run.sh: limit=300 min=24
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

# --- 1. an idle partition --------------------------------------------------------------
# the seed topic with 3 partitions (the embedded broker has it from the start)
[ "$KIND" = kafka ] && "$STREAMLAB" topics -b "$BROKER" --create transactions --partitions 3 \
    >/dev/null 2>&1
$PY - >"$WORK/p0.txt" <<'PY'
import datetime, json
t = datetime.datetime(2024, 1, 15, 10, 0, 0)
for i in range(60):
    ts = (t + datetime.timedelta(seconds=i)).isoformat(timespec="microseconds")
    print(json.dumps({"transaction_id": "idle%d" % i, "user_id": "user_1", "product": "book",
                      "category": "books", "amount": 200.0, "quantity": 1,
                      "payment_method": "paypal", "timestamp": ts, "location": "city_1"},
                     separators=(",", ":")))
PY
check "kcat writes 60 records to partition 0 of transactions" \
    timeout 30 kcat -b "$BROKER" -P -t transactions -p 0 -k user_1 -l "$WORK/p0.txt"
for idle in 2 600; do
    rc=0
    timeout 120 "$STREAMLAB" engine -b "$BROKER" --group "$(group_name idle$idle)" \
        --duration 12 --idle-timeout "$idle" --workers 2 --json \
        >"$WORK/idle$idle.out" 2>"$WORK/idle$idle.err" || rc=$?
    expect_eq "engine --duration 12 --idle-timeout $idle exits 0" 0 "$rc"
done
$PY - "$WORK" <<'PY' >"$WORK/idle.checks" 2>&1 || echo "not ok - the idle checker ran" >>"$WORK/idle.checks"
import json, sys
work = sys.argv[1]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
def summary(idle):
    return json.loads(open("%s/idle%d.out" % (work, idle)).read().splitlines()[-1])
a, b = summary(2), summary(600)
ok("both engines read the 60 records",
   a["input"].get("transactions") == 60 == b["input"].get("transactions"),
   "%r %r" % (a["input"], b["input"]))
# 10:00:00-10:00:59 with a 5 s bound: the watermark reaches 10:00:53.999, so
# [10:00:00, 10:00:30) fires (30 records) and [10:00:30, 10:01:00) stays open.
ok("--idle-timeout 2: the idle partitions let the first 30 s window fire (1 result)",
   a["output"].get("category_windows") == 1, "category_windows %r" % a["output"].get("category_windows"))
ok("--idle-timeout 600: the empty partitions hold every window (0 results)",
   b["output"].get("category_windows", 0) == 0, "category_windows %r" % b["output"].get("category_windows"))
wm = [o.get("watermark") for o in a["metrics"]["transactions"]["operators"] if o["name"] == "window:category"]
ok("the window operator's watermark is 10:00:53.999", wm == ["2024-01-15T10:00:53.999000"], "%r" % wm)
PY
tap_from "$WORK/idle.checks"
kcat_dump category_windows "$WORK/idle_windows.jsonl"
check "the fired window holds the 30 records of [10:00:00, 10:00:30)" \
    grep -q 'transaction_count\\":30,\\"window_start\\":\\"2024-01-15T10:00:00.000000' \
    "$WORK/idle_windows.jsonl"

# --- 2. late data ----------------------------------------------------------------------
# A controlled input, so that which records are late does not depend on speed or on the
# order the engine reads the partitions in.  Phase A: on each partition, 300 records
# 0.3 s apart (event time 2024-01-16 10:00:00 - 10:01:29.7, in order, so none is late
# whatever the interleaving).  Once the engine has committed all of them, its watermark
# is at least 10:01:24.699 and the windows [10:00:00, 10:00:30) and [10:00:30, 10:01:00)
# have fired.  Phase B: on each partition, 10 records stamped 10:00:05 - 10:00:50 (in
# those windows: late, by design, one of them filtered out by amount <= 100), then 20
# on-time records from 10:01:30.
G_LATE=$(group_name late)
$PY - "$WORK" <<'PY'
import datetime, json, sys
work = sys.argv[1]
t0 = datetime.datetime(2024, 1, 16, 10, 0, 0)
cats = ["electronics", "books", "clothing", "home"]
amounts = [50.0, 150.0, 250.0, 600.0]
def rec(tid, p, i, when, amount):
    return json.dumps({"transaction_id": tid, "user_id": "user_%d" % (p * 7 + i % 5),
                       "product": "thing", "category": cats[i % 4], "amount": amount,
                       "quantity": 1, "payment_method": "paypal",
                       "timestamp": when.isoformat(timespec="microseconds"),
                       "location": "city_1"}, separators=(",", ":"))
late_ids = []
for p in range(3):
    with open("%s/a%d.txt" % (work, p), "w") as f:
        for i in range(300):
            f.write(rec("sem_a%d_%d" % (p, i), p, i, t0 + datetime.timedelta(seconds=0.3 * i),
                        amounts[i % 4]) + "\n")
    with open("%s/b%d.txt" % (work, p), "w") as f:
        for k in range(10):
            amount = 80.0 if k == 3 else 120.0 + k
            tid = "sem_late%d_%d" % (p, k)
            if amount > 100:
                late_ids.append(tid)
            f.write(rec(tid, p, k, t0 + datetime.timedelta(seconds=5 + 5 * k), amount) + "\n")
        for j in range(20):
            f.write(rec("sem_b%d_%d" % (p, j), p, j, t0 + datetime.timedelta(seconds=90 + 0.3 * j),
                        amounts[j % 4]) + "\n")
open(work + "/late_ids.txt", "w").write("\n".join(late_ids) + "\n")
PY
rc=0
timeout 240 "$STREAMLAB" engine -b "$BROKER" --group "$G_LATE" --count 1050 \
    --workers 2 --json >"$WORK/eng.out" 2>"$WORK/eng.err" &
eng=$!
bg_track "$eng"
for p in 0 1 2; do
    timeout 30 kcat -b "$BROKER" -P -t transactions -p "$p" -k "part$p" -l "$WORK/a$p.txt"
done
check "kcat writes phase A: 300 on-time records to each partition" test $? = 0
# 60 (part 1) + 900: the engine has read and committed all of phase A.
wait_group_committed "$G_LATE" 960 120
check "the engine commits all of phase A (960 records)" test $? = 0
for p in 0 1 2; do
    timeout 30 kcat -b "$BROKER" -P -t transactions -p "$p" -k "part$p" -l "$WORK/b$p.txt"
done
check "kcat writes phase B: 10 late and 20 on-time records to each partition" test $? = 0
rc=0
wait_bounded "$eng" 240 || rc=$?
expect_eq "engine --count 1050 --workers 2 exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 10 "$WORK/eng.err" | sed 's/^/# engine: /'
for t in processed_transactions category_windows late_transactions; do
    kcat_dump "$t" "$WORK/$t.jsonl"
done
$PY - "$WORK" <<'PY' >"$WORK/late.checks" 2>&1 || echo "not ok - the late-data checker ran" >>"$WORK/late.checks"
import json, sys
work = sys.argv[1]
def load(t):
    return [json.loads(json.loads(l)["payload"]) for l in open("%s/%s.jsonl" % (work, t)) if l.strip()]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
summary = json.loads(open(work + "/eng.out").read().splitlines()[-1])
# this part's records only: the 60 of part 1 (2024-01-15, ids idle*) were also
# processed and windowed by the two engines there
proc = [p for p in load("processed_transactions") if p["transaction_id"].startswith("sem_")]
wins = [w for w in load("category_windows") if w["window_start"].startswith("2024-01-16")]
late = load("late_transactions")
want = set(open(work + "/late_ids.txt").read().split())
ok("the engine read 1050 records (60 from part 1, 990 written)",
   summary["input"].get("transactions") == 1050, "%r" % summary["input"])
got = [l["transaction_id"] for l in late]
ok("late_transactions holds exactly the %d records designed late (amount > 100), each once" % len(want),
   sorted(got) == sorted(want) and len(want) == 27,
   "missing %s, unexpected %s" % (sorted(want - set(got))[:3], sorted(set(got) - want)[:3]))
ok("the summary's late count is what late_transactions holds", summary.get("late") == len(late),
   "summary %r, topic %d" % (summary.get("late"), len(late)))
counted = sum(w["transaction_count"] for w in wins)
ok("every processed record is in one window or late (windows %d + late %d = processed %d)"
   % (counted, len(late), len(proc)), counted + len(late) == len(proc) == 747,
   "processed %d (want 747: 3 x (225 + 9 + 15))" % len(proc))
pids = {p["transaction_id"] for p in proc}
ok("each late record went through filter and map (it is in processed_transactions)",
   all(l["transaction_id"] in pids and "final_amount" in l for l in late))
import datetime
def t(s):
    return datetime.datetime.fromisoformat(s)
bad = [l["transaction_id"] for l in late
       if not (t(l["missed_window_start"]) <= t(l["timestamp"]) < t(l["missed_window_end"])
               and (t(l["missed_window_end"]) - t(l["missed_window_start"])).total_seconds() == 30
               and t(l["missed_window_start"]).second % 30 == 0)]
ok("each late record names the 30 s window that holds its timestamp", not bad, "%s" % bad[:3])
ok("no window result is an update (allowed lateness is 0)", not any(w.get("update") for w in wins))
lat = summary["metrics"]["transactions"]["latency"]
ok("the summary has event-to-sink latency percentiles", lat["samples"] > 0 and lat["p50_ms"] is not None
   and lat["p99_ms"] >= lat["p50_ms"], "%r" % lat)
PY
tap_from "$WORK/late.checks"

# --- 3. the producer's late records ------------------------------------------------------
# `produce --late-fraction 0.05` stamps about 5% of its records 35-65 s before they are
# sent: each such record is more than 30 s older than the newest record before it on its
# partition (the others are stamped when sent, so never are).  Counted, not timed.
rc=0
timeout 120 "$STREAMLAB" produce transactions -b "$BROKER" --topic late_source --count 3000 \
    --rate 0 --seed 11 --late-fraction 0.05 >"$WORK/prod.out" 2>"$WORK/prod.err" || rc=$?
expect_eq "produce --late-fraction 0.05 --count 3000 exits 0" 0 "$rc"
kcat_dump late_source "$WORK/late_source.jsonl"
$PY - "$WORK" <<'PY' >"$WORK/prod.checks" 2>&1 || echo "not ok - the producer checker ran" >>"$WORK/prod.checks"
import datetime, json, sys
work = sys.argv[1]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
newest, behind, n = {}, [], 0
for l in open(work + "/late_source.jsonl"):
    e = json.loads(l)
    r = json.loads(e["payload"])
    ts = datetime.datetime.fromisoformat(r["timestamp"])
    n += 1
    p = e["partition"]
    if p in newest and (newest[p] - ts).total_seconds() > 30:
        behind.append((newest[p] - ts).total_seconds())
    newest[p] = max(newest.get(p, ts), ts)
ok("the producer wrote 3000 records", n == 3000, "%d" % n)
ok("about 5%% are stamped more than 30 s before the newest before them (%d, want 100-200)" % len(behind),
   100 <= len(behind) <= 200, "%d" % len(behind))
ok("none of them more than 65 s before", all(b <= 66 for b in behind), "%r" % max(behind or [0]))
PY
tap_from "$WORK/prod.checks"
finish
