#!/usr/bin/env python3
"""python_replay.py IN OUTDIR — the transaction pipeline's logic as a plain
single-threaded Python script over a file (no Kafka): json.loads, the amount
filter, the discount, per-user totals, json.dumps of processed transactions,
high-value ones and user totals to three files.  Prints "python-replay: N
records in S s (R/s)".  The peer of `streamlab engine --replay` in make bench."""
import json
import os
import sys
import time

DISCOUNT = {"electronics": 0.95, "books": 0.90, "clothing": 0.92}
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
totals = {}
start = time.monotonic()
n = 0
with open(src) as f, open(f"{out}/processed.jsonl", "w") as p, \
        open(f"{out}/high.jsonl", "w") as h, open(f"{out}/users.jsonl", "w") as u:
    for line in f:
        n += 1
        txn = json.loads(line)
        if txn["amount"] <= 100:
            continue
        fct = DISCOUNT.get(txn["category"], 1.0)
        txn["original_amount"] = txn["amount"]
        txn["discount_applied"] = fct
        txn["final_amount"] = round(txn["amount"] * fct, 2)
        line = json.dumps(txn)
        p.write(line + "\n")
        if txn["amount"] > 500:
            h.write(line + "\n")
        spent, c = totals.get(txn["user_id"], (0.0, 0))
        totals[txn["user_id"]] = (spent + txn["final_amount"], c + 1)
        u.write(json.dumps({"user_id": txn["user_id"], "total_spent": round(spent, 2),
                            "transaction_count": c + 1}) + "\n")
elapsed = time.monotonic() - start
print(f"python-replay: {n} records in {elapsed:.2f} s ({n / elapsed:.0f}/s)")
