#!/usr/bin/env bash
# e2e_semantics.sh KIND — event-time semantics through a real broker.
#
# 1. An idle partition: 60 records one second apart (event time) go to partition 0 of
#    transactions only (kcat -p 0); partitions 1 and 2 stay empty.  With --idle-timeout 2
#    windows fire while the engine runs (--duration, so no final watermark); with
#    --idle-timeout 600 the empty partitions hold the watermark back and none fires.
# 2. Late data: `produce --late-fraction 0.05` adds 3000 transactions, ~5% of them
#    35-65 s old, while `engine --count 3060 --workers 2` (a new group) reads them all.  Late
#    records must appear in late_transactions and in no window: every processed
#    transaction is counted in exactly one category window or is in late_transactions
#    (sum of window counts + late = processed), each late record was processed (it went
#    through filter and map), each names the 30 s window it missed.  The summary's late
#    count is what late_transactions holds, and it has latency percentiles.
# run.sh: limit=420 min=1
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
# The engine runs while the records arrive (1000/s), as in production: partitions are
# read side by side, so the watermark is set when the late records come.  (Read after the
# fact, one partition's backlog comes before another's, and the watermark - the minimum
# over partitions - stays unset while a partition has shown nothing: fewer are late.)
rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --group "$(group_name late)" --count 3060 \
    --workers 2 --json >"$WORK/eng.out" 2>"$WORK/eng.err" &
eng=$!
bg_track "$eng"
sleep 6 # the group settles (the embedded broker takes ~3 s) and reads the 60 above
timeout 120 "$STREAMLAB" produce transactions -b "$BROKER" --count 3000 --rate 1000 --seed 11 \
    --late-fraction 0.05 >"$WORK/prod.out" 2>"$WORK/prod.err" || rc=$?
expect_eq "produce --late-fraction 0.05 --count 3000 --rate 1000 exits 0" 0 "$rc"
rc=0
wait "$eng" || rc=$?
expect_eq "engine --count 3060 --workers 2 exits 0" 0 "$rc"
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
proc = [p for p in load("processed_transactions") if not p["transaction_id"].startswith("idle")]
wins = [w for w in load("category_windows") if not w["window_start"].startswith("2024-01-15")]
late = load("late_transactions")
ok("the engine read 3060 records (60 from part 1, 3000 produced)",
   summary["input"].get("transactions") == 3060, "%r" % summary["input"])
ok("about 5% of the 3000 (less the filtered) are late", 80 <= len(late) <= 200,
   "late %d" % len(late))
ok("the summary's late count is what late_transactions holds", summary.get("late") == len(late),
   "summary %r, topic %d" % (summary.get("late"), len(late)))
counted = sum(w["transaction_count"] for w in wins)
ok("every processed record is in one window or late (windows %d + late %d = processed %d)"
   % (counted, len(late), len(proc)), counted + len(late) == len(proc))
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
finish
