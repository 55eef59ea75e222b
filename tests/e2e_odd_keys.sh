#!/usr/bin/env bash
# e2e_odd_keys.sh KIND — keyed state of odd keys survives a kill -9 and a restore.
#
# Two users: one whose user_id is 2,000 characters long, one whose user_id has tabs
# in it (the changelog's key was once "pipeline<TAB>op<TAB>key<TAB>sub" in a 1,024-byte
# buffer: the long key was written cut short, the tabbed one split apart, and neither
# total came back).  An exactly-once engine reads 10 transactions of each (200.00,
# category accessories: no discount), is killed with SIGKILL once their totals are
# committed, 10 more of each arrive, and the restarted engine (same group) must end
# with transaction_count 20 and total_spent 4000.0 for both, read read_committed from
# user_aggregations.
# run.sh: limit=240 min=6
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

group=$(group_name oddkeys)
sfx=_odd$$
long=$(printf 'u%.0s' $(seq 2000))
tabbed=$'user\twith\ttabs'
send() { # N: N transactions of each user, now
    $PY - "$long" "$tabbed" "$1" "$2" <<'PYEOF' | kcat -b "$BROKER" -P -t transactions -K '|' 2>/dev/null
import datetime, json, sys
long, tabbed, n, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(n):
    for j, user in enumerate((long, tabbed)):
        now = datetime.datetime.now().isoformat(timespec="microseconds")
        rec = {"transaction_id": f"txn_odd_{base + i}_{j}", "user_id": user, "product": "headphones",
               "category": "accessories", "amount": 200.0, "quantity": 1,
               "payment_method": "cash", "timestamp": now, "location": "city_1"}
        print(f"odd{j}|" + json.dumps(rec))
PYEOF
}
totals() { # prints "count total" of each odd user's last user_aggregations record
    timeout 60 kcat -b "$BROKER" -C -t "user_aggregations$sfx" -o beginning -e -q \
        -X isolation.level=read_committed 2>/dev/null | $PY -c '
import json, sys
long, tabbed = sys.argv[1], sys.argv[2]
last = {}
for line in sys.stdin:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    last[r.get("user_id")] = (r.get("transaction_count"), r.get("total_spent"))
for u in (long, tabbed):
    c, t = last.get(u, (0, 0))
    print(c, t)' "$long" "$tabbed"
}

# A short session timeout (both engines: the embedded broker's rebalance waits on the
# joiner's too): the restarted engine's group drops the killed member after 6 s, not 45.  -X debug=cgrp: librdkafka says when the group gives the engine its partitions.
"$STREAMLAB" engine -b "$BROKER" --group "$group" --suffix "$sfx" --json -X session.timeout.ms=6000 \
    -X heartbeat.interval.ms=1000 -X debug=cgrp >"$WORK/e1.out" 2>"$WORK/e1.err" &
e1=$!
bg_track "$e1"
wait_assigned "$WORK/e1.err" "$group" 90
check "the engine has its partitions" test $? = 0
send 10 0
for _ in $(seq 120); do
    [ "$(totals | awk '$1 == 10' | wc -l)" = 2 ] && break
    sleep 0.5
done
got=$(totals | tr '\n' ' ')
expect_eq "before the kill: both users' totals are committed (count, total)" "10 2000.0 10 2000.0 " "$got"
kill -9 "$e1"
wait "$e1" 2>/dev/null
send 10 10
rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --group "$group" --suffix "$sfx" --until-end --json \
    -X session.timeout.ms=6000 -X heartbeat.interval.ms=1000 \
    >"$WORK/e2.out" 2>"$WORK/e2.err" || rc=$?
expect_eq "the restarted engine reads to the end (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$WORK/e2.err" | sed 's/^/# engine: /'
restored=$(tail -1 "$WORK/e2.out" | $PY -c 'import json,sys; print(json.load(sys.stdin)["state_restored"])' 2>/dev/null)
if [ "${restored:-0}" -gt 0 ]; then pass "the restarted engine restored state from its changelog ($restored pieces)"; else fail "the restarted engine restored state from its changelog" "state_restored=$restored"; fi
read -r lc lt < <(totals | sed -n 1p)
read -r tc tt < <(totals | sed -n 2p)
expect_eq "the 2,000-character user_id keeps its total across kill -9 and restore (count, total)" "20 4000.0" "$lc $lt"
expect_eq "the user_id with tabs keeps its total across kill -9 and restore (count, total)" "20 4000.0" "$tc $tt"
finish
