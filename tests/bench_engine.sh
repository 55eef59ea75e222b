#!/usr/bin/env bash
# bench_engine.sh — the engine against its peers, side by side in one run (figures,
# not tests).  Medians of BENCH_RUNS (5) runs, interleaved so that the machine's noise
# falls on every contender alike:
#   replay (no Kafka): `engine --replay` over 200,000 records with 1 and 2 workers, and
#     tests/bench/python_replay.py (the same logic, a plain Python script) on the file;
#   per broker (BENCH_BROKERS, default "embedded kafka"), on one backlog of
#     transactions: the kcat pipe that reads it and writes each record to three topics,
#     tests/bench/python_baseline.py (confluent-kafka), and `engine --until-end`
#     at-least-once and exactly-once (1 s checkpoints), with the engine process's CPU
#     time per input record.  The backlog: 300,000 records on real Kafka; 45,000 on the
#     embedded broker (it keeps ~5 MB a partition: a larger backlog would be cut).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
RUNS=${BENCH_RUNS:-5}
BROKERS=${BENCH_BROKERS:-embedded kafka}
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}'; }
cpu_us() { awk -v n="$2" '{printf "%.1f", ($1 + $2) * 1e6 / n}' "$1"; }

echo "== bench_engine: $(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# --- replay ---------------------------------------------------------------------
$PY - "$tmp/in.jsonl" <<'PYEOF'
import json, random, sys, datetime
random.seed(1)
t = datetime.datetime(2024, 1, 15, 10, 0, 0)
cats = ["electronics", "books", "clothing", "accessories"]
with open(sys.argv[1], "w") as f:
    for i in range(200000):
        ts = (t + datetime.timedelta(milliseconds=i * 10)).isoformat(timespec="microseconds")
        f.write(json.dumps({"transaction_id": f"txn_{i}", "user_id": f"user_{random.randint(1, 1000)}",
                            "product": "book", "category": random.choice(cats),
                            "amount": round(random.uniform(10, 1000), 2), "quantity": 1,
                            "payment_method": "paypal", "timestamp": ts, "location": "city_1"},
                           separators=(",", ":")) + "\n")
PYEOF
declare -A R
for i in $(seq "$RUNS"); do
    for w in 1 2; do
        r=$("$STREAMLAB" engine --replay "$tmp/in.jsonl" --out "$tmp/out" --workers "$w" 2>&1 |
            grep -oE '[0-9]+ records/s' | grep -oE '^[0-9]+')
        R[replay$w]+="$r "
    done
    r=$($PY tests/bench/python_replay.py "$tmp/in.jsonl" "$tmp/pyout" | grep -oE '\([0-9]+/s\)' | tr -dc 0-9)
    R[pyreplay]+="$r "
done
m1=$(tr ' ' '\n' <<<"${R[replay1]}" | grep . | median)
m2=$(tr ' ' '\n' <<<"${R[replay2]}" | grep . | median)
mp=$(tr ' ' '\n' <<<"${R[pyreplay]}" | grep . | median)
echo "replay, 200,000 records (records/s, first input to last output; runs then median):"
echo "  engine --workers 1   ${R[replay1]}-> $m1"
echo "  engine --workers 2   ${R[replay2]}-> $m2   (2 workers / 1: $(ratio "$m2" "$m1"))"
echo "  python script        ${R[pyreplay]}-> $mp   (engine 1 worker / python: $(ratio "$m1" "$mp"))"

# --- on a broker ------------------------------------------------------------------
for kind in $BROKERS; do
    (
        trap - EXIT # this run's broker cleans up after itself; $tmp is the parent's
        source tests/lib/broker.sh
        broker_start "$kind" >/dev/null 2>&1 || { echo "== $kind: the broker did not start"; exit 0; }
        backlog=$([ "$kind" = kafka ] && echo 300000 || echo 45000)
        # a topic of its own: earlier runs' records are not in the backlog
        "$STREAMLAB" produce transactions -b "$BROKER" --rate 0 --count "$backlog" --seed 7 >/dev/null 2>&1
        have=$(kcat -b "$BROKER" -C -t transactions -o beginning -e -q 2>/dev/null | wc -l)
        declare -A K
        for i in $(seq "$RUNS"); do
            s=$(date +%s.%N)
            kcat -b "$BROKER" -C -t transactions -o beginning -e -q 2>/dev/null |
                tee >(kcat -b "$BROKER" -P -t "pipe_a_$i" 2>/dev/null) >(kcat -b "$BROKER" -P -t "pipe_b_$i" 2>/dev/null) |
                kcat -b "$BROKER" -P -t "pipe_c_$i" 2>/dev/null
            e=$(date +%s.%N)
            K[kcat]+="$(awk -v n="$have" -v s="$s" -v e="$e" 'BEGIN {printf "%.0f", n / (e - s)}') "
            r=$(timeout 300 $PY tests/bench/python_baseline.py "$BROKER" "$have" "_py$i" 2>"$tmp/py.err" | grep -oE '\([0-9]+/s\)' | tr -dc 0-9)
            [ -n "$r" ] || echo "  (python baseline: $(tail -1 "$tmp/py.err"))"
            K[python]+="${r:-0} "
            for mode in alo eos; do
                flag=$([ $mode = alo ] && echo --at-least-once || echo --checkpoint-interval=1)
                /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$STREAMLAB" engine -b "$BROKER" --group "bench-$mode-$i-$$" \
                    --until-end $flag --suffix "_$mode$i" --json 2>/dev/null >"$tmp/sum"
                r=$(tail -1 "$tmp/sum" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(round(d["rate"]))' 2>/dev/null)
                K[$mode]+="${r:-0} "
                K[${mode}cpu]+="$(cpu_us "$tmp/cpu" "$have") "
            done
        done
        mk=$(tr ' ' '\n' <<<"${K[kcat]}" | grep . | median)
        mpy=$(tr ' ' '\n' <<<"${K[python]}" | grep . | median)
        ma=$(tr ' ' '\n' <<<"${K[alo]}" | grep . | median)
        me=$(tr ' ' '\n' <<<"${K[eos]}" | grep . | median)
        echo "$kind broker, $have records in transactions (records/s; runs then median):"
        echo "  kcat pipe, 3 outputs       ${K[kcat]}-> $mk"
        echo "  python + confluent-kafka   ${K[python]}-> $mpy"
        echo "  engine at-least-once       ${K[alo]}-> $ma   (/ kcat pipe: $(ratio "$ma" "$mk"), / python: $(ratio "$ma" "$mpy"))"
        echo "  engine exactly-once (1 s)  ${K[eos]}-> $me   (/ at-least-once: $(ratio "$me" "$ma"))"
        echo "  engine CPU per input record, µs: at-least-once ${K[alocpu]}-> $(tr ' ' '\n' <<<"${K[alocpu]}" | grep . | median); exactly-once ${K[eoscpu]}-> $(tr ' ' '\n' <<<"${K[eoscpu]}" | grep . | median)"
    )
done
