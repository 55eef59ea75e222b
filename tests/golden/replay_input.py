#!/usr/bin/env python3
"""replay_input.py OUT — the fixed input of the golden replay (tests/e2e_golden.sh).

20,000 transactions in the seed's shape, deterministic (seeded), with what the
pipelines must handle: records up to 8 s out of order (some late for their
30 s window with the 5 s bound), amounts below and above both thresholds,
numbers written as integers and reals, an unknown extra field on some records
(carried through), long and odd user_ids, and bad records (not JSON, JSON that
is not an object, a missing field, a wrong type) that go to the dead-letter topic."""
import datetime
import json
import random
import sys

random.seed(20261203)
t0 = datetime.datetime(2024, 1, 15, 10, 0, 0)
cats = ["electronics", "books", "clothing", "accessories", "home"]
products = ["laptop", "phone", "tablet", "headphones", "camera", "book", "shirt", "shoes"]
pays = ["credit_card", "debit_card", "paypal", "cash"]
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        ms = i * 50 - random.choice([0, 0, 0, 0, 0, 0, 0, 2000, 8000])
        ts = (t0 + datetime.timedelta(milliseconds=ms)).isoformat(timespec="microseconds")
        amount = random.choice([round(random.uniform(5, 1500), 2), random.randint(1, 2000)])
        rec = {"transaction_id": f"txn_{1705312800000 + i}_{i}",
               "user_id": random.choice([f"user_{random.randint(1, 500)}", "user_\t_tab",
                                         "u" * 300, "user_é"]),
               "product": random.choice(products), "category": random.choice(cats),
               "amount": amount, "quantity": random.randint(1, 5),
               "payment_method": random.choice(pays), "timestamp": ts,
               "location": f"city_{random.randint(1, 20)}"}
        if i % 97 == 0:
            rec["coupon"] = {"code": f"C{i}", "pct": 5}
        line = json.dumps(rec, separators=(",", ":"), ensure_ascii=False)
        if i % 1013 == 0:
            line = "not json at all"
        elif i % 1019 == 0:
            line = "[1,2,3]"
        elif i % 1021 == 0:
            del rec["amount"]
            line = json.dumps(rec, separators=(",", ":"))
        elif i % 1031 == 0:
            rec["amount"] = "lots"
            line = json.dumps(rec, separators=(",", ":"))
        f.write(line + "\n")
