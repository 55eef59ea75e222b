#!/usr/bin/env bash
# tests/kafka/check_clients.sh BROKER: do Debian's Kafka clients still work against the
# broker at BROKER (HOST:PORT)? These are the features streamlab and the Python project
# it replaces rely on, driven through librdkafka 2.0.2 (kcat, confluent-kafka 1.7.0) and
# kafka-python 2.0.2. Kafka 4 dropped old protocol versions, so a Kafka upgrade must
# pass this first. Each check prints PASS or FAIL; the script ends with
# "N passed, N failed" and exits non-zero when any check failed.
#
#   group        kcat -G balanced consumer group; offsets are committed and resumed
#   idempotence  kcat producer with enable.idempotence=true; every record lands once
#   compression  kcat producer with gzip, snappy, lz4 and zstd: the batches go out
#                compressed (librdkafka falls back to uncompressed, silently, when
#                the broker's ApiVersions hide Produce v0-v2; see KAFKA-18659)
#   transactions confluent_kafka transactional producer (init/begin/produce/commit and
#                an aborted one); a read_committed consumer sees only the committed
#   txn-offsets  consume-transform-produce: send_offsets_to_transaction commits the
#                group's offsets inside the transaction (exactly-once pipelines)
#   admin        confluent_kafka AdminClient: create_topics (3 partitions), list_topics,
#                list_groups, describe_configs
#   kafka-python kafka-python producer, consumer group with manual commit, resume
#
# Environment: PYTHON (default /usr/bin/python3, the one with Debian's client modules),
# CHECK_TIMEOUT seconds per check (90), CHECK_ONLY="group admin" to run some checks.
set -uo pipefail

BROKER=${1:-${BROKER:-}}
[ -n "$BROKER" ] || { echo "usage: $0 HOST:PORT" >&2; exit 2; }
PYTHON=${PYTHON:-/usr/bin/python3}
CHECK_TIMEOUT=${CHECK_TIMEOUT:-90}
RUN_ID=$(date +%s)-$$-$RANDOM
WORK=$(mktemp -d "${TMPDIR:-/tmp}/check_clients.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

passed=0 failed=0

# kcat_consume_group GROUP TOPIC: consume with a balanced consumer group until every
# assigned partition is at its end; prints key=value lines.
kcat_consume_group() {
    timeout 60 kcat -b "$BROKER" -G "$1" -X auto.offset.reset=earliest \
        -X enable.partition.eof=true -e -q -f '%k=%s\n' "$2"
}

check_group() {
    local t=chk-group-$RUN_ID g=chk-group-$RUN_ID n
    seq 1 30 | sed 's/.*/k&:v&/' | timeout 60 kcat -b "$BROKER" -P -K: -t "$t" || return 1
    n=$(kcat_consume_group "$g" "$t" | wc -l) || return 1
    [ "$n" = 30 ] || { echo "first group read got $n records, want 30"; return 1; }
    n=$(kcat_consume_group "$g" "$t" | wc -l) || return 1
    [ "$n" = 0 ] || { echo "group did not resume from its commits: re-read $n records"; return 1; }
    seq 31 40 | sed 's/.*/k&:v&/' | timeout 60 kcat -b "$BROKER" -P -K: -t "$t" || return 1
    n=$(kcat_consume_group "$g" "$t" | wc -l) || return 1
    [ "$n" = 10 ] || { echo "after 10 more records the group read $n, want 10"; return 1; }
    echo "30 read, 0 re-read after commit, 10 new read"
}

check_idempotence() {
    local t=chk-idem-$RUN_ID n
    seq 1 500 | sed 's/.*/k&:v&/' \
        | timeout 60 kcat -b "$BROKER" -P -K: -t "$t" -X enable.idempotence=true \
          -X acks=all -X linger.ms=5 2>"$WORK/idem.err" || { cat "$WORK/idem.err"; return 1; }
    # Retry warnings (e.g. "Coordinator load in progress: retrying") are fine;
    # a fatal idempotence error or a lost record is not.
    if grep -qE '\|FATAL\||Delivery failed|% ERROR' "$WORK/idem.err"; then cat "$WORK/idem.err"; return 1; fi
    n=$(timeout 60 kcat -b "$BROKER" -C -t "$t" -o beginning -e -q -f '%k\n' | sort -u | wc -l) || return 1
    [ "$n" = 500 ] || { echo "read back $n distinct records, want 500"; return 1; }
    echo "500 records produced idempotently, 500 distinct read back"
}

check_compression() {
    local t=chk-zip-$RUN_ID codec n total=0
    for codec in gzip snappy lz4 zstd; do
        # Highly compressible values. When version negotiation hides a codec from
        # librdkafka it logs "Broker does not support compression type X: not
        # compressing batch" and sends uncompressed (librdkafka#4956, KAFKA-18659).
        seq 1 200 | sed "s/.*/k&:$codec-&-$(printf 'x%.0s' $(seq 1 200))/" \
            | timeout 60 kcat -b "$BROKER" -P -K: -t "$t" -z "$codec" -d msg \
              2>"$WORK/zip-$codec.err" || { tail -n 5 "$WORK/zip-$codec.err"; return 1; }
        if grep -qiE 'not compressing|does not support compression|Delivery failed' "$WORK/zip-$codec.err"; then
            grep -iE 'not compressing|does not support compression|Delivery failed' "$WORK/zip-$codec.err" | head -n 3
            return 1
        fi
        # The msg debug log names the codec of each batch sent.
        grep -q "Produce MessageSet with .*, $codec)\$" "$WORK/zip-$codec.err" \
            || { echo "no $codec-compressed batch was sent"; grep 'Produce MessageSet' "$WORK/zip-$codec.err" | head -n 3; return 1; }
        total=$((total + 200))
    done
    n=$(timeout 60 kcat -b "$BROKER" -C -t "$t" -o beginning -e -q -f '%s\n' | wc -l) || return 1
    [ "$n" = "$total" ] || { echo "read back $n records, want $total"; return 1; }
    echo "gzip, snappy, lz4, zstd batches accepted compressed; $n records read back"
}

check_transactions() {
    "$PYTHON" - "$BROKER" "chk-txn-$RUN_ID" <<'EOF'
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
broker, topic = sys.argv[1], sys.argv[2]
p = Producer({'bootstrap.servers': broker, 'transactional.id': topic + '-tx'})
p.init_transactions(60)
p.begin_transaction()
for i in range(20):
    p.produce(topic, key=b'k%d' % i, value=b'committed-%d' % i)
p.commit_transaction(60)
p.begin_transaction()
for i in range(7):
    p.produce(topic, key=b'k%d' % i, value=b'aborted-%d' % i)
p.flush(30)
p.abort_transaction(60)
p.begin_transaction()
p.produce(topic, key=b'last', value=b'committed-last')
p.commit_transaction(60)

c = Consumer({'bootstrap.servers': broker, 'group.id': topic + '-rc',
              'isolation.level': 'read_committed', 'auto.offset.reset': 'earliest',
              'enable.partition.eof': True, 'enable.auto.commit': False})
parts = c.list_topics(topic, timeout=30).topics[topic].partitions
c.assign([TopicPartition(topic, q, 0) for q in parts])
eof, seen = set(), []
import time
deadline = time.time() + 60
while len(eof) < len(parts) and time.time() < deadline:
    m = c.poll(1.0)
    if m is None:
        continue
    if m.error():
        if m.error().code() == -191:      # _PARTITION_EOF
            eof.add(m.partition())
            continue
        raise SystemExit('consumer error: %s' % m.error())
    seen.append(m.value().decode())
c.close()
committed = sorted(v for v in seen if v.startswith('committed-'))
aborted = [v for v in seen if v.startswith('aborted-')]
if len(eof) < len(parts):
    raise SystemExit('read_committed consumer did not reach the end of %s' % topic)
if len(committed) != 21 or aborted:
    raise SystemExit('read_committed saw %d committed (want 21) and %d aborted (want 0)'
                     % (len(committed), len(aborted)))
print('3 transactions (2 committed, 1 aborted); read_committed saw 21 committed, 0 aborted')
EOF
}

check_txn_offsets() {
    "$PYTHON" - "$BROKER" "chk-eos-$RUN_ID" <<'EOF'
import sys, time
from confluent_kafka import Producer, Consumer, TopicPartition
broker, base = sys.argv[1], sys.argv[2]
src, dst, group = base + '-in', base + '-out', base + '-g'
p0 = Producer({'bootstrap.servers': broker, 'enable.idempotence': True})
for i in range(30):
    p0.produce(src, key=b'k%d' % i, value=b'%d' % i)
if p0.flush(60):
    raise SystemExit('input records not delivered')

c = Consumer({'bootstrap.servers': broker, 'group.id': group, 'auto.offset.reset': 'earliest',
              'enable.auto.commit': False, 'isolation.level': 'read_committed'})
c.subscribe([src])
p = Producer({'bootstrap.servers': broker, 'transactional.id': base + '-tx'})
p.init_transactions(60)
got, deadline = 0, time.time() + 60
while got < 30 and time.time() < deadline:
    msgs = c.consume(100, 1.0)
    msgs = [m for m in msgs if not m.error()]
    if not msgs:
        continue
    p.begin_transaction()
    for m in msgs:
        p.produce(dst, key=m.key(), value=b'x' + m.value())
    p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 60)
    p.commit_transaction(60)
    got += len(msgs)
assignment = c.assignment()
committed = c.committed(assignment, timeout=30)
c.close()
total = sum(tp.offset for tp in committed if tp.offset >= 0)
if got != 30 or total != 30:
    raise SystemExit('transformed %d records, group committed offsets sum %d (want 30, 30)'
                     % (got, total))
print('30 records transformed in transactions; group offsets committed through the transaction')
EOF
}

check_admin() {
    "$PYTHON" - "$BROKER" "chk-admin-$RUN_ID" <<'EOF'
import sys
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource
broker, topic = sys.argv[1], sys.argv[2]
a = AdminClient({'bootstrap.servers': broker})
for t, f in a.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)],
                            operation_timeout=30, request_timeout=30).items():
    f.result()
md = a.list_topics(topic, timeout=30)
n = len(md.topics[topic].partitions)
if n != 3 or md.topics[topic].error is not None:
    raise SystemExit('list_topics: %s has %d partitions (%s), want 3'
                     % (topic, n, md.topics[topic].error))
# A group to list: one consumer joins and commits.
group = topic + '-g'
c = Consumer({'bootstrap.servers': broker, 'group.id': group, 'auto.offset.reset': 'earliest'})
c.subscribe([topic])
import time
deadline = time.time() + 30
while not c.assignment() and time.time() < deadline:
    c.poll(0.5)
if not c.assignment():
    raise SystemExit('consumer in %s got no assignment' % group)
groups = [g.id for g in a.list_groups(timeout=30)]
c.close()
if group not in groups:
    raise SystemExit('list_groups: %s not among %s' % (group, groups))
res = ConfigResource('topic', topic)
cfg = a.describe_configs([res], request_timeout=30)[res].result()
if 'retention.ms' not in cfg or 'cleanup.policy' not in cfg:
    raise SystemExit('describe_configs: no retention.ms/cleanup.policy in %s' % sorted(cfg))
print('create_topics 3 partitions, list_topics, list_groups (%d groups), describe_configs '
      '(%d entries, cleanup.policy=%s)' % (len(groups), len(cfg), cfg['cleanup.policy'].value))
EOF
}

check_kafka_python() {
    "$PYTHON" - "$BROKER" "chk-kpy-$RUN_ID" <<'EOF'
import sys, json
from kafka import KafkaProducer, KafkaConsumer
broker, topic = sys.argv[1], sys.argv[2]
p = KafkaProducer(bootstrap_servers=broker, value_serializer=lambda v: json.dumps(v).encode(),
                  key_serializer=lambda k: k.encode(), acks='all')
for i in range(25):
    p.send(topic, key='u%d' % (i % 5), value={'n': i}).get(timeout=60)
p.flush()
p.close()

def read(group):
    c = KafkaConsumer(topic, bootstrap_servers=broker, group_id=group,
                      auto_offset_reset='earliest', enable_auto_commit=False,
                      consumer_timeout_ms=8000,
                      value_deserializer=lambda v: json.loads(v.decode()))
    got = [m.value['n'] for m in c]
    c.commit()
    c.close()
    return got

g = topic + '-g'
first, second = read(g), read(g)
if sorted(first) != list(range(25)) or second:
    raise SystemExit('kafka-python group read %d records then %d (want 25 then 0)'
                     % (len(first), len(second)))
print('25 JSON records produced, group read 25, resumed at 0 after commit')
EOF
}

run_check() {
    local name=$1 fn=$2 out rc
    case " ${CHECK_ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
    out=$(timeout "$CHECK_TIMEOUT" bash -c "$fn" 2>&1)
    rc=$?
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name: $(tail -n1 <<<"$out")"
    else
        failed=$((failed + 1))
        [ "$rc" = 124 ] && out="$out (timed out after ${CHECK_TIMEOUT}s)"
        echo "FAIL $name:"
        sed 's/^/    /' <<<"$out" | tail -n 15
    fi
}

export BROKER PYTHON WORK RUN_ID
export -f kcat_consume_group check_group check_idempotence check_compression check_transactions \
    check_txn_offsets check_admin check_kafka_python

if ! timeout 30 kcat -b "$BROKER" -L -m 10 >/dev/null 2>&1; then
    echo "FAIL metadata: no Kafka answers on $BROKER"
    echo "0 passed, 1 failed"
    exit 1
fi

run_check group check_group
run_check idempotence check_idempotence
run_check compression check_compression
run_check transactions check_transactions
run_check txn-offsets check_txn_offsets
run_check admin check_admin
run_check kafka-python check_kafka_python

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
