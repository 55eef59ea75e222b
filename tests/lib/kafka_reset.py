#!/usr/bin/python3
"""kafka_reset.py HOST:PORT — make the shared Kafka of tests/run.sh look fresh again.

run.sh runs it before the first script of the kafka half and after each one that used
the shared broker.  A fresh tests/kafka/kafka.sh broker holds no topic but the internal
ones (auto-create makes topics with 3 partitions on first use, as before), so the reset
deletes every topic whose name does not start with "__" and waits until the metadata no
longer lists them and a new topic of the same name could be made.  Deleting a topic also
deletes the consumer groups' committed offsets on it (the group coordinator drops the
offsets of deleted partitions), so a script that reuses a fixed group name starts from
nothing, as on a new broker.  Then the empty groups are deleted where the client can
(kafka-python's DeleteGroups; a group whose members died without leaving is deleted once
their session has expired, 60 s at most; one still kept then is named, not an error).

Prints what it deleted; exits 1 (with why) when a topic is still there after 90 s.
"""
import sys
import time

from confluent_kafka.admin import AdminClient

addr = sys.argv[1]
a = AdminClient({"bootstrap.servers": addr})
deadline = time.time() + 90


def user_topics():
    md = a.list_topics(timeout=15)
    return sorted(t for t in md.topics if not t.startswith("__"))


topics = user_topics()
if topics:
    for name, f in a.delete_topics(topics, operation_timeout=30).items():
        try:
            f.result()
        except Exception as e:  # already gone is fine; anything else shows below
            if "UNKNOWN_TOPIC" not in str(e):
                print("# delete %s: %s" % (name, e))
left = topics
while left and time.time() < deadline:
    time.sleep(0.3)
    left = user_topics()
if left:
    print("topics still there after 90 s: %s" % " ".join(left))
    sys.exit(1)

groups_note = ""
try:
    from kafka.admin import KafkaAdminClient

    k = KafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=15000)
    deleted, kept = 0, []
    # A member that died without leaving (kill -9, or a console stopped by KILL) stays
    # until its session times out (45 s): wait for it, so that the next script's group
    # of the same name does not wait for it in its first rebalance.
    end = time.time() + 60
    while True:
        names = [g[0] for g in k.list_consumer_groups()]
        if not names:
            break
        res = k.delete_consumer_groups(names)
        deleted += sum(1 for g, err in res if err.__name__ == "NoError")
        kept = [g for g, err in res if err.__name__ != "NoError"]
        if not kept or time.time() > end:
            break
        time.sleep(1)
    groups_note = "; %d groups deleted%s" % (
        deleted, (", kept (members left after 60 s): " + " ".join(kept)) if kept else "")
    k.close()
except Exception as e:  # the groups have no offsets left either way
    groups_note = "; groups not deleted (%s)" % str(e)[:120]
print("deleted %d topics%s" % (len(topics), groups_note))
