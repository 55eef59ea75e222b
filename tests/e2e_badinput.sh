#!/usr/bin/env bash
# e2e_badinput.sh KIND — records that do not parse go to transactions.dlq, never stop the
# pipeline and never vanish.
#
# kcat produces 500 good seed-format transactions mixed with bad ones: garbage bytes
# (non-UTF-8 and with newlines too), truncated JSON, JSON arrays and other non-objects,
# records missing a field, wrong types (amount "12 USD", quantity 1.5, user_id 7), bad
# timestamps, a NULL value. What the original processes is good here too: amount or
# quantity as a numeric string ("150.25", "3"), quantity 3.0. `streamlab engine --count
# TOTAL` must exit 0; every good record with amount > 100 is in processed_transactions (and
# nothing else is), amount and quantity as numbers, discount_applied the original's
# multiplier and final_amount = amount * it, half-up to the cent; every bad record is
# in transactions.dlq once, with error, topic, partition, offset (pointing at it) and its
# bytes in original (UTF-8) or original_base64; the summary's dlq is the number of bad ones.
# run.sh: limit=240 min=12
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

GROUP=$(group_name badinput)

# Messages separated by \x1e, key and value by \x1f (none of the payloads holds either);
# -Z turns the one empty value into a NULL value.
$PY - "$WORK" <<'EOF'
import base64, datetime, json, random, sys
work = sys.argv[1]
rng = random.Random(7)
cats = ["electronics", "books", "clothing", "home"]
start = datetime.datetime(2024, 1, 15, 10, 30, 0, 500000)

def good(i):
    cat = rng.choice(cats)
    cents = rng.choice([rng.randint(1000, 10000), rng.randint(10001, 50000), rng.randint(50001, 150000)])
    if i % 50 == 7:
        cents = 10000
    if i % 50 == 8:
        cents = 50000
    rec = {"transaction_id": "txn_bad_%d_%d" % (rng.randint(10**9, 10**10), i),
           "user_id": "user_%d" % rng.randint(1, 40), "product": "product_%d" % rng.randint(1, 9),
           "category": cat, "amount": "@A@", "quantity": rng.randint(1, 5),
           "payment_method": rng.choice(["credit_card", "paypal"]),
           "timestamp": (start + datetime.timedelta(seconds=i * 0.12)).isoformat(),
           "location": "city_%d" % rng.randint(1, 50)}
    if i % 61 == 3:
        rec["location"] = "S\u00e3o Paulo \u2014 \u6771\u4eac"   # UTF-8 text is fine
    if i % 83 == 5:
        rec["coupon"] = None                                    # an extra field is fine
    amount = "%d.%02d" % divmod(cents, 100)
    # The original reads float(amount) and int(quantity): these it processes too.
    if i % 45 == 11:
        amount = '"%s"' % amount                                # amount as a numeric string
    if i % 45 == 12:
        rec["quantity"] = str(rec["quantity"])                  # quantity as a numeric string
    if i % 45 == 13:
        rec["quantity"] = float(rec["quantity"])                # an integral float quantity
    return rec, json.dumps(rec, ensure_ascii=(i % 2 == 0)).replace('"@A@"', amount)

goods = [good(i) for i in range(500)]
proto, proto_text = good(1000)

def variant(**changes):
    r = dict(json.loads(proto_text))
    for k, v in changes.items():
        if v is KeyError:
            r.pop(k)
        else:
            r[k] = v
    r["transaction_id"] = "txn_bad_variant_%d" % rng.randint(0, 10**9)
    return json.dumps(r).encode()

bad = [
    ("garbage text", b"hello, this is not json"),
    ("garbage bytes, not UTF-8", bytes([0xff, 0xfe, 0x00, 0x80, 0x41, 0xc3, 0x28, 0x0a, 0x9f])),
    ("binary with newlines", b"\x00\x01\x02\n\n\x7f\xf0\x9f\x98"),
    ("Latin-1 text in JSON", b'{"transaction_id":"x","location":"S\xe3o Paulo"}'),
    ("truncated JSON", proto_text.encode()[:57]),
    ("truncated JSON, cut at the end", proto_text.encode()[:-1]),
    ("a JSON array", b"[1, 2, 3]"),
    ("a JSON array holding a transaction", ("[" + proto_text + "]").encode()),
    ("a JSON string", b'"just a string"'),
    ("JSON null", b"null"),
    ("a JSON number", b"42"),
    ("missing amount", variant(amount=KeyError)),
    ("missing timestamp", variant(timestamp=KeyError)),
    ("missing user_id", variant(user_id=KeyError)),
    ("missing category", variant(category=KeyError)),
    ("amount text, not a number", variant(amount="12 USD")),
    ("quantity 1.5", variant(quantity=1.5)),
    ("user_id a number", variant(user_id=7)),
    ("category null", variant(category=None)),
    ("timestamp not a time", variant(timestamp="not a time")),
    ("timestamp month 13", variant(timestamp="2024-13-01T10:30:00.000000")),
    ("timestamp hour 25", variant(timestamp="2024-01-15T25:61:00.000000")),
    ("timestamp empty", variant(timestamp="")),
    ("timestamp a number", variant(timestamp=1705314600)),
    ("a NULL value", b""),
]
msgs = [(g["user_id"].encode(), t.encode(), None) for g, t in goods]
for name, payload in bad:
    assert b"\x1e" not in payload and b"\x1f" not in payload
    msgs.insert(rng.randint(0, len(msgs)), (b"bad_key", payload, name))
with open(work + "/in.bin", "wb") as f:
    f.write(b"\x1e".join(k + b"\x1f" + v for k, v, _ in msgs))
json.dump({"good": [json.loads(t) for _, t in goods],
           "bad": [[name, base64.b64encode(p).decode()] for name, p in bad]},
          open(work + "/expected.json", "w"))
print(len(msgs), file=open(work + "/total", "w"))
EOF
TOTAL=$(cat "$WORK/total")

if timeout 120 kcat -b "$BROKER" -P -t transactions -D '\x1e' -K '\x1f' -Z -X acks=all \
        <"$WORK/in.bin" 2>"$WORK/kcat-produce.err"; then
    pass "kcat produces $TOTAL records (500 good)"
else
    fail "kcat produces $TOTAL records (500 good)" "$(tail -3 "$WORK/kcat-produce.err")"
fi
expect_eq "the transactions topic holds $TOTAL records" "$TOTAL" "$(kcat_count transactions)"

rc=0
timeout 180 "$STREAMLAB" engine -b "$BROKER" --count "$TOTAL" --group "$GROUP" --json \
    >"$WORK/engine.out" 2>"$WORK/engine.err" || rc=$?
expect_eq "engine --count $TOTAL exits 0" 0 "$rc"
[ "$rc" = 0 ] || tail -n 20 "$WORK/engine.err" | sed 's/^/# engine: /'
tail -n1 "$WORK/engine.out" >"$WORK/summary.json"
kcat_dump processed_transactions "$WORK/processed.jsonl"
kcat_dump transactions.dlq "$WORK/dlq.jsonl"

$PY - "$WORK" "$BROKER" >"$WORK/checks.txt" 2>&1 <<'EOF' || echo "not ok - the Python checker ran: it crashed" >>"$WORK/checks.txt"
import base64, collections, json, sys
from confluent_kafka import Consumer, TopicPartition
work, broker = sys.argv[1], sys.argv[2]
def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))

exp = json.load(open(work + "/expected.json"))
good = exp["good"]
bad = [(n, base64.b64decode(p)) for n, p in exp["bad"]]

# The input as stored, by (partition, offset), bytes exact (kcat -J cannot carry non-UTF-8).
c = Consumer({"bootstrap.servers": broker, "group.id": "e2e-badinput-reader",
              "enable.auto.commit": False, "enable.partition.eof": True})
md = c.list_topics("transactions", timeout=20)
parts = sorted(md.topics["transactions"].partitions)
c.assign([TopicPartition("transactions", p, 0) for p in parts])
stored, eof = {}, set()
import time
deadline = time.time() + 60
while len(eof) < len(parts) and time.time() < deadline:
    m = c.poll(1.0)
    if m is None:
        continue
    if m.error():
        if m.error().code() == -191:   # _PARTITION_EOF
            eof.add(m.partition())
        continue
    stored[(m.partition(), m.offset())] = m.value()
c.close()
ok("the test reads back every stored input record", len(eof) == len(parts), "eof on %s of %s" % (sorted(eof), parts))

# processed_transactions: exactly the good ones with amount > 100.
want = sorted(g["transaction_id"] for g in good if float(g["amount"]) > 100)
got = []
procs = []
for line in open(work + "/processed.jsonl"):
    procs.append(json.loads(json.loads(line)["payload"]))
    got.append(procs[-1].get("transaction_id"))
got.sort()
ok("processed_transactions = the good records with amount > 100 (%d, by id)" % len(want), got == want,
   "got %d; missing %s; unexpected %s" % (len(got), sorted(set(want) - set(got))[:4], sorted(set(got) - set(want))[:4]))

# The original's rule, computed here: discount_applied is the multiplier of the category
# (electronics 0.95, books 0.90, clothing 0.92, else 1.0) and final_amount is amount * it;
# streamlab rounds half-up to the cent on the decimal value.
from decimal import Decimal, ROUND_HALF_UP
mult = {"electronics": Decimal("0.95"), "books": Decimal("0.90"), "clothing": Decimal("0.92")}
byid = {g["transaction_id"]: g for g in good}
rule_errs = []
for p in procs:
    g = byid.get(p.get("transaction_id"))
    if g is None:
        continue
    m = mult.get(g["category"], Decimal("1.0"))
    amount = Decimal(str(g["amount"]))
    final = (amount * m).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if not isinstance(p.get("amount"), (int, float)) or isinstance(p.get("amount"), bool) \
            or Decimal(str(p["amount"])) != amount:
        rule_errs.append("%s amount %r for %r" % (g["transaction_id"], p.get("amount"), g["amount"]))
    if not isinstance(p.get("quantity"), int) or p["quantity"] != int(float(g["quantity"])):
        rule_errs.append("%s quantity %r for %r" % (g["transaction_id"], p.get("quantity"), g["quantity"]))
    if Decimal(str(p.get("discount_applied"))) != m:
        rule_errs.append("%s discount_applied %r, the rule says %s" % (g["transaction_id"], p.get("discount_applied"), m))
    if Decimal(str(p.get("final_amount"))) != final:
        rule_errs.append("%s final_amount %r, the rule says %s" % (g["transaction_id"], p.get("final_amount"), final))
strs = [g for g in good if float(g["amount"]) > 100 and (isinstance(g["amount"], str) or not isinstance(g["quantity"], int))]
ok("processed records follow the original's rule: numbers for amount and quantity (%d came "
   "as strings or 3.0), discount_applied the multiplier, final_amount = amount * it" % len(strs),
   procs and strs and not rule_errs, "; ".join(rule_errs[:4]))

# transactions.dlq: one record per bad input, fields and bytes.
dlq = [json.loads(json.loads(l)["payload"]) for l in open(work + "/dlq.jsonl")]
ok("transactions.dlq holds %d records (one per bad input)" % len(bad), len(dlq) == len(bad), "got %d" % len(dlq))
errs = []
origs = []
for d in dlq:
    if not isinstance(d.get("error"), str) or not d["error"]:
        errs.append("no error: %r" % d)
    if d.get("topic") != "transactions":
        errs.append("topic %r" % d.get("topic"))
    if not isinstance(d.get("partition"), int) or not isinstance(d.get("offset"), int):
        errs.append("partition/offset %r/%r" % (d.get("partition"), d.get("offset"))); continue
    if "original" in d and isinstance(d["original"], str):
        o = d["original"].encode("utf-8")
    elif "original_base64" in d and isinstance(d["original_base64"], str):
        o = base64.b64decode(d["original_base64"])
    else:
        errs.append("neither original nor original_base64: %r" % d); continue
    origs.append(o)
    at = stored.get((d["partition"], d["offset"]), "nothing")
    if at is None:
        at = b""
    if at != o:
        errs.append("%d/%d holds %r, dlq original %r" % (d["partition"], d["offset"], at[:40] if at != "nothing" else at, o[:40]))
ok("each dlq record has error, topic, partition, offset and original/original_base64 "
   "equal to the bytes stored at that partition/offset", not errs and dlq, "; ".join(errs[:5]))
have = collections.Counter(origs)
missing = [n for n, p in bad if not have[p]]
ok("every bad input is in the dlq (by bytes)", not missing, "missing: %s" % missing)
for n, p in bad:
    for d in dlq:
        o = d.get("original", "").encode() if "original" in d else base64.b64decode(d.get("original_base64", ""))
        if o == p:
            print("dlq %-36s -> %s" % (n, d.get("error")))
            break

try:
    s = json.load(open(work + "/summary.json"))
except ValueError as e:
    s = {}
    ok("the last stdout line is a JSON summary", False, str(e))
ok("summary dlq == %d" % len(bad), s.get("dlq") == len(bad), "dlq %r" % s.get("dlq"))
ok("summary input.transactions == %d" % (len(good) + len(bad)),
   s.get("input", {}).get("transactions") == len(good) + len(bad), str(s.get("input")))
ok("summary output.processed_transactions == %d" % len(want),
   s.get("output", {}).get("processed_transactions") == len(want), str(s.get("output")))
EOF
tap_from "$WORK/checks.txt"

finish
