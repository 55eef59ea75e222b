#!/usr/bin/env bash
# e2e_kcat.sh KIND — the transactions pipeline checked record by record on the wire.
#
# kcat produces N=2000 seed-format transactions (made here, keyed by user_id) to
# `transactions`; `streamlab engine --count N --json` processes them; kcat reads every
# output topic back and Python checks each record against what the test computes itself:
# processed_transactions (amount > 100, discounts rounded half-up to the cent, keys),
# high_value_transactions (amount > 500), user_aggregations (last record per user equals
# the user's totals), category_windows (30 s tumbling windows on event time, aligned to
# the epoch, over the processed records' final_amount). Also `streamlab consume`, of one
# topic and of three at once (each record labelled with its topic).
# run.sh: limit=300 min=26
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

N=2000
GROUP=$(group_name kcat)

# --- input ------------------------------------------------------------------------
$PY - "$WORK" "$N" <<'EOF'
import datetime, json, random, sys
work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240115)
cats = {"electronics": ["laptop", "phone", "headphones", "tablet"],
        "books": ["book", "ebook", "magazine"],
        "clothing": ["shirt", "jeans", "jacket"],
        "home": ["coffee_maker", "lamp", "chair"]}
# Event time: ~3 minutes from a start that is not on a window boundary, in order but
# with up to 2 s of disorder (inside the engine's 5 s bound, so nothing is late).
start = datetime.datetime(2024, 1, 15, 10, 29, 47, 250000)
step = 180.0 / n
forced = {0: "100.00", 1: "500.00", 2: "100.01", 3: "500.01", 4: "99.99",
          5: "100.05", 6: "101.10", 7: "19.99"}
records = []
for i in range(n):
    cat = rng.choice(sorted(cats))
    if i in forced:
        amount = forced[i]
    elif i % 100 in (50, 53):      # as text "100.0" (i % 5 == 0) and "100.00"
        amount = "100.00"
    elif i % 100 in (51, 55):      # as text "500.00" and "500.0"
        amount = "500.00"
    else:
        r = rng.random()
        cents = rng.randint(1000, 10000) if r < 0.3 else rng.randint(10001, 50000) if r < 0.6 \
            else rng.randint(50001, 150000)
        amount = "%d.%02d" % divmod(cents, 100)
    t = start + datetime.timedelta(seconds=i * step - rng.uniform(0, 2.0))
    if i % 97 == 0:
        t = t.replace(microsecond=0)   # Python's isoformat() then has no fraction
    ts = t.isoformat()
    if "." not in ts and i % 2:
        ts += ".000000"
    user = "user_%d" % rng.randint(1, 60)
    rec = {"transaction_id": "txn_e2e_%d_%d" % (rng.randint(10**9, 10**10), i),
           "user_id": user, "product": rng.choice(cats[cat]), "category": cat,
           "amount": "@AMOUNT@", "quantity": rng.randint(1, 5),
           "payment_method": rng.choice(["credit_card", "debit_card", "paypal", "bank_transfer"]),
           "timestamp": ts, "location": "city_%d" % rng.randint(1, 50)}
    # The amount as written: two decimals, except some in Python's own float form.
    text = amount if i % 5 else repr(float(amount))
    line = json.dumps(rec).replace('"@AMOUNT@"', text)
    records.append(json.loads(line))
    records[-1]["_text"] = line
with open(work + "/in.tsv", "w") as f:
    for r in records:
        f.write(r["user_id"] + "\t" + r["_text"] + "\n")
with open(work + "/expected.json", "w") as f:
    json.dump([{k: v for k, v in r.items() if k != "_text"} for r in records], f)
EOF

if timeout 120 kcat -b "$BROKER" -P -t transactions -K $'\t' -X acks=all <"$WORK/in.tsv" \
        2>"$WORK/kcat-produce.err"; then
    pass "kcat produces $N transactions"
else
    fail "kcat produces $N transactions" "$(tail -3 "$WORK/kcat-produce.err")"
fi
expect_eq "the transactions topic holds $N records" "$N" "$(kcat_count transactions)"

# --- the engine -----------------------------------------------------------------------
rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --count "$N" --group "$GROUP" --json \
    >"$WORK/engine.out" 2>"$WORK/engine.err" || rc=$?
expect_eq "engine --count $N exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# engine: /' "$WORK/engine.err" | tail -20
tail -n1 "$WORK/engine.out" >"$WORK/summary.json"

for t in processed_transactions user_aggregations high_value_transactions category_windows \
         transactions.dlq late_transactions; do
    kcat_dump "$t" "$WORK/$t.jsonl" || echo "# kcat could not read $t" 
done

# --- the checks ----------------------------------------------------------------------
$PY - "$WORK" "$N" >"$WORK/checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/checks.txt"
import collections, datetime, json, sys
from decimal import Decimal, ROUND_HALF_UP
work, n = sys.argv[1], int(sys.argv[2])

def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))
    return cond

def load(topic):
    out = []
    try:
        with open("%s/%s.jsonl" % (work, topic)) as f:
            for line in f:
                line = line.strip()
                if line:
                    out.append(json.loads(line))
    except OSError:
        pass
    return out

def values(recs, name):
    vals = []
    bad = 0
    for r in recs:
        try:
            vals.append(json.loads(r["payload"]))
        except (TypeError, ValueError):
            bad += 1
    ok("%s values are JSON objects" % name, bad == 0 and all(isinstance(v, dict) for v in vals),
       "%d unparseable" % bad)
    return vals

def cents(x):
    return int((Decimal(str(x)) * 100).to_integral_value(rounding=ROUND_HALF_UP))

FACTOR = {"electronics": Decimal("0.95"), "books": Decimal("0.90"),
          "clothing": Decimal("0.92")}

def final_cents(rec):
    f = FACTOR.get(rec["category"], Decimal("1.0"))
    return int((Decimal(str(rec["amount"])) * 100 * f).to_integral_value(rounding=ROUND_HALF_UP))

def event_time(ts):
    return datetime.datetime.fromisoformat(ts)

EPOCH = datetime.datetime(1970, 1, 1)
def window_of(ts, size=30):
    secs = int((event_time(ts) - EPOCH).total_seconds() // size * size)
    s = EPOCH + datetime.timedelta(seconds=secs)
    e = s + datetime.timedelta(seconds=size)
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    return s.strftime(fmt), e.strftime(fmt)

inputs = json.load(open(work + "/expected.json"))
by_id = {r["transaction_id"]: r for r in inputs}
want_processed = {r["transaction_id"]: r for r in inputs if Decimal(str(r["amount"])) > 100}
want_high = {i for i, r in want_processed.items() if Decimal(str(r["amount"])) > 500}

# The summary line.
try:
    summary = json.load(open(work + "/summary.json"))
except ValueError as e:
    summary = None
    ok("the last stdout line is a JSON summary", False, str(e))
if summary is not None:
    ok("the last stdout line is a JSON summary", isinstance(summary, dict))
    out = summary.get("output", {})
    ok("summary input.transactions == %d" % n, summary.get("input", {}).get("transactions") == n,
       str(summary.get("input")))

processed = values(load("processed_transactions"), "processed_transactions")
precs = load("processed_transactions")
high = values(load("high_value_transactions"), "high_value_transactions")
hrecs = load("high_value_transactions")
aggs_recs = load("user_aggregations")
wins = values(load("category_windows"), "category_windows")
wrecs = load("category_windows")
dlq = load("transactions.dlq")
late = load("late_transactions")

# processed_transactions: exactly the input records with amount > 100.
got_ids = [p.get("transaction_id") for p in processed]
ok("processed_transactions has one record per input with amount > 100 (%d)" % len(want_processed),
   sorted(got_ids) == sorted(want_processed),
   "got %d records (%d distinct); missing %s; unexpected %s" % (
       len(got_ids), len(set(got_ids)), sorted(set(want_processed) - set(got_ids))[:5],
       sorted(set(got_ids) - set(want_processed))[:5]))
errs = []
for env, p in zip(precs, processed):
    i = p.get("transaction_id")
    src = by_id.get(i)
    if src is None:
        continue
    for k, v in src.items():
        if p.get(k) != v:
            errs.append("%s: %s is %r, input had %r" % (i, k, p.get(k), v)); break
    for k in ("original_amount", "discount_applied", "final_amount", "processing_timestamp"):
        if k not in p:
            errs.append("%s: no %s" % (i, k))
    if errs and len(errs) > 10:
        break
    if "final_amount" in p and cents(p["final_amount"]) != final_cents(src):
        errs.append("%s: %s %s final_amount %s, want %.2f" % (
            i, src["category"], src["amount"], p["final_amount"], final_cents(src) / 100))
    if "final_amount" in p and abs(p["final_amount"] * 100 - final_cents(src)) > 1e-6:
        errs.append("%s: final_amount %r is not a number of cents" % (i, p["final_amount"]))
    if p.get("original_amount") is not None and cents(p["original_amount"]) != cents(src["amount"]):
        errs.append("%s: original_amount %s, amount %s" % (i, p["original_amount"], src["amount"]))
    f = FACTOR.get(src["category"], Decimal("1.0"))
    # the original's discount_applied: the multiplier itself (final = amount * it)
    if "discount_applied" in p and abs(Decimal(str(p["discount_applied"])) - f) > Decimal("1e-9"):
        errs.append("%s: discount_applied %s for %s" % (i, p["discount_applied"], src["category"]))
    if "processing_timestamp" in p:
        try:
            event_time(p["processing_timestamp"])
        except (TypeError, ValueError):
            errs.append("%s: processing_timestamp %r" % (i, p["processing_timestamp"]))
    if env.get("key") != src["user_id"]:
        errs.append("%s: key %r, user_id %r" % (i, env.get("key"), src["user_id"]))
ok("every processed record: input fields kept, final_amount = round-half-up(amount*factor, 2), "
   "original_amount, discount_applied, processing_timestamp, key == user_id",
   not errs, "; ".join(errs[:6]) + (" (%d problems)" % len(errs) if len(errs) > 6 else ""))

# high_value_transactions: exactly the ones with amount > 500, keyed by user_id.
hid = [h.get("transaction_id") for h in high]
ok("high_value_transactions = the inputs with amount > 500 (%d)" % len(want_high),
   sorted(hid) == sorted(want_high),
   "got %d; missing %s; unexpected %s" % (len(hid), sorted(want_high - set(hid))[:5],
                                          sorted(set(hid) - want_high)[:5]))
bad = [h.get("transaction_id") for env, h in zip(hrecs, high)
       if env.get("key") != h.get("user_id") or "final_amount" not in h
       or (h.get("transaction_id") in by_id and cents(h["final_amount"]) != final_cents(by_id[h["transaction_id"]]))]
ok("high-value records are processed records keyed by user_id", not bad, "bad: %s" % bad[:5])

# user_aggregations: the last record per key (per partition) holds the user's totals.
want_tot = collections.defaultdict(lambda: [0, 0])
for r in want_processed.values():
    want_tot[r["user_id"]][0] += final_cents(r)
    want_tot[r["user_id"]][1] += 1
last = {}
keybad = []
partitions_of = collections.defaultdict(set)
for env in sorted(aggs_recs, key=lambda e: (e["partition"], e["offset"])):
    try:
        v = json.loads(env["payload"])
    except (TypeError, ValueError):
        keybad.append("unparseable at %d/%d" % (env["partition"], env["offset"])); continue
    if env.get("key") != v.get("user_id"):
        keybad.append("key %r user_id %r" % (env.get("key"), v.get("user_id")))
    partitions_of[env.get("key")].add(env["partition"])
    last[env.get("key")] = v
ok("user_aggregations: %d records, one per processed transaction" % len(want_processed),
   len(aggs_recs) == len(want_processed), "got %d" % len(aggs_recs))
ok("user_aggregations keyed by user_id, each user on one partition",
   not keybad and all(len(p) == 1 for p in partitions_of.values()),
   "; ".join(keybad[:5]) or str({k: sorted(p) for k, p in partitions_of.items() if len(p) > 1}))
ok("user_aggregations covers exactly the users with processed transactions (%d)" % len(want_tot),
   set(last) == set(want_tot),
   "missing %s; unexpected %s" % (sorted(set(want_tot) - set(last))[:5], sorted(set(last) - set(want_tot))[:5]))
errs = []
for u, (c, k) in sorted(want_tot.items()):
    v = last.get(u)
    if v is None:
        continue
    if not isinstance(v.get("total_spent"), (int, float)) or cents(v["total_spent"]) != c:
        errs.append("%s total_spent %r, want %.2f" % (u, v.get("total_spent"), c / 100))
    if v.get("transaction_count") != k:
        errs.append("%s transaction_count %r, want %d" % (u, v.get("transaction_count"), k))
    if "last_updated" not in v:
        errs.append("%s: no last_updated" % u)
ok("each user's last aggregation: total_spent = sum of final_amount (to the cent), "
   "transaction_count = their count", not errs, "; ".join(errs[:6]))

# category_windows: 30 s tumbling windows (epoch-aligned) over the processed records.
want_w = collections.defaultdict(lambda: [0, 0])
for r in want_processed.values():
    s, e = window_of(r["timestamp"])
    want_w[(r["category"], s, e)][0] += final_cents(r)
    want_w[(r["category"], s, e)][1] += 1
want_set = sorted((c, s, e, t, k) for (c, s, e), (t, k) in want_w.items())
got_set = []
for w in wins:
    try:
        got_set.append((w["category"], w["window_start"], w["window_end"],
                        cents(w["total_amount"]), w["transaction_count"]))
    except (KeyError, TypeError, ValueError) as ex:
        got_set.append(("malformed", repr(w)[:80], "", 0, 0))
got_set.sort()
ok("category_windows = the %d windows the test computes (category, start, end, total, count)"
   % len(want_set), got_set == want_set,
   "missing %s; unexpected %s" % ([x for x in want_set if x not in got_set][:4],
                                  [x for x in got_set if x not in want_set][:4]))
ok("category_windows keyed by category",
   all(env.get("key") == w.get("category") for env, w in zip(wrecs, wins)),
   str([(env.get("key"), w.get("category")) for env, w in zip(wrecs, wins)
        if env.get("key") != w.get("category")][:5]))
ok("nothing late and nothing dead-lettered", not late and not dlq,
   "late_transactions %d, transactions.dlq %d" % (len(late), len(dlq)))

if summary is not None:
    want_out = {"processed_transactions": len(want_processed),
                "high_value_transactions": len(want_high),
                "user_aggregations": len(want_processed),
                "category_windows": len(want_set)}
    ok("summary output counts %s" % json.dumps(want_out, sort_keys=True),
       all(out.get(k) == v for k, v in want_out.items()), json.dumps(out, sort_keys=True))
    ok("summary dlq == 0 and late == 0", summary.get("dlq") == 0 and summary.get("late") == 0,
       "dlq %r late %r" % (summary.get("dlq"), summary.get("late")))
EOF
tap_from "$WORK/checks.txt"

# --- streamlab consume ---------------------------------------------------------------
rc=0
timeout 60 "$STREAMLAB" consume processed_transactions -b "$BROKER" --from-beginning --count 3 \
    --group "$(group_name consume)" >"$WORK/consume.out" 2>"$WORK/consume.err" || rc=$?
expect_eq "consume --from-beginning --count 3 exits 0" 0 "$rc"
$PY - "$WORK" >"$WORK/consume-checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/consume-checks.txt"
import json, re, sys
work = sys.argv[1]
text = open(work + "/consume.out").read()
head = re.compile(r"^processed_transactions \[(\d+)\] @(\d+) key=(\S+)$", re.M)
heads = list(head.finditer(text))
print(("ok - " if len(heads) == 3 else "not ok - ") + "consume prints 3 header lines "
      "(topic [partition] @offset key=...)" + ("" if len(heads) == 3 else ": got %d in %r" % (len(heads), text[:300])))
want = {}
for line in open(work + "/processed_transactions.jsonl"):
    e = json.loads(line)
    want[(e["partition"], e["offset"])] = (e["key"], json.loads(e["payload"]))
errs = []
for i, m in enumerate(heads):
    body = text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
    try:
        v = json.loads(body)
    except ValueError as ex:
        errs.append("record %d is not JSON (%s): %r" % (i, ex, body[:100])); continue
    w = want.get((int(m.group(1)), int(m.group(2))))
    if w is None:
        errs.append("no record at partition %s offset %s" % (m.group(1), m.group(2)))
    elif w != (m.group(3), v):
        errs.append("record at %s/%s differs from kcat's" % (m.group(1), m.group(2)))
print(("ok - " if not errs and heads else "not ok - ") + "each printed record is its JSON value, equal to what kcat reads there"
      + ("" if not errs and heads else ": " + "; ".join(errs[:3])))
EOF
tap_from "$WORK/consume-checks.txt"

# Several topics at once, as the original's monitor: each record labelled with its topic.
rc=0
timeout 60 "$STREAMLAB" consume transactions processed_transactions user_aggregations -b "$BROKER" \
    --from-beginning --idle 10 --raw --group "$(group_name consume3)" >"$WORK/consume3.out" \
    2>"$WORK/consume3.err" || rc=$?
expect_eq "consume transactions processed_transactions user_aggregations exits 0" 0 "$rc"
for t in transactions user_aggregations; do kcat_dump "$t" "$WORK/$t.all.jsonl"; done
$PY - "$WORK" >"$WORK/consume3-checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/consume3-checks.txt"
import collections, json, sys
work = sys.argv[1]
got = collections.defaultdict(list)
for line in open(work + "/consume3.out"):
    topic, _, value = line.rstrip("\n").partition("\t")
    got[topic].append(value)
want = {"transactions": work + "/transactions.all.jsonl",
        "processed_transactions": work + "/processed_transactions.jsonl",
        "user_aggregations": work + "/user_aggregations.all.jsonl"}
errs = []
for t, f in want.items():
    w = sorted(json.loads(l)["payload"] for l in open(f) if l.strip())
    if sorted(got.get(t, [])) != w:
        errs.append("%s: %d printed, %d in the topic" % (t, len(got.get(t, [])), len(w)))
extra = set(got) - set(want)
print(("ok - " if not errs and not extra else "not ok - ") + "every record of the three topics is printed once, "
      "labelled with its topic" + ("" if not errs and not extra else ": %s %s" % (errs, sorted(extra)[:3])))
EOF
tap_from "$WORK/consume3-checks.txt"

finish
