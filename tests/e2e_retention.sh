#!/usr/bin/env bash
# e2e_retention.sh KIND — records removed by retention before the engine read them are
# detected, counted (lost_to_retention), said, and fail the run; never ignored.
#
# The embedded broker keeps only the newest ~100,000 batches / 5 MB of a partition, so
# this runs on its own embedded broker whatever KIND is (a real Kafka keeps days).
#  1. engine group R reads 1000 transactions and commits;  2. 200,000 more arrive at full
#  speed while it is stopped, so the log start of every partition passes R's position;
#  3. engine R again (--until-end): it must exit non-zero, say per partition how many
#  records retention removed, and its summary's lost_to_retention must be exactly
#  log start - committed position, summed over the partitions; what it read plus what was
#  lost plus the first 1000 is every record produced.  4. `--headless --rate 0`: a producer
#  far ahead of the engine; the run must exit non-zero and say why.
# run.sh: runs=once lane=e limit=300 min=11
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}" 0

extra_broker
B=$EXTRA_BROKER
check "1000 transactions" bash -c "'$STREAMLAB' produce transactions -b $B --count 1000 --rate 0 >/dev/null"
check "engine R reads them and commits (exit 0)" \
    bash -c "timeout 120 '$STREAMLAB' engine -b $B --group R --until-end >'$WORK/r1.out' 2>'$WORK/r1.err'"
# uncompressed, as a client without lz4 sends them (streamlab's own producer's lz4 batches
# would fit ~300,000 records in the 5 MB)
check "200,000 more at full speed" \
    bash -c "timeout 120 '$STREAMLAB' produce transactions -b $B --count 200000 --rate 0 -X compression.codec=none >/dev/null"
"$STREAMLAB" groups -b "$B" --describe R --json >"$WORK/g.json" 2>/dev/null
"$STREAMLAB" topics -b "$B" --json >"$WORK/t.json" 2>/dev/null
rc=0
timeout 180 "$STREAMLAB" engine -b "$B" --group R --until-end --json >"$WORK/r2.out" 2>"$WORK/r2.err" || rc=$?
expect_eq "engine R after the flood exits 1 (a result with holes is not a success)" 1 "$rc"
n=$(grep -c "retention removed .* records of transactions \[[0-2]\] before they were read" "$WORK/r2.err")
expect_eq "it says, for each of the 3 partitions, how many records retention removed" 3 "$n"
grep -q "^LOST: [0-9]* records were removed by the broker's retention" "$WORK/r2.out" &&
    pass "its summary starts the LOST line" || fail "its summary says LOST" "$(head -5 "$WORK/r2.out")"
$PY - "$WORK" <<'PY' >"$WORK/ret.checks" 2>&1 || echo "not ok - the checker ran" >>"$WORK/ret.checks"
import json, sys
work = sys.argv[1]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
s = json.loads(open(work + "/r2.out").read().splitlines()[-1])
g = json.load(open(work + "/g.json"))
t = json.load(open(work + "/t.json"))
tx = [x for x in (t if isinstance(t, list) else t.get("topics", [])) if x.get("topic") == "transactions"][0]
start = {p["partition"]: p["log_start"] for p in tx["partitions"]}
end = {p["partition"]: p["end"] for p in tx["partitions"]}
committed = {p["partition"]: p["committed"] for p in g["partitions"] if p["topic"] == "transactions"}
want = sum(max(0, start[p] - committed[p]) for p in start)
ok("lost_to_retention = log start - committed, summed (%d)" % want,
   s.get("lost_to_retention") == want and want > 100000, "got %r" % s.get("lost_to_retention"))
read = s["input"]["transactions"]
ok("read %d + lost %d + the first 1000 = the 201,000 produced" % (read, s.get("lost_to_retention", 0)),
   read + s.get("lost_to_retention", 0) + 1000 == sum(end.values()) == 201000,
   "end offsets %r" % end)
PY
tap_from "$WORK/ret.checks"

rc=0
timeout 120 "$STREAMLAB" --headless -b "$B" --rate 0 --duration 3 --json \
    >"$WORK/h.out" 2>"$WORK/h.err" || rc=$?
expect_eq "--headless with a producer far ahead of the engine exits 1" 1 "$rc"
grep -q "removed by the broker's retention before the engine read them" "$WORK/h.err" &&
    pass "--headless says records were removed by retention before the engine read them" ||
    fail "--headless says why" "$(tail -3 "$WORK/h.err")"
tail -1 "$WORK/h.out" | $PY -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["lost_to_retention"] > 0 else 1)' &&
    pass "--headless summary: lost_to_retention > 0" || fail "--headless summary: lost_to_retention > 0"
finish
