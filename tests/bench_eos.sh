#!/usr/bin/env bash
# bench_eos.sh — exactly-once against at-least-once, and state restore (figures, not tests).
#   engine end to end over 45,000 transactions already in the topic, each mode 3 times
#   (a fresh group each run); restore: a changelog of 100,000 users' totals, written with
#   kcat, read back by an engine started in that group (restore_s of its summary).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source tests/lib/broker.sh
broker_start embedded >/dev/null 2>&1
"$STREAMLAB" produce transactions -b "$BROKER" --rate 0 --count 45000 --seed 7 >/dev/null
med() { sort -g | sed -n 2p; }
echo "== exactly-once against at-least-once (embedded broker; category windows through the repartition topic)"
declare -A median
for mode in exactly-once at-least-once; do
    flag=; [ "$mode" = at-least-once ] && flag=--at-least-once
    rates=()
    for i in 1 2 3; do
        r=$("$STREAMLAB" engine -b "$BROKER" --count 45000 --group "eos-$mode-$i-$$" $flag --json \
            2>/dev/null | tail -1 | /usr/bin/python3 -c 'import json,sys; print(round(json.load(sys.stdin)["rate"]))')
        rates+=("$r")
    done
    median[$mode]=$(printf '%s\n' "${rates[@]}" | med)
    echo "engine $mode, 45000 records: runs ${rates[*]} records/s; median ${median[$mode]} records/s"
done
echo "exactly-once at $((100 * ${median[exactly-once]} / ${median[at-least-once]}))% of at-least-once (the aim: >= 70%)"

/usr/bin/python3 - "$tmp/state.txt" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        u = "user_%d" % i
        v = {"user_id": u, "total_spent": 123.45, "transaction_count": 3, "last_updated": "2024-01-15T10:00:00"}
        # the owner: an input partition (whoever is assigned it restores it)
        w = {"owner": "transactions/%d" % (i % 3), "state": v}
        f.write("transactions\treduce:user_totals\t%s\t|%s\n" % (u, json.dumps(w, separators=(",", ":"))))
PY
kcat -b "$BROKER" -P -t streamlab-restore-bench-state -K '|' -l "$tmp/state.txt"
secs=()
for i in 1 2 3; do
    s=$("$STREAMLAB" engine -b "$BROKER" --group restore-bench --until-end --suffix "_rb$i" --json 2>/dev/null |
        tail -1 | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["restore_s"], s["state_restored"])')
    secs+=("${s% *}")
    echo "  restore run $i: ${s% *} s for ${s#* } pieces of state"
done
echo "restore of 100,000 users' state: median $(printf '%s\n' "${secs[@]}" | med) s"
