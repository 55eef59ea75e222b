#!/usr/bin/env bash
# e2e_compare.sh KIND — the same input through the engine on two brokers gives the same
# outputs, record by record.
#
# Two brokers: the test's broker (broker_start KIND) and a second, embedded one that this
# script starts itself ("$STREAMLAB" broker --listen 127.0.0.1:0).  With KIND=kafka that is
# real Kafka against the embedded broker; with KIND=embedded it is two embedded brokers (the
# engine must be deterministic: the same input gives the same outputs).
#
# One input file: 1500 seed transactions (keys user_id, event times in order within ~3
# minutes with < 2 s of disorder, so nothing is late whatever the fetch order) plus 8
# records that do not parse.  kcat -K produces it to `transactions` on both, with the
# murmur2 partitioner (the engine's), so that every user's records sit on the same
# partition number in the input and in the user-keyed outputs, and the order of each
# output partition is fixed by the input.  `streamlab engine --count N --json` runs on both;
# kcat -J reads every output topic from both and Python compares them:
#   - processed_transactions, user_aggregations, high_value_transactions,
#     late_transactions: per partition, the same records (key, JSON value without
#     processing_timestamp / last_updated) in the same order;
#   - category_windows: per partition, the same records; per key (category) in the same
#     order.  Windows of one end that fire together come out in the order their
#     categories were first seen, which depends on how the consumer interleaved the input
#     partitions, so the order across categories is reported, not asserted;
#   - transactions.dlq (no key, so any partition): the same records (without failed_at),
#     in the same order per input partition (the DLQ record names its input partition
#     and offset);
#   - the engines' JSON summaries: the same counts.
# run.sh: limit=300 min=23
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

N_GOOD=1500
GROUP=$(group_name compare)
TOPICS="processed_transactions user_aggregations high_value_transactions category_windows
        late_transactions transactions.dlq"

if extra_broker; then
    REF=$EXTRA_BROKER
    pass "a second (embedded) broker to compare with starts ($REF)"
else
    fail "a second (embedded) broker to compare with starts"
    finish
    exit 1
fi
echo "# compare: $KIND broker $BROKER against embedded broker $REF"

# --- input ------------------------------------------------------------------------------
$PY - "$WORK" "$N_GOOD" <<'EOF'
import datetime, json, random, sys
work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(424242)
cats = {"electronics": ["laptop", "phone", "headphones"], "books": ["book", "ebook"],
        "clothing": ["shirt", "jeans", "shoes"], "home": ["lamp", "chair"],
        "sports": ["ball", "racket"]}
start = datetime.datetime(2024, 3, 2, 14, 0, 13, 500000)
lines = []
for i in range(n):
    cat = rng.choice(sorted(cats))
    r = rng.random()
    cents = (rng.randint(1000, 10000) if r < 0.3 else rng.randint(10001, 50000) if r < 0.6
             else rng.randint(50001, 150000))
    if i % 100 == 10:
        cents = 10000          # exactly 100.00: filtered out
    if i % 100 == 20:
        cents = 50000          # exactly 500.00: processed, not high value
    t = start + datetime.timedelta(seconds=i * 0.12 - rng.uniform(0, 1.5))
    user = "user_%d" % rng.randint(1, 80)
    rec = {"transaction_id": "txn_cmp_%d" % i, "user_id": user,
           "product": rng.choice(cats[cat]), "category": cat, "amount": "@A@",
           "quantity": rng.randint(1, 5),
           "payment_method": rng.choice(["credit_card", "debit_card", "paypal", "bank_transfer"]),
           "timestamp": t.isoformat(timespec="microseconds"),
           "location": "city_%d" % rng.randint(1, 50)}
    lines.append((user, json.dumps(rec).replace('"@A@"', "%d.%02d" % divmod(cents, 100))))
bad = ["not json at all", '{"transaction_id": "txn_cmp_bad_1", "user_id": "user_3"}',
       '{"truncated": ', "[1, 2, 3]", '"a string"',
       json.dumps({"transaction_id": "txn_cmp_bad_6", "user_id": "user_9", "product": "lamp",
                   "category": "home", "amount": "12.50 EUR", "quantity": 1,
                   "payment_method": "paypal", "timestamp": "2024-03-02T14:01:00.000000",
                   "location": "city_1"}),
       json.dumps({"transaction_id": "txn_cmp_bad_7", "user_id": "user_10", "product": "lamp",
                   "category": "home", "amount": 12.5, "quantity": 1,
                   "payment_method": "paypal", "timestamp": "yesterday", "location": "city_1"}),
       "{}"]
for j, b in enumerate(bad):
    lines.insert(150 + j * 170, ("user_%d" % (j + 1), b))
with open(work + "/in.tsv", "w") as f:
    for k, v in lines:
        assert "\t" not in k + v and "\n" not in k + v
        f.write(k + "\t" + v + "\n")
print(len(lines), file=open(work + "/total", "w"))
EOF
N=$(cat "$WORK/total")

# --- produce the same file to both --------------------------------------------------
for side in subject ref; do
    addr=$BROKER label="$KIND broker"
    [ "$side" = ref ] && addr=$REF label="embedded reference broker"
    if timeout 120 kcat -b "$addr" -P -t transactions -K $'\t' -X acks=all \
            -X partitioner=murmur2_random <"$WORK/in.tsv" 2>"$WORK/kcat-produce-$side.err"; then
        pass "kcat produces the $N input records to the $label"
    else
        fail "kcat produces the $N input records to the $label" "$(tail -3 "$WORK/kcat-produce-$side.err")"
    fi
    BROKER=$addr kcat_dump transactions "$WORK/in-$side.jsonl" || true
    expect_eq "transactions on the $label holds $N records" "$N" \
        "$(wc -l <"$WORK/in-$side.jsonl" | tr -d ' ')"
done

# --- the engine on both, side by side ------------------------------------------------
timeout 240 "$STREAMLAB" engine -b "$BROKER" --count "$N" --group "$GROUP" --json \
    >"$WORK/engine-subject.out" 2>"$WORK/engine-subject.err" &
pid_s=$!
bg_track $pid_s
timeout 240 "$STREAMLAB" engine -b "$REF" --count "$N" --group "$GROUP" --json \
    >"$WORK/engine-ref.out" 2>"$WORK/engine-ref.err" &
pid_r=$!
bg_track $pid_r
rc_s=0 rc_r=0
wait $pid_s || rc_s=$?
wait $pid_r || rc_r=$?
expect_eq "engine --count $N on the $KIND broker exits 0" 0 "$rc_s"
[ "$rc_s" = 0 ] || sed "s/^/# engine ($KIND): /" "$WORK/engine-subject.err" | tail -10
expect_eq "engine --count $N on the embedded reference broker exits 0" 0 "$rc_r"
[ "$rc_r" = 0 ] || sed 's/^/# engine (reference): /' "$WORK/engine-ref.err" | tail -10
tail -n1 "$WORK/engine-subject.out" >"$WORK/summary-subject.json"
tail -n1 "$WORK/engine-ref.out" >"$WORK/summary-ref.json"

for t in $TOPICS; do
    kcat_dump "$t" "$WORK/subject.$t.jsonl" || echo "# kcat could not read $t from $BROKER"
    BROKER=$REF kcat_dump "$t" "$WORK/ref.$t.jsonl" || echo "# kcat could not read $t from $REF"
done

# --- compare ----------------------------------------------------------------------------
$PY - "$WORK" "$KIND" "$N" $TOPICS >"$WORK/checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python comparer ran: it crashed" >>"$WORK/checks.txt"
import collections, json, sys
work, kind, n, topics = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
A, B = kind, "embedded(ref)"
VOLATILE = {"processing_timestamp", "last_updated", "failed_at"}

def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))
    return cond

def note(s):
    print(s)

def load(side, topic):
    out = []
    try:
        with open("%s/%s.%s.jsonl" % (work, side, topic)) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
    except OSError:
        pass
    return out

def norm(payload):
    try:
        v = json.loads(payload)
    except (TypeError, ValueError):
        return ("raw", payload)
    if isinstance(v, dict):
        for k in VOLATILE:
            v.pop(k, None)
    return v

def canon(v):
    return json.dumps(v, sort_keys=True)

def by_partition(recs):
    parts = collections.defaultdict(list)
    for e in sorted(recs, key=lambda e: (e["partition"], e["offset"])):
        parts[e["partition"]].append((e["offset"], e.get("key"), norm(e.get("payload"))))
    return parts

def show(rec):
    if rec is None:
        return "(none)"
    off, key, val = rec
    s = canon(val)
    return "@%d key=%s %s" % (off, key, s if len(s) < 400 else s[:400] + "...")

def first_diff(xs, ys):
    for i in range(max(len(xs), len(ys))):
        x = xs[i] if i < len(xs) else None
        y = ys[i] if i < len(ys) else None
        if x is None or y is None or x[1:] != y[1:]:
            return i, x, y
    return None

# Summaries.
def summary(side):
    try:
        s = json.load(open("%s/summary-%s.json" % (work, side)))
        return s if isinstance(s, dict) else None
    except (OSError, ValueError):
        return None
sa, sb = summary("subject"), summary("ref")
if ok("both engines end with a JSON summary", sa is not None and sb is not None,
      "%s: %s, %s: %s" % (A, sa, B, sb)):
    keep = ("input", "output", "dlq", "late", "delivery_failed")
    pa = {k: sa.get(k) for k in keep}
    pb = {k: sb.get(k) for k in keep}
    ok("the summaries agree (%s)" % canon(pa), pa == pb, "%s %s, %s %s" % (A, canon(pa), B, canon(pb)))
    ok("summary input.transactions == %d on both" % n,
       sa.get("input", {}).get("transactions") == n and sb.get("input", {}).get("transactions") == n,
       "%s %s, %s %s" % (A, sa.get("input"), B, sb.get("input")))
    ok("summary dlq == 8 on both (the 8 bad records)", sa.get("dlq") == 8 and sb.get("dlq") == 8,
       "%s %s, %s %s" % (A, sa.get("dlq"), B, sb.get("dlq")))

for topic in topics:
    ra, rb = load("subject", topic), load("ref", topic)
    pa, pb = by_partition(ra), by_partition(rb)
    counts = lambda p: {k: len(v) for k, v in sorted(p.items())}
    note("%s: %s %d records %s, %s %d records %s" % (topic, A, len(ra), counts(pa), B, len(rb), counts(pb)))
    if topic in ("processed_transactions", "user_aggregations", "high_value_transactions",
                 "category_windows", "transactions.dlq"):
        ok("%s is not empty on either broker" % topic, ra and rb,
           "%s %d, %s %d records" % (A, len(ra), B, len(rb)))
    if topic == "transactions.dlq":
        # No key: the partition is the partitioner's choice. Compare the records, and
        # their order per input partition (the DLQ record names it).
        va = sorted(canon(r[2]) for p in pa.values() for r in p)
        vb = sorted(canon(r[2]) for p in pb.values() for r in p)
        ca, cb = collections.Counter(va), collections.Counter(vb)
        ok("%s: the same records (without failed_at) on both" % topic, ca == cb,
           "only on %s: %s; only on %s: %s" % (A, list((ca - cb).elements())[:3],
                                              B, list((cb - ca).elements())[:3]))
        continue
    diffs = []
    for p in sorted(set(pa) | set(pb)):
        xs, ys = pa.get(p, []), pb.get(p, [])
        if topic == "category_windows":
            kx = collections.defaultdict(list)
            ky = collections.defaultdict(list)
            for r in xs:
                kx[r[1]].append(r)
            for r in ys:
                ky[r[1]].append(r)
            before = len(diffs)
            for k in sorted(set(kx) | set(ky), key=str):
                d = first_diff(kx.get(k, []), ky.get(k, []))
                if d:
                    diffs.append("partition %d key %s: %d vs %d records; first difference at the "
                                 "key's record #%d: %s: %s | %s: %s" % (
                                     p, k, len(kx.get(k, [])), len(ky.get(k, [])), d[0],
                                     A, show(d[1]), B, show(d[2])))
            if len(diffs) == before and first_diff(xs, ys) is not None:
                note("note: category_windows partition %d holds the same records per category, "
                     "in another order across categories (windows that fire together)" % p)
        else:
            d = first_diff(xs, ys)
            if d:
                diffs.append("partition %d: %d vs %d records; first difference at #%d: %s: %s | %s: %s" % (
                    p, len(xs), len(ys), d[0], A, show(d[1]), B, show(d[2])))
    what = ("per partition and per key, the same records in the same order"
            if topic == "category_windows" else
            "per partition, the same records (key, value) in the same order")
    ok("%s: %s on both brokers" % (topic, what), not diffs,
       "%d partition(s) differ: %s" % (len(diffs), " || ".join(diffs[:3])))
    if diffs:
        for d in diffs:
            note("difference: %s: %s" % (topic, d))
EOF
# The inputs (read back above) must match too, or the comparison means nothing.
$PY - "$WORK" >>"$WORK/checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python input comparer ran: it crashed" >>"$WORK/checks.txt"
import json, sys
work = sys.argv[1]
def load(side):
    out = {}
    for line in open("%s/in-%s.jsonl" % (work, side)):
        if line.strip():
            e = json.loads(line)
            out.setdefault(e["partition"], []).append((e["offset"], e.get("key"), e.get("payload")))
    return {p: sorted(v) for p, v in out.items()}
a, b = load("subject"), load("ref")
same = a == b
print(("ok - " if same else "not ok - ") + "the input (transactions) is the same on both brokers: "
      "same records at the same partitions and offsets"
      + ("" if same else ": partitions %s vs %s" % ({p: len(v) for p, v in a.items()},
                                                   {p: len(v) for p, v in b.items()})))
EOF
tap_from "$WORK/checks.txt"

finish
