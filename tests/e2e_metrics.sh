#!/usr/bin/env bash
# e2e_metrics.sh KIND — GET /metrics, scraped by a real Prometheus.
# run.sh: limit=300 min=33
#
# 1. 3000 transactions go into `transactions`; `engine --metrics 127.0.0.1:0` (a new
#    group) reads them and says where it serves.  Its exposition passes
#    `promtool check metrics`, names each metric docs/metrics.md describes (and the
#    page describes each one it has), and has the families the issue asks for.
# 2. Prometheus (Debian's, on a free loopback port, with a scrape config written
#    here into the scratch dir) scrapes it every second.  PromQL over its HTTP API:
#    the target is up; sum(streamlab_input_records_total) reaches 3000; the lag of the
#    group reaches 0; p99 latency from the histogram is a positive number of seconds;
#    the watermark of each input partition is a Unix time in seconds; checkpoints
#    were counted.
# 3. The engine is stopped: its --json summary's input count is what PromQL said.
# 4. `--headless --metrics 0` serves the same families (its producer's run), and a
#    port that is taken is refused with exit status 2.
# 5. docker-compose.yml's Prometheus: its scrape config (assets/prometheus.yml) is valid
#    and watches streamlab and Flink's reporters, which the Flink services enable.
# Every wait is bounded; Prometheus and the engines are stopped on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

N=3000
for tool in prometheus promtool curl; do
    if ! command -v "$tool" >/dev/null; then
        fail "$tool is installed" "not found (setup.sh test installs Debian's prometheus)"
        finish
        exit 1
    fi
done

# waits up to $1 seconds for FILE ($2) to name the metrics address; prints HOST:PORT
metrics_addr() {
    local addr=
    for _ in $(seq 1 $(($1 * 10))); do
        addr=$(sed -n 's|.*metrics on http://\([^/]*\)/metrics.*|\1|p' "$2" | head -1)
        [ -n "$addr" ] && break
        sleep 0.1
    done
    echo "$addr"
}

# --- 1. the engine's exposition ---------------------------------------------------------
[ "$KIND" = kafka ] && "$STREAMLAB" topics -b "$BROKER" --create transactions --partitions 3 \
    >/dev/null 2>&1
check "produce writes $N transactions" \
    timeout 120 "$STREAMLAB" produce transactions -b "$BROKER" --count "$N" --rate 0 --seed 20 \
    >"$WORK/produce.out" 2>&1
G=$(group_name metrics)
"$STREAMLAB" engine -b "$BROKER" --group "$G" --workers 2 --metrics 127.0.0.1:0 --json \
    >"$WORK/engine.out" 2>"$WORK/engine.err" &
EPID=$!
bg_track "$EPID"
ADDR=$(metrics_addr 30 "$WORK/engine.err")
if [ -z "$ADDR" ]; then
    fail "engine --metrics says where it serves" "$(tail -5 "$WORK/engine.err" | tr '\n' ' ')"
    finish
    exit 1
fi
pass "engine --metrics 127.0.0.1:0 serves on $ADDR"
check "GET /metrics answers 200" curl -sf --max-time 10 -o "$WORK/metrics.txt" "http://$ADDR/metrics"
ctype=$(curl -s --max-time 10 -o /dev/null -w '%{content_type}' "http://$ADDR/metrics")
expect_eq "its Content-Type is Prometheus's text format 0.0.4" \
    "text/plain; version=0.0.4; charset=utf-8" "$ctype"
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://$ADDR/nothing")
expect_eq "another path answers 404" 404 "$code"
if out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1); then
    pass "promtool check metrics passes on the exposition"
else
    fail "promtool check metrics passes on the exposition" "$(head -5 <<<"$out" | tr '\n' ' ')"
fi
families=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$WORK/metrics.txt" | sort)
missing=
for f in streamlab_input_records_total streamlab_operator_records_in_total \
    streamlab_operator_records_out_total streamlab_operator_records_late_total \
    streamlab_operator_records_dead_lettered_total streamlab_input_watermark_timestamp_seconds \
    streamlab_consumer_lag_records streamlab_event_to_sink_latency_seconds \
    streamlab_checkpoint_duration_seconds streamlab_broker_outages_total \
    streamlab_engine_restarts_total streamlab_records_lost_to_retention_total; do
    grep -qx "$f" <<<"$families" || missing+=" $f"
done
expect_eq "the exposition has every family the issue names" "" "$missing"
undocumented=
for f in $families; do grep -q "\`$f\`" docs/metrics.md || undocumented+=" $f"; done
expect_eq "docs/metrics.md describes every family the engine exposes" "" "$undocumented"
unknown=
for f in $(grep -o '`streamlab_[a-z_]*`' docs/metrics.md | tr -d '`' | sort -u); do
    grep -qx "$f" <<<"$families" || unknown+=" $f"
done
expect_eq "docs/metrics.md names no metric the engine does not have" "" "$unknown"
if grep -q '^streamlab_operator_records_in_total{group="'"$G"'",pipeline="transactions",operator="source:transactions"} ' \
    "$WORK/metrics.txt"; then
    pass "operators are labelled by group, pipeline and operator"
else
    fail "operators are labelled by group, pipeline and operator" \
        "$(grep -m2 '^streamlab_operator_records_in_total' "$WORK/metrics.txt")"
fi

# --- 2. Prometheus scrapes it -----------------------------------------------------------
P=$WORK/prometheus
mkdir -p "$P/data"
cat >"$P/prometheus.yml" <<EOF
# written by tests/e2e_metrics.sh
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: streamlab
    static_configs:
      - targets: ['$ADDR']
EOF
check "promtool check config passes on the test's scrape config" \
    promtool check config "$P/prometheus.yml" >"$P/check.out" 2>&1
PROM=
for _ in 1 2 3; do
    port=$(free_port) || break
    prometheus --config.file="$P/prometheus.yml" --storage.tsdb.path="$P/data" \
        --web.listen-address="127.0.0.1:$port" --log.level=warn >"$P/log" 2>&1 &
    PROM_PID=$!
    bg_track "$PROM_PID"
    for _ in $(seq 1 300); do # 30 s
        if curl -sf --max-time 2 "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
            PROM=127.0.0.1:$port
            break
        fi
        kill -0 "$PROM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$PROM" ] && break
done
if [ -z "$PROM" ]; then
    fail "Prometheus starts on a free loopback port" "$(tail -5 "$P/log" | tr '\n' ' ')"
    finish
    exit 1
fi
pass "Prometheus is ready on $PROM"

# promql QUERY: the first result's value ("" when there is none)
promql() {
    curl -s --max-time 5 --get --data-urlencode "query=$1" "http://$PROM/api/v1/query" |
        $PY -c 'import json, sys
r = json.load(sys.stdin).get("data", {}).get("result", [])
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
# wait_promql SECONDS QUERY PYTHON-CONDITION-ON-v: polls until it holds; prints the value
wait_promql() {
    local end=$((SECONDS + $1)) v=
    while :; do
        v=$(promql "$2")
        if [ -n "$v" ] && $PY -c "import sys; v = float(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$v"; then
            echo "$v"
            return 0
        fi
        [ "$SECONDS" -lt "$end" ] || { echo "${v:-none}"; return 1; }
        sleep 0.5
    done
}

sel="group=\"$G\""
if v=$(wait_promql 60 "up{job=\"streamlab\"}" "v == 1"); then
    pass "Prometheus scrapes the engine: up{job=\"streamlab\"} is 1"
else
    fail "Prometheus scrapes the engine: up{job=\"streamlab\"} is 1" "got $v; $(tail -3 "$P/log" | tr '\n' ' ')"
fi
q_input="sum(streamlab_input_records_total{$sel,topic=\"transactions\"})"
if IN=$(wait_promql 120 "$q_input" "v == $N"); then
    pass "PromQL $q_input reaches $N"
else
    fail "PromQL $q_input reaches $N" "got $IN"
fi
q_lag="sum(streamlab_consumer_lag_records{$sel,topic=\"transactions\"})"
if v=$(wait_promql 60 "$q_lag" "v == 0"); then
    pass "PromQL $q_lag comes down to 0 once the engine has committed"
else
    fail "PromQL $q_lag comes down to 0 once the engine has committed" "got $v"
fi
q_p99="histogram_quantile(0.99, sum by (le) (streamlab_event_to_sink_latency_seconds_bucket{$sel,topic=\"processed_transactions\"}))"
if v=$(wait_promql 30 "$q_p99" "0 < v < 3600"); then
    pass "PromQL p99 event-to-sink latency is $v s"
else
    fail "PromQL p99 event-to-sink latency is a positive number of seconds" "got $v"
fi
now=$(date +%s)
q_wm="min(streamlab_input_watermark_timestamp_seconds{$sel,topic=\"transactions\"})"
if v=$(wait_promql 30 "$q_wm" "$now - 86400 < v < $now + 60"); then
    pass "PromQL watermarks of the input partitions are Unix times in seconds ($v)"
else
    fail "PromQL watermarks of the input partitions are Unix times in seconds" "got $v (now $now)"
fi
v=$(promql "count(streamlab_input_watermark_timestamp_seconds{$sel,topic=\"transactions\"})")
expect_eq "a watermark for each of the 3 input partitions" 3 "$v"
if v=$(wait_promql 30 "streamlab_checkpoints_total{$sel}" "v >= 1"); then
    pass "PromQL checkpoints counted ($v)"
else
    fail "PromQL checkpoints counted" "got $v"
fi
v=$(promql "streamlab_checkpoint_duration_seconds_count{$sel} - streamlab_checkpoints_total{$sel}")
expect_eq "the checkpoint histogram counts every checkpoint" 0 "$v"

# --- 3. the engine's own summary --------------------------------------------------------
kill -TERM "$EPID" 2>/dev/null
for _ in $(seq 1 600); do kill -0 "$EPID" 2>/dev/null || break; sleep 0.1; done
wait "$EPID" 2>/dev/null
rc=$?
expect_eq "the engine exits 0 on SIGTERM" 0 "$rc"
SUM=$(tail -1 "$WORK/engine.out" | $PY -c 'import json, sys
print(json.load(sys.stdin)["input"].get("transactions", ""))' 2>/dev/null)
expect_eq "the --json summary's input count is what PromQL returned" "${IN%%.*}" "$SUM"

# --- 4. --headless, and a port in use ----------------------------------------------------
timeout 120 "$STREAMLAB" --headless -b "$BROKER" --duration 6 --rate 200 --metrics 0 \
    >"$WORK/headless.out" 2>"$WORK/headless.err" &
HPID=$!
bg_track "$HPID"
HADDR=$(metrics_addr 30 "$WORK/headless.err")
if [ -n "$HADDR" ] && [[ $HADDR == 127.0.0.1:* ]]; then
    pass "--headless --metrics 0 serves on loopback ($HADDR)"
else
    fail "--headless --metrics 0 serves on loopback" "address [$HADDR]"
fi
got=
for _ in $(seq 1 50); do # the engine reads its first records within a few seconds
    curl -sf --max-time 5 "http://$HADDR/metrics" >"$WORK/headless.txt" 2>/dev/null || true
    got=$(sed -n 's/^streamlab_input_records_total{group="streamlab-headless-[^"]*",topic="transactions"} \([0-9]*\)$/\1/p' \
        "$WORK/headless.txt")
    [ -n "$got" ] && [ "$got" -gt 0 ] && break
    sleep 0.2
done
if [ -n "$got" ] && [ "$got" -gt 0 ]; then
    pass "--headless exposes its engine's input count ($got)"
else
    fail "--headless exposes its engine's input count" "$(grep -m1 input_records "$WORK/headless.txt")"
fi
if out=$(promtool check metrics <"$WORK/headless.txt" 2>&1); then
    pass "promtool check metrics passes on --headless's exposition"
else
    fail "promtool check metrics passes on --headless's exposition" "$(head -3 <<<"$out" | tr '\n' ' ')"
fi
rc=0
timeout 60 "$STREAMLAB" engine -b "$BROKER" --group "$(group_name taken)" --duration 5 \
    --metrics "$HADDR" >"$WORK/taken.out" 2>"$WORK/taken.err" || rc=$?
expect_eq "engine --metrics on a port in use exits 2" 2 "$rc"
check "... and says it cannot listen there" grep -q "cannot listen on $HADDR" "$WORK/taken.err"
wait "$HPID" 2>/dev/null
rc=$?
expect_eq "--headless --metrics ends as usual (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || tail -n 5 "$WORK/headless.err" | sed 's/^/# headless: /'

# --- 5. docker-compose.yml's Prometheus ---------------------------------------------------
check "assets/prometheus.yml (docker-compose's Prometheus) passes promtool check config" \
    promtool check config assets/prometheus.yml >"$WORK/compose-check.out" 2>&1
check "docker-compose.yml's prometheus service mounts assets/prometheus.yml" \
    grep -q '\./assets/prometheus.yml:/etc/prometheus/prometheus.yml' docker-compose.yml
check "... which scrapes streamlab (--metrics 0.0.0.0:9464 on the host)" \
    grep -q "job_name: streamlab" assets/prometheus.yml
check "... and both Flink reporters" \
    grep -q "targets: \['flink-jobmanager:9249', 'flink-taskmanager:9249'\]" assets/prometheus.yml
n=$(grep -c 'metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory' \
    docker-compose.yml)
expect_eq "docker-compose.yml's jobmanager and taskmanager enable Flink's Prometheus reporter" 2 "$n"
finish
