#!/usr/bin/env python3
"""python_baseline.py BROKER COUNT [SUFFIX] — the obvious Python loop a user would
write for the transaction pipeline (confluent-kafka): read COUNT records of
`transactions` from the start, json.loads, the amount filter, the category
discount, per-user running totals, json.dumps to processed_transactions and
user_aggregations (with SUFFIX appended).  Prints "python: N records in S s (R/s)",
first input to last delivered output.  The peer that `make bench` measures
streamlab's engine against, on the same broker and backlog."""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, Producer

broker, count = sys.argv[1], int(sys.argv[2])
suffix = sys.argv[3] if len(sys.argv) > 3 else "_py"
DISCOUNT = {"electronics": 0.95, "books": 0.90, "clothing": 0.92}
consumer = Consumer({"bootstrap.servers": broker, "group.id": f"bench-py-{uuid.uuid4()}",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.subscribe(["transactions"])
producer = Producer({"bootstrap.servers": broker, "linger.ms": 5})
totals = {}
seen, start = 0, None


def send(topic, value, key):
    while True:
        try:
            producer.produce(topic, value, key=key)
            return
        except BufferError:  # the local queue is full: let deliveries make room
            producer.poll(0.1)



while seen < count:
    for msg in consumer.consume(num_messages=1000, timeout=1.0):
        if msg.error():
            continue
        start = start or time.monotonic()
        seen += 1
        txn = json.loads(msg.value())
        if txn["amount"] <= 100:
            continue
        f = DISCOUNT.get(txn["category"], 1.0)
        txn["original_amount"] = txn["amount"]
        txn["discount_applied"] = f
        txn["final_amount"] = round(txn["amount"] * f, 2)
        user = txn["user_id"]
        spent, n = totals.get(user, (0.0, 0))
        totals[user] = (spent + txn["final_amount"], n + 1)
        send("processed_transactions" + suffix, json.dumps(txn), user)
        send("user_aggregations" + suffix,
             json.dumps({"user_id": user, "total_spent": round(totals[user][0], 2),
                         "transaction_count": totals[user][1]}), user)
        producer.poll(0)
producer.flush()
elapsed = time.monotonic() - start
print(f"python: {seen} records in {elapsed:.2f} s ({seen / elapsed:.0f}/s)")
consumer.close()
