#!/usr/bin/env bash
# e2e_flinkrest.sh KIND — `streamlab flink jobs`, `streamlab flink cancel` and the console's
# --flink against a real local Flink 2.2.1 session cluster (tests/flink/flink.sh run: a
# jobmanager, a taskmanager with 2 slots and the SQL Gateway; fetched once by
# `tests/flink/flink.sh fetch`, or give FLINK_HOME).
#
# A small streaming SQL job is sent through the SQL Gateway's REST API (Python, below):
# a datagen source at 50 rows/s with an event-time column and a 2 s watermark bound, a
# filter and 5 s tumbling windows per user into a blackhole sink, parallelism 2 — two
# vertices joined by a hash exchange. It needs no Kafka, so it runs the same for both
# KINDs. Then:
#   flink jobs lists it RUNNING with its two vertices (parallelism 2, the window vertex
#   reading from the source vertex); --json gives, within 60 s (Flink refreshes its
#   metrics every 10 s), records read by the source, a watermark and backpressure "ok";
#   flink jobs on a port where nothing listens exits 2 and says so;
#   the console (-b the KIND broker --flink REST) shows, on d, the Flink job under
#   streamlab's transaction pipeline: its name, RUNNING, the vertices as a tree with
#   their operator chains; with --flink on a dead port it says "unreachable", keeps
#   answering keys (d closes the dashboard) and q exits 0;
#   flink cancel refuses a malformed id (2) and an unknown one with Flink's message (1),
#   cancels the job and prints "<id> CANCELED" (0); flink jobs then says CANCELED, and
#   the console's dashboard, still open, shows it CANCELED.
# KIND=kafka also sends streamlab's own Flink SQL twin (`streamlab flink submit`) to the
# cluster, produces 2000 transactions to the real Kafka and checks that `flink jobs`
# shows the twin's source vertex reading them (records in >= 2000), then cancels it.
# (The embedded broker is librdkafka's mock cluster, which Flink's Java Kafka client does
# not get metadata from, so the twin runs against real Kafka only.)
# run.sh: runs=prefer-kafka limit=480 min.embedded=33 min.kafka=36
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

kind=${1:-}
e2e_init "$kind"
. tests/lib/console.sh
command -v tmux >/dev/null || { fail "tmux is installed"; finish; exit 1; }
command -v java >/dev/null || { fail "java is installed"; finish; exit 1; }

# --- the Flink cluster --------------------------------------------------------
# The Flink that tests/run.sh shares (E2E_FLINK), or one of this script's own.
if ! e2e_flink; then
    fail "the Flink cluster starts" "$FLINK_WHY"
    finish
    exit 1
fi
pass "the Flink cluster starts (REST $REST, gateway $GATEWAY)"

quiet() { "$@" >/dev/null 2>&1; }

# submit NAME SQLFILE: runs each statement (separated by ";\n") in a gateway session and
# prints the job id the INSERT started.
submit() {
    "$PY" - "$GATEWAY" "$1" "$2" <<'EOF'
import json, sys, time, urllib.request
gw, name, path = sys.argv[1], sys.argv[2], sys.argv[3]
def call(method, p, body=None):
    req = urllib.request.Request(gw + p, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}")
s = call("POST", "/v1/sessions", {"sessionName": name})["sessionHandle"]
stmts = [x.strip() for x in open(path).read().split(";\n") if x.strip()]
job = None
for st in stmts:
    op = call("POST", f"/v1/sessions/{s}/statements", {"statement": st})["operationHandle"]
    for _ in range(600):
        status = call("GET", f"/v1/sessions/{s}/operations/{op}/status")["status"]
        if status in ("FINISHED", "ERROR", "CANCELED", "CLOSED", "TIMEOUT"):
            break
        time.sleep(0.2)
    res = call("GET", f"/v1/sessions/{s}/operations/{op}/result/0")
    if status != "FINISHED" and status != "RUNNING":
        sys.exit(f"{st[:60]}...: {status} {res}")
    job = res.get("jobID") or job
call("DELETE", f"/v1/sessions/{s}")
if not job:
    sys.exit("no job id")
print(job)
EOF
}

cat >"$WORK/job.sql" <<'EOF'
SET 'pipeline.name' = 'flinkrest-e2e';
SET 'parallelism.default' = '2';
CREATE TABLE src (id BIGINT, user_id INT, amount DOUBLE, ts AS LOCALTIMESTAMP,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'datagen', 'rows-per-second' = '50', 'fields.user_id.min' = '1',
        'fields.user_id.max' = '20', 'fields.amount.min' = '-10', 'fields.amount.max' = '100');
CREATE TABLE out_win (window_start TIMESTAMP(3), window_end TIMESTAMP(3), user_id INT,
  total DOUBLE, cnt BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out_win SELECT window_start, window_end, user_id, SUM(amount), COUNT(*)
  FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '5' SECOND))
  WHERE amount > 0 GROUP BY window_start, window_end, user_id;
EOF
JOB=$(submit flinkrest-e2e "$WORK/job.sql" 2>"$WORK/submit.err")
if ! [[ $JOB =~ ^[0-9a-f]{32}$ ]]; then
    fail "a SQL job is submitted through the gateway" "$(tail -3 "$WORK/submit.err")"
    finish
    exit 1
fi
pass "a SQL job is submitted through the gateway ($JOB)"

# --- flink jobs ---------------------------------------------------------------
check "flink jobs --help exits 0" quiet "$STREAMLAB" flink jobs --help
out=$("$STREAMLAB" flink jobs --rest "$REST" 2>&1)
rc=$?
expect_eq "flink jobs exits 0" 0 "$rc"
if grep -q "^JOB $JOB  flinkrest-e2e  RUNNING" <<<"$out"; then
    pass "flink jobs lists the job RUNNING"
else
    fail "flink jobs lists the job RUNNING" "$(head -5 <<<"$out")"
fi

# The JSON, polled until Flink has metrics for both vertices (it refreshes every 10 s).
"$PY" - "$STREAMLAB" "$REST" "$JOB" >"$WORK/jobs.tap" <<'EOF'
import json, subprocess, sys, time
sl, rest, job = sys.argv[1:4]
end = time.time() + 60
while True:
    out = subprocess.run([sl, "flink", "jobs", "--rest", rest, "--json"], capture_output=True, text=True)
    d = json.loads(out.stdout)
    j = next((x for x in d["jobs"] if x["id"] == job), None)
    v = j["vertices"] if j else []
    ready = len(v) == 2 and (v[0]["records_in"] or 0) > 0 and v[1]["watermark"] is not None \
        and (v[1]["records_in"] or 0) > 0
    if ready or time.time() > end:
        break
    time.sleep(2)
def ok(name, cond, why=""):
    print(("ok - " if cond else "not ok - ") + name + ("" if cond else ": " + why))
ok("--json names the job, RUNNING", j is not None and j["state"] == "RUNNING" and j["name"] == "flinkrest-e2e", str(j)[:300])
ok("--json has two vertices, parallelism 2", len(v) == 2 and all(x["parallelism"] == 2 for x in v), str(v)[:300])
if len(v) == 2:
    ok("the source vertex comes first and the window vertex reads from it",
       v[0]["depth"] == 0 and v[0]["inputs"] == [] and v[1]["inputs"] == [v[0]["id"]] and v[1]["depth"] == 1,
       json.dumps(v)[:300])
    ok("the source vertex counts the records its source read", (v[0]["records_in"] or 0) > 0, json.dumps(v[0])[:300])
    ok("records flow into the window vertex", (v[1]["records_in"] or 0) > 0, json.dumps(v[1])[:300])
    wm = v[1]["watermark_ms"]
    ok("the window vertex has a watermark near now (event time = LOCALTIMESTAMP)",
       wm is not None and abs(wm - time.time() * 1000) < 120000, str(wm))
    ok("backpressure is sampled: ok", all(x["backpressure"] == "ok" for x in v), str([x["backpressure"] for x in v]))
    ok("rates are numbers", all(isinstance(x["records_in_per_s"], float) for x in v))
EOF
tap_from "$WORK/jobs.tap"

dead=$(free_port)
out=$("$STREAMLAB" flink jobs --rest "http://127.0.0.1:$dead" 2>&1)
rc=$?
expect_eq "flink jobs on a dead port exits 2" 2 "$rc"
if grep -q "no answer from Flink's REST API" <<<"$out"; then pass "and says there is no answer"; else fail "and says there is no answer" "$out"; fi

# --- the console --------------------------------------------------------------
console_start flink 150 50 -b "$BROKER" --flink "$REST"
FLINK_S=$S FLINK_PID=$CONSOLE_PID
expect "the console opens" 30 has "1 Transactions"
key d
expect "d shows the Flink section in the dashboard" 30 has "FLINK $REST"
expect "with the job RUNNING" 30 has "job flinkrest-e2e RUNNING"
expect "its source vertex and chain" 30 has_all "Source: src" "chain: Source: src[1] -> Calc[2]"
expect "and the window vertex under it" 30 has_re "└▶GlobalWindowAggregate"

console_start dead 150 50 -b "$BROKER" --flink "http://127.0.0.1:$dead"
expect "a console with a dead --flink opens" 30 has "1 Transactions"
key d
expect "its dashboard says Flink is unreachable" 30 has "FLINK http://127.0.0.1:$dead  unreachable, retrying"
key d
expect "d still closes the dashboard (no freeze)" 10 has_none "unreachable, retrying"
console_quit "the console with a dead --flink"

# --- flink cancel -------------------------------------------------------------
check "flink cancel --help exits 0" quiet "$STREAMLAB" flink cancel --help
out=$("$STREAMLAB" flink cancel --rest "$REST" nope 2>&1)
expect_eq "flink cancel of a malformed id exits 2" 2 "$?"
out=$("$STREAMLAB" flink cancel --rest "$REST" 00000000000000000000000000000000 2>&1)
expect_eq "flink cancel of an unknown job exits 1" 1 "$?"
if grep -q "Could not find Flink job (00000000000000000000000000000000)" <<<"$out"; then
    pass "with Flink's message"
else
    fail "with Flink's message" "$out"
fi
out=$("$STREAMLAB" flink cancel --rest "$REST" "$JOB" 2>&1)
expect_eq "flink cancel exits 0" 0 "$?"
expect_eq "and prints the final state" "$JOB CANCELED" "$out"
out=$("$STREAMLAB" flink jobs --rest "$REST" 2>&1)
if grep -q "^JOB $JOB  flinkrest-e2e  CANCELED" <<<"$out"; then pass "flink jobs then says CANCELED"; else fail "flink jobs then says CANCELED" "$(head -3 <<<"$out")"; fi
S=$FLINK_S CONSOLE_PID=$FLINK_PID
expect "the open dashboard shows the job CANCELED" 30 has "job flinkrest-e2e CANCELED"
console_quit "the console with --flink"

# --- KIND=kafka: streamlab's own twin reading real Kafka -----------------------
if [ "$kind" = kafka ]; then
    TWIN=$("$STREAMLAB" flink submit --gateway "$GATEWAY" -b "$BROKER" --job-name flinkrest-twin \
        --group "$(group_name twin)" 2>"$WORK/twin.err" | tail -1)
    if [[ $TWIN =~ ^[0-9a-f]{32}$ ]]; then
        pass "streamlab flink submit starts the twin ($TWIN)"
        "$STREAMLAB" produce transactions -b "$BROKER" --rate 0 --count 2000 >"$WORK/produce.out" 2>&1
        n=0
        for _ in $(seq 1 40); do
            n=$("$STREAMLAB" flink jobs --rest "$REST" --json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
j = [x for x in d["jobs"] if x["id"] == sys.argv[1]]
print(j[0]["vertices"][0]["records_in"] or 0 if j and j[0]["vertices"] else 0)' "$TWIN")
            [ "$n" -ge 2000 ] && break
            sleep 2
        done
        if [ "$n" -ge 2000 ]; then pass "flink jobs shows the twin's source reading the 2000 transactions"
        else fail "flink jobs shows the twin's source reading the 2000 transactions" "records in: $n"; fi
        out=$("$STREAMLAB" flink cancel --rest "$REST" "$TWIN" 2>&1)
        expect_eq "flink cancel cancels the twin" "$TWIN CANCELED" "$out"
    else
        fail "streamlab flink submit starts the twin" "$(tail -3 "$WORK/twin.err")"
    fi
fi

finish
