#!/usr/bin/env bash
# e2e_flink.sh KIND — the differential test: streamlab's engine against its Flink SQL twin.
#
# KIND=kafka: a real Kafka (tests/kafka/kafka.sh) and a local Flink 2.2 session cluster
# (tests/flink/flink.sh: jobmanager, taskmanager with 2 slots, SQL Gateway).
#  1. N=3000 generated transactions over 3 partitions of `transactions`, with event-time
#     disorder within the 5 s bound, go through `streamlab engine --count N` and through
#     the twin (`streamlab flink submit --bounded --parallelism 2`). Both engines' output
#     topics are read back and compared record by record: processed ids and final_amount
#     to the cent (and the other fields), high-value ids, every user's final total and
#     count, and the set of (category, window_start, window_end, total, count).
#  2. Late records on a single partition (`transactions` recreated with 1 partition): a
#     stream in event-time order with records 40 s behind and records exactly on the edge
#     of a closed window (late) and 1 ms inside it (not late). streamlab must send exactly
#     the designed late records to late_transactions; Flink's window must drop the same
#     records: its windows equal the ones computed from the processed records minus the
#     late ones, and equal streamlab's.
#  3. `flink submit` fails with Flink's own message when Flink rejects a statement (an
#     unknown connector option), and with a clear one when the gateway is not there.
#
# KIND=embedded: Flink's Kafka client (kafka-clients inside flink-sql-connector-kafka
# 5.0.0-2.2) gets no metadata from librdkafka's mock cluster (its admin client
# re-bootstraps forever), so the differential part needs a real Kafka. The embedded kind
# checks what is meaningful without Flink: the twin's SQL against the engine's flags.
# run.sh: limit=600 min.embedded=22 min.kafka=43
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

KIND=${1:-}
if [ "$KIND" = embedded ]; then
    e2e_init embedded 0
    echo "# the differential test needs KIND=kafka: Flink's Kafka client gets no metadata from the embedded broker (librdkafka's mock cluster); here the twin's SQL is checked against the engine's flags"
    sql=$("$STREAMLAB" flink sql -b 10.0.0.1:9093 --filter-amount 120.5 --high-value 700 \
        --window 60 --out-of-orderness 2 --suffix _x --bounded --fraud-small 25 \
        --fraud-large 700.5 --fraud-within 30 2>&1)
    check "flink sql exits 0" test $? = 0
    for want in "'properties.bootstrap.servers' = '10.0.0.1:9093'" "WHERE amount > 120.5" \
                "WHERE amount > 700;" "INTERVAL '60' SECOND" "event_time - INTERVAL '2.001' SECOND" \
                "INSERT INTO processed_transactions_x" "INSERT INTO category_windows_x" \
                "'connector' = 'upsert-kafka'" "'scan.bounded.mode' = 'latest-offset'" \
                "EXECUTE STATEMENT SET" "INSERT INTO fraud_alerts_x" "MATCH_RECOGNIZE (" \
                "PATTERN (A B) WITHIN INTERVAL '30.001' SECOND" "A AS A.amount < 25" \
                "B AS B.amount > 700.5" "AFTER MATCH SKIP PAST LAST ROW"; do
        case $sql in *"$want"*) pass "flink sql with the engine's flags has: $want" ;;
            *) fail "flink sql with the engine's flags has: $want" ;; esac
    done
    rc=0; "$STREAMLAB" flink sql --pipelines bogus >/dev/null 2>"$WORK/err" || rc=$?
    expect_eq "flink sql --pipelines bogus exits 2" 2 "$rc"
    grep -q 'unknown pipeline "bogus"' "$WORK/err"
    check "... saying which pipeline is unknown" test $? = 0
    rc=0; "$STREAMLAB" flink sql --pipelines files >/dev/null 2>"$WORK/err" || rc=$?
    expect_eq "flink sql --pipelines files exits 2 (no twin)" 2 "$rc"
    for sub in sql submit; do
        rc=0; "$STREAMLAB" flink "$sub" --help >"$WORK/help" 2>&1 || rc=$?
        expect_eq "flink $sub --help exits 0" 0 "$rc"
        grep -q "^usage: streamlab flink $sub" "$WORK/help"
        check "flink $sub --help prints its usage" test $? = 0
    done
    rc=0; "$STREAMLAB" flink submit >/dev/null 2>"$WORK/err" || rc=$?
    expect_eq "flink submit without --gateway exits 2" 2 "$rc"
    v=$(tests/flink/flink.sh version)
    kc=$(sed -n 's:.*<flink\.kafka\.version>\(.*\)</flink\.kafka\.version>.*:\1:p' tests/flink/pom.xml)
    n=$(grep -c "image: flink:$v-java17" docker-compose.yml)
    expect_eq "docker-compose.yml runs the tests' Flink ($v) in its 3 Flink services" 3 "$n"
    grep -q "flink-sql-connector-kafka/$kc/" docker-compose.yml
    check "docker-compose.yml fetches the tests' Kafka SQL connector ($kc)" test $? = 0
    sql=$("$STREAMLAB" flink sql --pipelines transactions,video --min-width 320 2>&1)
    case $sql in *"WHERE frame_width >= 320 AND frame_height >= 480"*"INSERT INTO video_resolution_windows_flink"*)
        pass "flink sql --pipelines transactions,video has the video twin with --min-width" ;;
        *) fail "flink sql --pipelines transactions,video has the video twin with --min-width" ;; esac
    finish
    exit
fi

e2e_init "$KIND"
N=3000
FLINK_SH=tests/flink/flink.sh

# --- Flink ---------------------------------------------------------------------------
# The Flink that tests/run.sh shares (E2E_FLINK), or one of this script's own.
if ! e2e_flink; then
    fail "a local Flink starts (tests/lib/service.sh flink)" "$FLINK_WHY"
    finish
    exit 1
fi
pass "a local Flink $("$FLINK_SH" version) starts: REST $REST, SQL Gateway $GATEWAY"

# --- Flink's Prometheus reporter (docs/metrics.md) --------------------------------------
# flink.sh enables plugins/metrics-prometheus: the jobmanager and the taskmanager each
# serve /metrics; a Prometheus started here (free loopback port, config written here)
# scrapes both, as it would scrape streamlab's --metrics beside them.
mapfile -t PROM_TARGETS <"${FLINK_DATADIR:-$WORK/flink}/prometheus-targets" 2>/dev/null
expect_eq "flink.sh lists two Prometheus reporter targets" 2 "${#PROM_TARGETS[@]}"
role=jobmanager
for t in "${PROM_TARGETS[@]}"; do
    got=
    for _ in $(seq 1 60); do # the reporter serves once the JVM's metrics are registered
        curl -sf --max-time 5 "http://$t/metrics" >"$WORK/flink-$role.prom" 2>/dev/null &&
            got=$(grep -c "^flink_${role}_" "$WORK/flink-$role.prom") && [ "$got" -gt 0 ] && break
        sleep 0.5
    done
    if [ "${got:-0}" -gt 0 ]; then
        pass "Flink's $role serves Prometheus metrics on $t ($got flink_${role}_ series)"
    else
        fail "Flink's $role serves Prometheus metrics on $t" "$(head -c 200 "$WORK/flink-$role.prom" 2>/dev/null)"
    fi
    # (Flink's names break promtool's lint rules, e.g. counters without _total; the
    # text must still parse)
    if promtool check metrics <"$WORK/flink-$role.prom" 2>&1 | grep -qi 'parsing error'; then
        fail "Flink's $role exposition parses (promtool)"
    else
        pass "Flink's $role exposition parses (promtool)"
    fi
    role=taskmanager
done
mkdir -p "$WORK/prom/data"
printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: flink\n    static_configs:\n      - targets: [%s]\n' \
    "$(printf "'%s'," "${PROM_TARGETS[@]}" | sed 's/,$//')" >"$WORK/prom/prometheus.yml"
port=$(free_port) || port=0
prometheus --config.file="$WORK/prom/prometheus.yml" --storage.tsdb.path="$WORK/prom/data" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$WORK/prom/log" 2>&1 &
bg_track $!
up=
for _ in $(seq 1 120); do # 60 s: ready, then two scrapes of each target
    up=$(curl -s --max-time 2 --get --data-urlencode 'query=count(up{job="flink"} == 1)' \
        "http://127.0.0.1:$port/api/v1/query" 2>/dev/null |
        $PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null)
    [ "$up" = 2 ] && break
    sleep 0.5
done
expect_eq "a Prometheus scrapes both Flink reporters (count(up{job=\"flink\"} == 1))" 2 "$up"

# wait_job JOB: until the Flink job is FINISHED (prints its final state).
wait_job() {
    local state=
    for _ in $(seq 1 600); do
        state=$(curl -sf "$REST/jobs/$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null)
        case $state in FINISHED|FAILED|CANCELED) break ;; esac
        sleep 0.5
    done
    echo "$state"
    # Why, when it did not finish: Flink's root exception, as comments.
    [ "$state" = FINISHED ] || curl -sf "$REST/jobs/$1/exceptions" \
        | $PY -c 'import json,sys; print(json.load(sys.stdin).get("root-exception") or "")' \
        | grep -E "Exception|Caused by" | head -5 | sed 's/^/# flink: /' >&2
}

# --- 1. the same input through both engines -------------------------------------------
$PY - "$WORK" "$N" <<'EOF'
import datetime, json, random, sys
work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(20240116)
cats = {"electronics": ["laptop", "phone"], "books": ["book", "ebook"],
        "clothing": ["shirt", "jacket"], "home": ["lamp", "chair"]}
# ~4 minutes of event time from a start off the window grid, up to 4 s of disorder
# (inside the 5 s bound: nothing is late in either engine).
start = datetime.datetime(2024, 1, 15, 10, 29, 47, 250000)
forced = {0: "100.00", 1: "500.00", 2: "100.01", 3: "500.01", 4: "99.99", 5: "100.05",
          6: "101.10", 7: "19.99", 8: "100.005", 9: "333.335", 10: "333.335", 11: "100.005",
          12: "1000.015", 13: "123.455", 14: "100.001"}
# Half a cent: rounded half-up on the decimal value in both engines (no discount: "home").
forced_cat = {10: "home", 11: "home", 12: "home", 13: "electronics", 14: "home"}
# Card testing (fraud_alerts, the engine's pattern and the twin's MATCH_RECOGNIZE): users
# of their own with pairs (< 20 then > 800), pairs straddling the 60 s bound (59.999 s,
# exactly 60 s: in; 60.001 s: out), near misses (61 s; one in between) and restarts after
# a match; each record goes in where its event time falls among the others (not late).
scen, want_fraud = [], []
def sc(k, at, steps, alerts):
    ids = ["txn_fraud_%02d_%d" % (k, j) for j in range(len(steps))]
    for j, (amount, off) in enumerate(steps):
        scen.append((at + off, "fraud_%02d" % k, amount, ids[j]))
    want_fraud.extend(["fraud_%02d" % k, ids[a], ids[b]] for a, b in alerts)
sc(1, 20, [("5.50", 0), ("950.25", 1)], [(0, 1)])
sc(2, 30, [("19.99", 0), ("801.00", 59.999)], [(0, 1)])
sc(3, 31, [("3.00", 0), ("900.00", 60)], [(0, 1)])
sc(4, 32, [("3.00", 0), ("900.00", 60.001)], [])
sc(5, 33, [("3.00", 0), ("900.00", 61)], [])
sc(6, 40, [("3.00", 0), ("250.00", 1), ("900.00", 2)], [])
sc(7, 50, [("2.00", 0), ("4.00", 1), ("990.00", 2)], [(1, 2)])
sc(8, 60, [("2.00", 0), ("990.00", 1), ("995.00", 2)], [(0, 1)])
sc(9, 70, [("2.00", 0), ("990.00", 1), ("1.00", 2), ("880.00", 3)], [(0, 1), (2, 3)])
sc(10, 80, [("20.00", 0), ("900.00", 1)], [])
sc(11, 90, [("10.00", 0), ("800.00", 1)], [])
scen.sort()
json.dump(want_fraud, open(work + "/want_fraud.json", "w"))
def scenario_records(f, upto):
    while scen and scen[0][0] <= upto:
        at, user, amount, tid = scen.pop(0)
        ts = (start + datetime.timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        rec = {"transaction_id": tid, "user_id": user, "product": "book", "category": "books",
               "amount": "@A@", "quantity": 1, "payment_method": "paypal", "timestamp": ts,
               "location": "city_1"}
        f.write(user + "\t" + json.dumps(rec).replace('"@A@"', amount) + "\n")
with open(work + "/in.tsv", "w") as f:
    for i in range(n):
        scenario_records(f, i * 240.0 / n)
        cat = forced_cat.get(i) or rng.choice(sorted(cats))
        if i in forced:
            amount = forced[i]
        else:
            cents = rng.randint(1000, 150000)
            amount = "%d.%02d" % divmod(cents, 100)
        t = start + datetime.timedelta(seconds=i * 240.0 / n - rng.uniform(0, 4.0))
        ts = t.isoformat()
        if "." not in ts and i % 2:
            ts += ".000000"
        rec = {"transaction_id": "txn_flink_%d" % i, "user_id": "user_%d" % rng.randint(1, 80),
               "product": rng.choice(cats[cat]), "category": cat, "amount": "@A@",
               "quantity": rng.randint(1, 5), "payment_method": rng.choice(["credit_card", "paypal"]),
               "timestamp": ts, "location": "city_%d" % rng.randint(1, 50)}
        text = amount if i % 5 else repr(float(amount))
        f.write(rec["user_id"] + "\t" + json.dumps(rec).replace('"@A@"', text) + "\n")
EOF
N=$(wc -l <"$WORK/in.tsv") # with the card-testing scenarios
if timeout 120 kcat -b "$BROKER" -P -t transactions -K $'\t' -X acks=all <"$WORK/in.tsv" \
        2>"$WORK/kcat.err"; then
    pass "kcat produces $N transactions over 3 partitions"
else
    fail "kcat produces $N transactions over 3 partitions" "$(tail -3 "$WORK/kcat.err")"
fi

# create_topics SUFFIX PARTITIONS: the output topics, made before the jobs start (Flink's
# Kafka producers would otherwise race the broker's auto-creation).
create_topics() {
    $PY - "$BROKER" "$1" "$2" <<'PYEOF' >>"$WORK/topics.txt" 2>&1
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
names = [t + sys.argv[2] for t in ("processed_transactions", "high_value_transactions",
         "user_aggregations", "category_windows", "late_transactions", "fraud_alerts")]
for n, f in a.create_topics([NewTopic(n, int(sys.argv[3]), 1) for n in names]).items():
    try:
        f.result()
    except Exception as e:
        print(n, e)
PYEOF
}
create_topics "" 3
create_topics _flink 3
echo "# $((SECONDS)) s: input and topics ready"
# --local-windows: the twin runs at parallelism 1 and moves its watermark on every record;
# streamlab's windows in the engine's own process do the same. Through the repartition
# topic (the default of a scaled-out `streamlab engine`) the windows' watermark comes from
# markers every 100 ms, like Flink's periodic watermarks after a shuffle, so which records
# right at a window's edge are late would depend on timing, in both engines.
timeout 180 "$STREAMLAB" engine -b "$BROKER" --count "$N" --group "$(group_name flinkdiff)" --local-windows --json \
    >"$WORK/engine.out" 2>"$WORK/engine.err" &
ENGINE_PID=$!
rc=0
JOB=$(timeout 120 "$STREAMLAB" flink submit --gateway "$GATEWAY" -b "$BROKER" --bounded \
    --parallelism 2 --group "$(group_name twin)" 2>"$WORK/submit.err") || rc=$?
expect_eq "flink submit --bounded --parallelism 2 exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# submit: /' "$WORK/submit.err" | tail -5
check "flink submit prints a job id" grep -Eq '^[0-9a-f]{32}$' <<<"$JOB"
grep -q "flink submit: \[1/" "$WORK/submit.err"
check "flink submit reports progress on stderr" test $? = 0
rc=0
wait "$ENGINE_PID" || rc=$?
expect_eq "engine --count $N exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# engine: /' "$WORK/engine.err" | tail -5
expect_eq "the twin's Flink job finishes (bounded input)" FINISHED "$(wait_job "$JOB")"

echo "# $((SECONDS)) s: both engines done"
for t in processed_transactions high_value_transactions user_aggregations category_windows \
         late_transactions fraud_alerts; do
    kcat_dump "$t" "$WORK/s_$t.jsonl"
    kcat_dump "${t}_flink" "$WORK/f_$t.jsonl"
done

# compare.py WORK SPREFIX FPREFIX [LATE_IDS_FILE]: the record-by-record comparison.
cat >"$WORK/compare.py" <<'EOF'
import collections, json, sys
from decimal import Decimal, ROUND_HALF_UP
work, sp, fp = sys.argv[1], sys.argv[2], sys.argv[3]
late_file = sys.argv[4] if len(sys.argv) > 4 else None
tag = "" if not late_file else " (late data)"

def ok(name, cond, why=""):
    print(("ok - %s%s" % (name, tag)) if cond else ("not ok - %s%s: %s" % (name, tag, why)))

def load(prefix, topic):
    out = []
    try:
        for line in open("%s/%s%s.jsonl" % (work, prefix, topic)):
            if line.strip():
                env = json.loads(line)
                out.append((env.get("key"), json.loads(env["payload"]) if env.get("payload") else None))
    except OSError:
        pass
    return out

def cents(x):
    return int((Decimal(repr(float(x))) * 100).to_integral_value(rounding=ROUND_HALF_UP))

def by_id(recs):
    return {v["transaction_id"]: (k, v) for k, v in recs if v}

def diff(a, b):
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    return "streamlab only %s, flink only %s" % (only_a[:3], only_b[:3])

sp_, fp_ = by_id(load(sp, "processed_transactions")), by_id(load(fp, "processed_transactions"))
ok("processed_transactions: both engines wrote the same %d ids" % len(sp_),
   len(sp_) > 0 and set(sp_) == set(fp_), diff(sp_, fp_))
bad = [i for i in sp_ if i in fp_ and cents(sp_[i][1]["final_amount"]) != cents(fp_[i][1]["final_amount"])]
ok("processed_transactions: the same final_amount to the cent", not bad,
   ["%s: %s vs %s" % (i, sp_[i][1]["final_amount"], fp_[i][1]["final_amount"]) for i in bad[:3]])
fields = ["user_id", "product", "category", "quantity", "payment_method", "timestamp", "location"]
bad = [i for i in sp_ if i in fp_ and any(sp_[i][1][f] != fp_[i][1][f] for f in fields)]
ok("processed_transactions: the same input fields", not bad, bad[:3])
bad = [i for i in sp_ if i in fp_ and (cents(sp_[i][1]["amount"]) != cents(fp_[i][1]["amount"])
       or cents(sp_[i][1]["original_amount"]) != cents(fp_[i][1]["original_amount"])
       or sp_[i][1]["discount_applied"] != fp_[i][1]["discount_applied"])]
ok("processed_transactions: the same amount, original_amount, discount_applied", not bad, bad[:3])
bad = [i for i in sp_ if i in fp_ and sp_[i][0] != fp_[i][0]]
ok("processed_transactions: the same Kafka keys (user_id)", not bad, bad[:3])

sh, fh = by_id(load(sp, "high_value_transactions")), by_id(load(fp, "high_value_transactions"))
ok("high_value_transactions: the same %d ids" % len(sh), len(sh) > 0 and set(sh) == set(fh), diff(sh, fh))

def users(prefix):
    last = {}
    for k, v in load(prefix, "user_aggregations"):
        last[k] = v
    return {k: (cents(v["total_spent"]), v["transaction_count"]) for k, v in last.items() if v}
su, fu = users(sp), users(fp)
ok("user_aggregations: the same %d users" % len(su), len(su) > 0 and set(su) == set(fu), diff(su, fu))
bad = [u for u in su if u in fu and su[u] != fu[u]]
ok("user_aggregations: every user's final total and count are the same", not bad,
   ["%s: %s vs %s" % (u, su[u], fu[u]) for u in bad[:3]])

def windows(prefix):
    return collections.Counter((v["category"], v["window_start"], v["window_end"],
                                cents(v["total_amount"]), v["transaction_count"])
                               for k, v in load(prefix, "category_windows") if v)
sw, fw = windows(sp), windows(fp)
ok("category_windows: the same %d (category, window_start, window_end, total, count)" % len(sw),
   len(sw) > 0 and sw == fw, "streamlab only %s, flink only %s" % (list(sw - fw)[:2], list(fw - sw)[:2]))
ok("category_windows: no update records (allowed lateness 0)",
   not any(v.get("update") for k, v in load(sp, "category_windows") if v))

# What the windows should hold: every processed record but the late ones.
import datetime
EPOCH = datetime.datetime(1970, 1, 1)
def window_of(ts):
    t = datetime.datetime.fromisoformat(ts)
    ms = (t - EPOCH) // datetime.timedelta(milliseconds=1)
    s = EPOCH + datetime.timedelta(milliseconds=ms // 30000 * 30000)
    f = "%Y-%m-%dT%H:%M:%S.%f"
    return s.strftime(f), (s + datetime.timedelta(seconds=30)).strftime(f)
late = {v["transaction_id"] for k, v in load(sp, "late_transactions") if v}
acc = collections.defaultdict(lambda: [0, 0])
for i, (k, v) in sp_.items():
    if i not in late:
        a = acc[(v["category"],) + window_of(v["timestamp"])]
        a[0] += cents(v["final_amount"]); a[1] += 1
want = collections.Counter(key + tuple(a) for key, a in acc.items())
ok("category_windows (flink) hold exactly the processed records that streamlab did not send "
   "to late_transactions", fw == want, "flink only %s, expected only %s" % (list(fw - want)[:2], list(want - fw)[:2]))
if late_file:
    designed = set(json.load(open(late_file)))
    ok("late_transactions (streamlab): exactly the %d records designed late" % len(designed),
       late == designed, "unexpected %s, missing %s" % (sorted(late - designed)[:3], sorted(designed - late)[:3]))
    ok("every late record went through filter and map in both engines",
       late <= set(sp_) and late <= set(fp_))
else:
    ok("no record is late with disorder inside the bound", not late, sorted(late)[:3])
EOF
$PY "$WORK/compare.py" "$WORK" s_ f_ >"$WORK/checks1.txt" 2>&1 \
    || echo "not ok - the comparison ran: it crashed: $(tail -1 "$WORK/checks1.txt")" >>"$WORK/checks1.txt"
tap_from "$WORK/checks1.txt"

# fraud_alerts: the two engines' alerts as sets, and the designed scenarios exactly
$PY - "$WORK" <<'EOF' >"$WORK/checks_fraud.txt" 2>&1 || echo "not ok - the fraud comparison ran" >>"$WORK/checks_fraud.txt"
import json, sys
work = sys.argv[1]
def ok(name, cond, why=""):
    print(("ok - " + name) if cond else ("not ok - %s: %s" % (name, why)))
def alerts(prefix):
    out = set()
    for line in open("%s/%sfraud_alerts.jsonl" % (work, prefix)):
        if line.strip():
            env = json.loads(line)
            v = json.loads(env["payload"])
            out.add((env["key"], v["user_id"], v["pattern"], v["first_transaction_id"],
                     v["second_transaction_id"], round(v["first_amount"], 2),
                     round(v["second_amount"], 2), v["first_timestamp"], v["second_timestamp"]))
    return out
s, f = alerts("s_"), alerts("f_")
ok("fraud_alerts: both engines give the same %d alerts (as sets, every field but detected_at)"
   % len(s), len(s) > 0 and s == f,
   "streamlab only %s, flink only %s" % (sorted(s - f)[:3], sorted(f - s)[:3]))
want = {tuple(w) for w in json.load(open(work + "/want_fraud.json"))}
for name, got in (("streamlab", s), ("flink", f)):
    scen = {(a[1], a[3], a[4]) for a in got if a[1].startswith("fraud_")}
    ok("fraud_alerts (%s): exactly the %d designed pairs, none of the near misses or the pair "
       "1 ms past the bound" % (name, len(want)), scen == want,
       "missing %s, unexpected %s" % (sorted(want - scen), sorted(scen - want)))
print("# %d alerts of regular users (chance pairs) in both" % len([a for a in s if not a[1].startswith("fraud_")]))
EOF
tap_from "$WORK/checks_fraud.txt"

echo "# $((SECONDS)) s: compared"

# --- 2. late records on a single partition ---------------------------------------------
$PY - "$BROKER" <<'EOF' >"$WORK/recreate.txt" 2>&1
import sys, time
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
a.delete_topics(["transactions"])["transactions"].result()
for _ in range(100):
    if "transactions" not in a.list_topics(timeout=10).topics:
        break
    time.sleep(0.2)
for _ in range(50):
    try:
        a.create_topics([NewTopic("transactions", 1, 1)])["transactions"].result()
        break
    except Exception as e:  # the deletion may still be under way
        time.sleep(0.3)
for _ in range(100):
    t = a.list_topics(timeout=10).topics.get("transactions")
    if t is not None and not t.error and t.partitions:
        break
    time.sleep(0.2)
print(len(t.partitions) if t is not None else 0)
EOF
expect_eq "transactions is recreated with 1 partition" 1 "$(tail -1 "$WORK/recreate.txt")"

$PY - "$WORK" <<'EOF'
import datetime, json, random, sys
work = sys.argv[1]
rng = random.Random(7)
EPOCH = datetime.datetime(1970, 1, 1)
def iso(ms):
    return (EPOCH + datetime.timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")
t0 = (datetime.datetime(2024, 1, 15, 11, 0, 3) - EPOCH) // datetime.timedelta(milliseconds=1)
recs, late, n = [], [], [0]
def rec(ms, amount, kind):
    n[0] += 1
    i = "txn_%s_%d" % (kind, n[0])
    cat = rng.choice(["electronics", "books", "clothing", "home"])
    recs.append({"transaction_id": i, "user_id": "user_%d" % rng.randint(1, 20), "product": "p",
                 "category": cat, "amount": amount, "quantity": 1, "payment_method": "paypal",
                 "timestamp": iso(ms), "location": "city_1"})
    return i
mx, edges = 0, []
for k in range(600):                       # 150 s of event time, 4 records a second
    ms = t0 + k * 250 + rng.randint(0, 200)
    rec(ms, round(rng.uniform(101, 900), 2), "reg")
    mx = max(mx, ms)
    if k % 50 == 25:                       # 40 s behind: late (its window closed long ago)
        late.append(rec(mx - 40000, round(rng.uniform(101, 900), 2), "late"))
        rec(mx - 40000, 50.0, "late_filtered")    # filtered before the window: not late
    if k % 50 == 10:                       # 3 s behind: inside the bound, not late
        rec(mx - 3000, round(rng.uniform(101, 900), 2), "inbound")
    if mx % 30000 < 2000 and mx // 30000 not in edges and k > 40:
        # Just past a window boundary W: a record at W + 5 s makes the watermark W - 1 ms,
        # which closes the window ending at W, so a record at W - 1 ms is late (exactly on
        # the edge); a record at W + 4.999 s leaves the watermark at W - 2 ms, and the
        # window still takes a record at W - 1 ms. (Later records are past W: not late.)
        w = mx // 30000 * 30000
        edges.append(mx // 30000)
        if len(edges) % 2:
            rec(w + 5000, 222.22, "edge_push"); mx = max(mx, w + 5000)
            late.append(rec(w - 1, 333.33, "edge_late"))
        else:
            rec(w + 4999, 222.22, "edge_push"); mx = max(mx, w + 4999)
            rec(w - 1, 333.33, "edge_ok")
with open(work + "/late_in.tsv", "w") as f:
    for r in recs:
        f.write(r["user_id"] + "\t" + json.dumps(r) + "\n")
json.dump(late, open(work + "/late_ids.json", "w"))
print(len(recs))
EOF
M=$(wc -l <"$WORK/late_in.tsv")
timeout 60 kcat -b "$BROKER" -P -t transactions -p 0 -K $'\t' -X acks=all <"$WORK/late_in.tsv" \
    2>"$WORK/kcat2.err"
check "kcat produces $M in-order transactions with late ones to partition 0" test $? = 0

create_topics _late 3
create_topics _flink_late 3
echo "# $((SECONDS)) s: late-data input ready"
timeout 180 "$STREAMLAB" engine -b "$BROKER" --count "$M" --group "$(group_name flinklate)" \
    --suffix _late --local-windows --json >"$WORK/engine2.out" 2>"$WORK/engine2.err" &
ENGINE_PID=$!
rc=0
JOB2=$(timeout 120 "$STREAMLAB" flink submit --gateway "$GATEWAY" -b "$BROKER" --bounded \
    --parallelism 1 --suffix _flink_late --group "$(group_name twinlate)" 2>"$WORK/submit2.err") || rc=$?
expect_eq "flink submit --suffix _flink_late exits 0" 0 "$rc"
rc=0
wait "$ENGINE_PID" || rc=$?
expect_eq "engine --count $M --suffix _late exits 0" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# engine: /' "$WORK/engine2.err" | tail -5
expect_eq "the late-data twin job finishes" FINISHED "$(wait_job "$JOB2")"
for t in processed_transactions high_value_transactions user_aggregations category_windows \
         late_transactions; do
    kcat_dump "${t}_late" "$WORK/s2_$t.jsonl"
    kcat_dump "${t}_flink_late" "$WORK/f2_$t.jsonl"
done
$PY "$WORK/compare.py" "$WORK" s2_ f2_ "$WORK/late_ids.json" >"$WORK/checks2.txt" 2>&1 \
    || echo "not ok - the late-data comparison ran: it crashed: $(tail -1 "$WORK/checks2.txt")" >>"$WORK/checks2.txt"
tap_from "$WORK/checks2.txt"

# --- 3. rejected statements ------------------------------------------------------------
rc=0
timeout 60 "$STREAMLAB" flink submit --gateway "$GATEWAY" -b "$BROKER" --suffix _broken \
    --connector-option no.such.option=1 >"$WORK/broken.out" 2>"$WORK/broken.err" || rc=$?
expect_eq "flink submit with an unknown connector option exits 1" 1 "$rc"
grep -q "Unsupported options.*no.such.option" "$WORK/broken.err"
check "... with Flink's own message (Unsupported options ... no.such.option)" test $? = 0
grep -q "Unsupported options.*no.such.option" "$WORK/broken.err" || sed 's/^/# submit: /' "$WORK/broken.err" | tail -3
[ -s "$WORK/broken.out" ]
check "... and prints no job id" test $? != 0
rc=0
"$STREAMLAB" flink submit --gateway "$GATEWAY" --pipelines bogus >/dev/null 2>"$WORK/bogus.err" || rc=$?
expect_eq "flink submit --pipelines bogus exits 2 (before reaching Flink)" 2 "$rc"
rc=0
"$STREAMLAB" flink submit --gateway "http://127.0.0.1:$(free_port)" >/dev/null 2>"$WORK/nogw.err" || rc=$?
expect_eq "flink submit to a gateway that is not there exits 2" 2 "$rc"
grep -q "could not open a SQL Gateway session" "$WORK/nogw.err"
check "... saying it could not open a session" test $? = 0

finish
