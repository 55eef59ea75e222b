#!/usr/bin/env bash
# e2e_headless.sh KIND — `streamlab --headless`: producer and engine in one process.
#
# With the test's broker (-b): 5 s at 500/s must exit 0 and end with a JSON summary that
# says records were produced (how many in 5 s is make bench's), none lost, every produced record read, processed outputs written;
# kcat then finds exactly output.processed_transactions records in processed_transactions
# (the broker is fresh, so the topic holds only this run's records).
# For KIND=embedded also without -b (headless starts its own broker): same summary checks.
# run.sh: limit=240 min.embedded=19 min.kafka=11
# The summary names what it counts: kafka_transactions_committed (not "transactions" next
# to input.transactions), wall_s (the run's wall time) and processing_s.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

# check_summary LABEL FILE DURATION RATE: the summary checks; writes the checks to stdout.
check_summary() {
    $PY - "$@" <<'EOF'
import json, sys
label, path, duration, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
def ok(name, cond, why=""):
    print(("ok - %s: %s" % (label, name)) if cond else ("not ok - %s: %s: %s" % (label, name, why)))
lines = [l for l in open(path).read().splitlines() if l.strip()]
if not lines:
    ok("the last stdout line is a JSON object", False, "stdout is empty")
    sys.exit(0)
try:
    s = json.loads(lines[-1])
    assert isinstance(s, dict)
except Exception as e:
    ok("the last stdout line is a JSON object", False, "%s: %r" % (e, lines[-1:] ))
    sys.exit(0)
ok("the last stdout line is a JSON object", True)
def g(*ks):
    d = s
    for k in ks:
        d = d.get(k) if isinstance(d, dict) else None
    return d
produced = g("produced", "transactions")
want = duration * rate
# How many the producer sends in DURATION s depends on the machine's load: the rate is
# make bench's (tests/bench.sh); here every record sent must be read and processed.
ok("produced.transactions > 0 (%r in %g s at %g/s)" % (produced, duration, rate),
   isinstance(produced, int) and produced > 0, "produced %r" % (produced,))
ok("lost == 0", g("lost") == 0, "lost %r" % (g("lost"),))
inp = g("input", "transactions")
ok("input.transactions >= produced.transactions",
   isinstance(inp, int) and isinstance(produced, int) and inp >= produced,
   "input %r, produced %r" % (inp, produced))
pt = g("output", "processed_transactions")
ok("input.transactions == produced.transactions (a fresh broker, an idempotent producer)",
   inp == produced, "input %r, produced %r" % (inp, produced))
ok("output.processed_transactions > 0", isinstance(pt, int) and pt > 0, "got %r" % (pt,))
ok("dlq == 0 and delivery_failed == 0", g("dlq") == 0 and g("delivery_failed") == 0,
   "dlq %r, delivery_failed %r" % (g("dlq"), g("delivery_failed")))
# Names that say what they count (issue 19): Kafka transactions committed are not records.
ok("no top-level \"transactions\" next to input.transactions (records)", "transactions" not in s,
   "transactions %r" % (s.get("transactions"),))
if s.get("mode") == "exactly-once":
    ok("kafka_transactions_committed counts the engine's Kafka transactions (> 0)",
       isinstance(s.get("kafka_transactions_committed"), int) and s["kafka_transactions_committed"] > 0,
       "got %r" % (s.get("kafka_transactions_committed"),))
wall, proc = s.get("wall_s"), s.get("processing_s")
ok("wall_s is the run's wall time (>= --duration %g)" % duration,
   isinstance(wall, (int, float)) and wall >= duration, "wall_s %r" % (wall,))
ok("processing_s (first input to last output) is within the run",
   isinstance(proc, (int, float)) and isinstance(wall, (int, float)) and 0 <= proc <= wall,
   "processing_s %r, wall_s %r" % (proc, wall))
ok("no elapsed_s (it did not say what it measured)", "elapsed_s" not in s, "")
# The bounded end: the target is set when the producer stops, after the engine has read
# every record; the engine must still end the run (and fire its open windows) then, not
# wait for a record that never comes.
cw = g("output", "category_windows")
ok("output.category_windows > 0 (the end of the run fires the open windows)",
   isinstance(cw, int) and cw > 0, "got %r" % (cw,))
print("PT=%s" % pt)
EOF
}

# --- with the test's broker ------------------------------------------------------------
rc=0
timeout 120 "$STREAMLAB" --headless -b "$BROKER" --duration 5 --rate 500 --json \
    >"$WORK/hl.out" 2>"$WORK/hl.err" || rc=$?
expect_eq "headless -b BROKER --duration 5 --rate 500 exits 0" 0 "$rc"
expect_eq "the engine ended the run at its target (no 'saw nothing new ... giving up')" 0 \
    "$(grep -c 'giving up' "$WORK/hl.err")"
[ "$rc" = 0 ] || tail -n 15 "$WORK/hl.err" | sed 's/^/# headless: /'
check_summary "with -b" "$WORK/hl.out" 5 500 >"$WORK/hl.checks" 2>&1 \
    || echo "not ok - the Python checker ran: it crashed" >>"$WORK/hl.checks"
tap_from <(grep -v '^PT=' "$WORK/hl.checks")
pt=$(sed -n 's/^PT=//p' "$WORK/hl.checks")
expect_eq "kcat counts output.processed_transactions records in processed_transactions" \
    "$pt" "$(kcat_count processed_transactions)"
# Record by record: processed_transactions holds exactly the transactions with amount > 100.
kcat_dump transactions "$WORK/transactions.jsonl"
kcat_dump processed_transactions "$WORK/processed.jsonl"
$PY - "$WORK" "$WORK/hl.out" >"$WORK/hl.ids" 2>&1 <<'EOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/hl.ids"
import json, sys
work, out = sys.argv[1], sys.argv[2]
def ids(path, pred):
    r = []
    for line in open(path):
        v = json.loads(json.loads(line)["payload"])
        if pred(v):
            r.append(v["transaction_id"])
    return r
try:
    produced = json.loads(open(out).read().splitlines()[-1])["produced"]["transactions"]
except Exception as e:
    produced = None
t = ids(work + "/transactions.jsonl", lambda v: True)
print(("ok - " if len(t) == produced else "not ok - ") + "kcat finds produced.transactions records in transactions"
      + ("" if len(t) == produced else ": %d vs %r" % (len(t), produced)))
want = sorted(ids(work + "/transactions.jsonl", lambda v: v["amount"] > 100))
got = sorted(ids(work + "/processed.jsonl", lambda v: True))
print(("ok - " if want == got else "not ok - ") + "processed_transactions = the transactions with amount > 100 (by id)"
      + ("" if want == got else ": %d vs %d, missing %s, unexpected %s" % (
          len(got), len(want), sorted(set(want) - set(got))[:3], sorted(set(got) - set(want))[:3])))
EOF
tap_from "$WORK/hl.ids"

# --- without -b: its own embedded broker ----------------------------------------------
if [ "$KIND" = embedded ]; then
    rc=0
    timeout 120 "$STREAMLAB" --headless --duration 3 --rate 200 --json \
        >"$WORK/own.out" 2>"$WORK/own.err" || rc=$?
    expect_eq "headless (own broker) --duration 3 --rate 200 exits 0" 0 "$rc"
    [ "$rc" = 0 ] || tail -n 15 "$WORK/own.err" | sed 's/^/# headless: /'
    check_summary "own broker" "$WORK/own.out" 3 200 >"$WORK/own.checks" 2>&1 \
        || echo "not ok - the Python checker ran: it crashed" >>"$WORK/own.checks"
    tap_from <(grep -v '^PT=' "$WORK/own.checks")
fi

finish
