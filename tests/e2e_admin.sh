#!/usr/bin/env bash
# e2e_admin.sh KIND — `streamlab topics` and `streamlab groups` against what kcat put there.
#
# Both kinds:
#   - kcat produces known numbers of seed transactions to each partition of `transactions`
#     (-p 0/1/2: 37, 12, 25) and of records to `video_frames` (2, 0, 3);
#     `streamlab engine --count 74 --group G` processes them (and, on Kafka, creates the
#     seed topics);
#   - `topics` (table) and `topics --json` list every seed topic of engine/kafka/topics.c with 3
#     partitions (0, 1, 2); the END offsets of transactions and video_frames are the counts
#     produced, LOG-START 0; processed_transactions holds the summary's output count;
#   - `groups --describe G --json` (and the table): committed offsets per partition of
#     transactions = the end offsets = the counts, lag 0; kcat produces 4, 0 and 9 more and
#     the lag is then exactly 4, 0, 9 (total 13).
# Kafka only: `topics --create NAME --partitions 5` (then the listing shows 5 partitions
#   with offsets 0, `--describe NAME` shows configs such as cleanup.policy=delete, creating
#   it again fails: "already exists"); `groups` (and --json) lists G.
# Embedded only: `topics --create` fails (non-zero) naming `streamlab broker --topic
#   NAME:N`; `groups` (the list) fails (non-zero) saying ListGroups is missing and pointing
#   at --describe; a broker started with `streamlab broker --topic demo:5` shows demo with
#   5 partitions next to the seed topics.
# Both kinds: topics, topics --create, groups, groups --describe pointed at a port where
#   nothing listens (--timeout 2) say "cannot reach" and exit 2 (produce, engine and
#   consume are checked so in e2e_cli.sh).
# run.sh: limit=240 min.embedded=50 min.kafka=58
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

S=$STREAMLAB
GROUP=$(group_name admin)
SEED_TOPICS=$(sed -n '/topics_seed\[\] = {/,/NULL/p' engine/kafka/topics.c | grep -o '"[^"]*"' | tr -d '"' | tr '\n' ' ')
NSEED=$(wc -w <<<"$SEED_TOPICS")
echo "# seed topics (engine/kafka/topics.c): $NSEED: $SEED_TOPICS"
[ "$NSEED" = 19 ] || fail "engine/kafka/topics.c names 19 seed topics" "found $NSEED: $SEED_TOPICS"

# run NAME CMD...: stdout/stderr to $WORK/NAME.out/.err, at most 60 s; sets RC.
run() {
    local name=$1
    shift
    RC=0
    timeout 60 "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || RC=$?
}
# py_checks NAME ARGS... <<'EOF' (Python that prints ok/not ok lines): runs it, turns its
# lines into pass/fail.
py_checks() {
    local name=$1
    shift
    $PY - "$@" >"$WORK/$name.checks" 2>&1 || echo "not ok - the Python checker $name ran: it crashed" >>"$WORK/$name.checks"
    tap_from "$WORK/$name.checks"
}

# --- known counts on known partitions --------------------------------------------------
# gen FILE PREFIX N: N seed transactions as key<TAB>value lines.
gen() {
    $PY - "$@" <<'EOF'
import json, sys
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w") as f:
    for i in range(n):
        u = "user_%d" % (i % 7 + 1)
        rec = {"transaction_id": "txn_%s_%d" % (prefix, i), "user_id": u, "product": "lamp",
               "category": "home", "amount": 150.0 + i, "quantity": 1, "payment_method": "paypal",
               "timestamp": "2024-01-15T10:30:%02d.000000" % (i % 60), "location": "city_1"}
        f.write(u + "\t" + json.dumps(rec) + "\n")
EOF
}
# kcat_to TOPIC PARTITION FILE: produce the key<TAB>value lines of FILE to one partition.
kcat_to() {
    timeout 60 kcat -b "$BROKER" -P -t "$1" -p "$2" -K $'\t' -X acks=all <"$3" 2>>"$WORK/kcat.err"
}

COUNTS=(37 12 25)
VCOUNTS=(2 0 3)
MORE=(4 0 9)
TOTAL=$((COUNTS[0] + COUNTS[1] + COUNTS[2]))
ok=1
for p in 0 1 2; do
    gen "$WORK/in$p.tsv" "adm$p" "${COUNTS[$p]}"
    kcat_to transactions "$p" "$WORK/in$p.tsv" || ok=0
    if [ "${VCOUNTS[$p]}" -gt 0 ]; then
        for i in $(seq 1 "${VCOUNTS[$p]}"); do printf 'cam_%d\t{"frame_id":"f%d_%d"}\n' "$p" "$p" "$i"; done \
            >"$WORK/v$p.tsv"
        kcat_to video_frames "$p" "$WORK/v$p.tsv" || ok=0
    fi
done
if [ "$ok" = 1 ]; then
    pass "kcat produces ${COUNTS[*]} records to transactions [0 1 2] and ${VCOUNTS[*]} to video_frames"
else
    fail "kcat produces ${COUNTS[*]} records to transactions [0 1 2] and ${VCOUNTS[*]} to video_frames" \
        "$(tail -3 "$WORK/kcat.err")"
fi

RC=0
timeout 180 "$S" engine -b "$BROKER" --count "$TOTAL" --group "$GROUP" --json \
    >"$WORK/engine.out" 2>"$WORK/engine.err" </dev/null || RC=$?
expect_eq "engine --count $TOTAL --group G exits 0" 0 "$RC"
[ "$RC" = 0 ] || sed 's/^/# engine: /' "$WORK/engine.err" | tail -10
tail -n1 "$WORK/engine.out" >"$WORK/summary.json"

# --- topics -------------------------------------------------------------------------------
run topics "$S" topics -b "$BROKER"
expect_eq "topics exits 0" 0 "$RC"
run topics-json "$S" topics -b "$BROKER" --json
expect_eq "topics --json exits 0" 0 "$RC"

py_checks topics "$WORK" "$SEED_TOPICS" "${COUNTS[*]}" "${VCOUNTS[*]}" <<'EOF'
import json, sys
work, seed, counts, vcounts = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4].split()
counts, vcounts = [int(c) for c in counts], [int(c) for c in vcounts]
def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))

# The table: TOPIC PARTITION LEADER LOG-START END
lines = open(work + "/topics.out").read().splitlines()
table = {}
head_ok = bool(lines) and lines[0].split() == ["TOPIC", "PARTITION", "LEADER", "LOG-START", "END"]
ok("topics prints a table headed TOPIC PARTITION LEADER LOG-START END", head_ok,
   repr(lines[:1]))
bad = []
for l in lines[1:]:
    f = l.split()
    if len(f) != 5:
        bad.append(l); continue
    try:
        table.setdefault(f[0], {})[int(f[1])] = (int(f[2]), int(f[3]), int(f[4]))
    except ValueError:
        bad.append(l)
ok("every table line is TOPIC and four integers", not bad, repr(bad[:3]))
try:
    js = json.load(open(work + "/topics-json.out"))
    ok("topics --json is a JSON array", isinstance(js, list), type(js).__name__)
except ValueError as e:
    js = []
    ok("topics --json is a JSON array", False, str(e))
jt = {}
for t in js if isinstance(js, list) else []:
    jt[t.get("topic")] = {p.get("partition"): (p.get("leader"), p.get("log_start"), p.get("end"))
                          for p in t.get("partitions", [])}

for label, got in (("topics", table), ("topics --json", jt)):
    missing = [t for t in seed if t not in got]
    ok("%s lists every seed topic (%d)" % (label, len(seed)), not missing, "missing %s" % missing)
    wrong = {t: sorted(got[t]) for t in seed if t in got and sorted(got[t]) != [0, 1, 2]}
    ok("%s: every seed topic has partitions 0, 1, 2" % label, not wrong, str(wrong))
    tr = got.get("transactions", {})
    want = {p: (0, c) for p, c in enumerate(counts)}
    have = {p: v[1:] for p, v in tr.items()}
    ok("%s: transactions LOG-START/END per partition = 0/%s (what kcat produced)" % (label, counts),
       have == want, "got %s" % have)
    vf = got.get("video_frames", {})
    want = {p: (0, c) for p, c in enumerate(vcounts)}
    have = {p: v[1:] for p, v in vf.items()}
    ok("%s: video_frames LOG-START/END per partition = 0/%s" % (label, vcounts), have == want,
       "got %s" % have)
    neg = {t: v for t, v in got.items() if any(x < 0 for pv in v.values() for x in pv[1:])}
    ok("%s: no partition shows a negative offset" % label, not neg, str(neg)[:300])
ok("topics and topics --json agree", table == jt,
   "only in the table: %s; only in --json: %s" % (sorted(set(table) - set(jt)), sorted(set(jt) - set(table))))
try:
    s = json.load(open(work + "/summary.json"))
    n = s["output"]["processed_transactions"]
    got = sum(v[2] for v in jt.get("processed_transactions", {}).values())
    # exactly-once: each committed transaction also leaves one commit marker per
    # partition it wrote, which takes an offset (a real Kafka writes them; the
    # embedded broker does not), so END is the records plus at most the markers
    txns = s.get("kafka_transactions_committed", 0)  # (was "transactions" before issue 19)
    ok("processed_transactions END offsets hold the engine's output count (%d) plus at most "
       "one commit marker per partition and transaction (%d transactions)" % (n, txns),
       n <= got <= n + 3 * txns, "sum of END %d" % got)
except (OSError, ValueError, KeyError, TypeError) as e:
    ok("processed_transactions END offsets add up to the engine's output count", False,
       "no engine summary: %s" % e)
EOF

# --- groups --describe: committed = end, lag 0; then lag = what kcat adds ----------------
# group_checks LABEL WANT_LAGS: checks groups --describe G (--json and the table).
group_checks() {
    local label=$1 lags=$2
    run gdesc-json "$S" groups -b "$BROKER" --describe "$GROUP" --json
    expect_eq "groups --describe G --json exits 0 ($label)" 0 "$RC"
    run gdesc "$S" groups -b "$BROKER" --describe "$GROUP"
    expect_eq "groups --describe G exits 0 ($label)" 0 "$RC"
    py_checks "group-$label" "$WORK" "$GROUP" "${COUNTS[*]}" "$lags" "$label" "$KIND" <<'EOF'
import json, re, sys
work, group, counts, lags, label, kind = sys.argv[1:7]
counts, lags = [int(c) for c in counts.split()], [int(c) for c in lags.split()]
def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))
try:
    g = json.load(open(work + "/gdesc-json.out"))
except ValueError as e:
    ok("groups --describe G --json is JSON (%s)" % label, False, str(e))
    sys.exit(0)
ok("groups --describe --json names the group (%s)" % label, g.get("group") == group, str(g.get("group")))
parts = {p.get("partition"): p for p in g.get("partitions", []) if p.get("topic") == "transactions"}
# the engine's group also reads its own repartition topic (category windows)
others = [p for p in g.get("partitions", []) if p.get("topic") != "transactions"
          and "-repartition-" not in p.get("topic", "")]
want = {p: {"committed": c, "end": c + l, "lag": l} for p, (c, l) in enumerate(zip(counts, lags))}
have = {p: {k: v.get(k) for k in ("committed", "end", "lag")} for p, v in parts.items()}
ok("groups --describe --json: transactions committed/end/lag per partition = %s (%s)" % (
   {p: (w["committed"], w["end"], w["lag"]) for p, w in want.items()}, label), have == want,
   "got %s" % {p: (h["committed"], h["end"], h["lag"]) for p, h in have.items()})
ok("groups --describe --json: only transactions has committed offsets (%s)" % label, not others,
   str(others)[:200])
# The repartition topic is written in transactions: its end counts a commit marker after the
# last record (Kafka's own kafka-consumer-groups shows that lag too), so the total is
# transactions' lag plus whatever lag the repartition partitions show.
rlag = sum(p.get("lag") or 0 for p in g.get("partitions", [])
           if "-repartition-" in p.get("topic", ""))
nrep = sum(1 for p in g.get("partitions", []) if "-repartition-" in p.get("topic", ""))
ok("groups --describe --json: the repartition topic's lag is at most its commit markers, one "
   "a partition (%d <= %d) (%s)" % (rlag, nrep, label), 0 <= rlag <= nrep, str(rlag))
ok("groups --describe --json: total lag = %d + the repartition topic's %d (%s)" % (sum(lags), rlag, label),
   g.get("lag") == sum(lags) + rlag, str(g.get("lag")))
if kind == "kafka":
    ok("groups --describe --json: state Empty, 0 members on Kafka (%s)" % label,
       g.get("state") == "Empty" and g.get("members") == 0, "state %r members %r" % (g.get("state"), g.get("members")))
else:
    ok("groups --describe --json: state and members null on the embedded broker (%s)" % label,
       "state" in g and g.get("state") is None and g.get("members") is None,
       "state %r members %r" % (g.get("state"), g.get("members")))
text = open(work + "/gdesc.out").read().splitlines()
m = re.match(r"^group (\S+): state (.*), members (\S+), total lag (\d+)$", text[0] if text else "")
ok("groups --describe G: first line 'group G: state S, members M, total lag L' with L = %d (%s)" % (sum(lags), label),
   bool(m) and m.group(1) == group and int(m.group(4)) == sum(lags) + rlag, repr(text[:1]))
rows = {}
for l in text[2:]:
    f = l.split()
    if len(f) == 5 and f[0] == "transactions":
        rows[int(f[1])] = tuple(int(x) for x in f[2:])
wrows = {p: (w["committed"], w["end"], w["lag"]) for p, w in want.items()}
ok("groups --describe G: table rows TOPIC PARTITION COMMITTED END LAG = the same (%s)" % label,
   rows == wrows, "got %s" % rows)
EOF
}
group_checks "after the engine" "0 0 0"

ok=1
for p in 0 1 2; do
    [ "${MORE[$p]}" -gt 0 ] || continue
    gen "$WORK/more$p.tsv" "more$p" "${MORE[$p]}"
    kcat_to transactions "$p" "$WORK/more$p.tsv" || ok=0
done
if [ "$ok" = 1 ]; then pass "kcat produces ${MORE[*]} more to transactions [0 1 2]"; else
    fail "kcat produces ${MORE[*]} more to transactions [0 1 2]" "$(tail -3 "$WORK/kcat.err")"; fi
group_checks "after ${MORE[*]} more" "${MORE[*]}"

# --- the Admin API paths ------------------------------------------------------------------
if [ "$KIND" = kafka ]; then
    NEW=e2e_admin_new_$$
    run create "$S" topics -b "$BROKER" --create "$NEW" --partitions 5
    expect_eq "topics --create $NEW --partitions 5 exits 0" 0 "$RC"
    check "topics --create says: created topic $NEW with 5 partitions" \
        grep -qx "created topic $NEW with 5 partitions" "$WORK/create.out"
    # Straight after the create: the partitions' offsets are known (0), not an error shown as -1.
    run describe-new "$S" topics -b "$BROKER" --describe "$NEW" --json
    expect_eq "topics --describe $NEW --json exits 0" 0 "$RC"
    run list-new "$S" topics -b "$BROKER" --json
    run describe-text "$S" topics -b "$BROKER" --describe "$NEW"
    expect_eq "topics --describe $NEW exits 0" 0 "$RC"
    run create-again "$S" topics -b "$BROKER" --create "$NEW" --partitions 5
    if [ "$RC" != 0 ] && grep -qi 'already exists' "$WORK/create-again.err"; then
        pass "topics --create of an existing topic exits non-zero: already exists"
    else
        fail "topics --create of an existing topic exits non-zero: already exists" \
            "exit $RC, stderr: $(head -c 200 "$WORK/create-again.err")"
    fi
    py_checks create "$WORK" "$NEW" <<'EOF'
import json, sys
work, new = sys.argv[1], sys.argv[2]
def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))
try:
    d = json.load(open(work + "/describe-new.out"))
except ValueError as e:
    d = {}
    ok("topics --describe --json is JSON", False, str(e))
parts = {p.get("partition"): (p.get("log_start"), p.get("end")) for p in d.get("partitions", [])}
ok("topics --describe %s (right after --create): partitions 0-4" % new, sorted(parts) == [0, 1, 2, 3, 4],
   str(sorted(parts)))
ok("topics --describe %s (right after --create): every partition LOG-START 0, END 0" % new,
   all(v == (0, 0) for v in parts.values()) and len(parts) == 5,
   "got (log_start, end) %s" % parts)
cfg = d.get("configs")
ok("topics --describe --json: configs include cleanup.policy = delete",
   isinstance(cfg, dict) and cfg.get("cleanup.policy") == "delete",
   "configs %s" % (str(cfg)[:200]))
try:
    lst = json.load(open(work + "/list-new.out"))
    t = [x for x in lst if x.get("topic") == new]
    ok("topics --json lists %s with 5 partitions" % new, len(t) == 1 and len(t[0]["partitions"]) == 5,
       str(t)[:200])
except (ValueError, AttributeError, KeyError) as e:
    ok("topics --json lists %s with 5 partitions" % new, False, str(e))
text = open(work + "/describe-text.out").read()
ok("topics --describe (text) shows a 'configs of %s:' section with cleanup.policy delete" % new,
   ("configs of %s:" % new) in text and any(l.split() == ["cleanup.policy", "delete"] for l in text.splitlines()),
   repr(text[-300:]))
EOF

    run glist "$S" groups -b "$BROKER"
    expect_eq "groups exits 0 on Kafka" 0 "$RC"
    check "groups lists G (a line holding exactly its name)" grep -qxF "$GROUP" "$WORK/glist.out"
    run glist-json "$S" groups -b "$BROKER" --json
    expect_eq "groups --json exits 0 on Kafka" 0 "$RC"
    check "groups --json is a JSON array holding G" \
        $PY -c 'import json, sys; g = json.load(open(sys.argv[1])); sys.exit(0 if isinstance(g, list) and sys.argv[2] in g else 1)' \
        "$WORK/glist-json.out" "$GROUP"
else
    run create "$S" topics -b "$BROKER" --create demo_new --partitions 5
    if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -qF 'streamlab broker --topic demo_new:5' "$WORK/create.err"; then
        pass "topics --create on the embedded broker exits non-zero naming \`streamlab broker --topic demo_new:5\`"
    else
        fail "topics --create on the embedded broker exits non-zero naming \`streamlab broker --topic demo_new:5\`" \
            "exit $RC, stderr: $(head -c 300 "$WORK/create.err")"
    fi
    run glist "$S" groups -b "$BROKER"
    if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -q 'ListGroups' "$WORK/glist.err" \
            && grep -q -- '--describe' "$WORK/glist.err"; then
        pass "groups on the embedded broker exits non-zero: no ListGroups, use --describe"
    else
        fail "groups on the embedded broker exits non-zero: no ListGroups, use --describe" \
            "exit $RC, stderr: $(head -c 300 "$WORK/glist.err")"
    fi
    if extra_broker --topic demo:5; then
        pass "streamlab broker --topic demo:5 starts ($EXTRA_BROKER)"
        run demo "$S" topics -b "$EXTRA_BROKER" --json
        expect_eq "topics --json on that broker exits 0" 0 "$RC"
        py_checks demo "$WORK" "$SEED_TOPICS" <<'EOF'
import json, sys
work, seed = sys.argv[1], sys.argv[2].split()
def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))
try:
    got = {t["topic"]: sorted(p["partition"] for p in t["partitions"]) for t in json.load(open(work + "/demo.out"))}
except (ValueError, KeyError, TypeError) as e:
    got = {}
    ok("topics --json is a list of topics", False, str(e))
ok("broker --topic demo:5: topics shows demo with partitions 0-4", got.get("demo") == [0, 1, 2, 3, 4],
   "demo: %s" % got.get("demo"))
ok("broker --topic demo:5: the seed topics are there too, with 3 partitions",
   all(got.get(t) == [0, 1, 2] for t in seed),
   str({t: got.get(t) for t in seed if got.get(t) != [0, 1, 2]}))
EOF
    else
        fail "streamlab broker --topic demo:5 starts"
    fi
fi


# --- an address where nothing listens (produce/engine/consume: e2e_cli.sh) ---------------
NOPORT=$(free_port)
for c in "topics" "topics --create x_unreachable" "groups" "groups --describe $GROUP --json"; do
    RC=0
    # shellcheck disable=SC2086
    timeout 15 "$S" $c -b "127.0.0.1:$NOPORT" --timeout 2 >"$WORK/unreach.out" 2>"$WORK/unreach.err" \
        </dev/null || RC=$?
    if [ "$RC" = 2 ] && grep -qi 'cannot reach' "$WORK/unreach.err" \
            && grep -q "127.0.0.1:$NOPORT" "$WORK/unreach.err"; then
        pass "${c/$GROUP/G} -b <nothing there> --timeout 2: \"cannot reach\" and exit 2"
    else
        fail "${c/$GROUP/G} -b <nothing there> --timeout 2: \"cannot reach\" and exit 2" \
            "exit $RC (124 = still running after 15 s), stderr: $(grep -v 'kafka FAIL\|kafka ERROR' "$WORK/unreach.err" | head -c 200)"
    fi
done

finish
