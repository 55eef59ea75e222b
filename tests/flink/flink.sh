#!/usr/bin/env bash
# tests/flink/flink.sh: a local Apache Flink session cluster without Docker, for the
# Flink SQL twin (`streamlab flink sql|submit`) and tests/e2e_flink.sh. Modelled on
# tests/kafka/kafka.sh.
#
# Where Flink comes from: flink-dist is not on Maven Central, but the PyPI wheel
# apache-flink-libraries==$FLINK_VERSION ships a release's lib/, opt/ and plugins/ (no
# bin/ scripts, no conf/). The SQL Gateway jar and the Kafka SQL connector come from
# Maven Central through tests/flink/pom.xml. The JVMs are started here directly with
# the entry points Flink's own scripts use, and their memory flags come from Flink's
# BashJavaUtils (shipped in the wheel's bin/), as flink-daemon.sh does.
#
#   flink.sh fetch           fetch Flink (pip download) and the two jars (Maven); once
#   flink.sh run [DATADIR]   run jobmanager + one taskmanager (2 slots) + SQL Gateway in
#                            the foreground; prints "REST GATEWAY" (two http:// URLs) on
#                            stdout once both answer; Ctrl-C / TERM stops all three.
#                            Flink's own Prometheus reporter (plugins/metrics-prometheus)
#                            serves GET /metrics from the jobmanager (port 9249) and the
#                            taskmanager (9250); DATADIR/prometheus-targets lists both
#   flink.sh version         print the Flink version
#
# Environment (all optional):
#   FLINK_HOME          where the distribution goes (<repo>/build/flink/<version>)
#   FLINK_DATA          data/log dir for `run` (a new mktemp dir, deleted on exit)
#   FLINK_REST_PORT     REST port (a free one); FLINK_GATEWAY_PORT likewise
#   FLINK_TM_MEMORY     taskmanager.memory.process.size (1600m)
#   FLINK_JM_MEMORY     jobmanager.memory.process.size (1024m)
#   FLINK_SLOTS         task slots of the taskmanager (2)
#   FLINK_CONF          extra config.yaml lines (newline-separated), last wins
#   FLINK_START_TIMEOUT seconds to wait for REST and gateway (120)
#   FLINK_PROM_PORT     the jobmanager's Prometheus reporter port (9249, or a free one
#                       when 9249 is taken); FLINK_PROM_TM_PORT the taskmanager's (9250)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
POM=$HERE/pom.xml
FLINK_VERSION=$(sed -n 's:.*<flink\.version>\(.*\)</flink\.version>.*:\1:p' "$POM" | head -n1)
KAFKA_CONNECTOR=$(sed -n 's:.*<flink\.kafka\.version>\(.*\)</flink\.kafka\.version>.*:\1:p' "$POM" | head -n1)
FLINK_HOME=${FLINK_HOME:-$ROOT/build/flink/$FLINK_VERSION}
PY=${PY:-/usr/bin/python3}

say() { printf 'flink.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
    cat <<EOF
usage: tests/flink/flink.sh fetch
       tests/flink/flink.sh run [DATADIR]
       tests/flink/flink.sh version
       tests/flink/flink.sh --help

A local Apache Flink $FLINK_VERSION session cluster (jobmanager, one taskmanager with
\${FLINK_SLOTS:-2} slots, SQL Gateway) with the Kafka SQL connector $KAFKA_CONNECTOR; no Docker.

  fetch    Download the Flink distribution (PyPI wheel apache-flink-libraries==$FLINK_VERSION,
           ~300 MB) and flink-sql-gateway + flink-sql-connector-kafka (Maven Central) into
           $FLINK_HOME. A quick no-op when they are there.
  run      Start the cluster in the foreground with its config, logs and temp files under
           DATADIR (default: a new temp dir, deleted on exit). Prints one line
           "http://127.0.0.1:REST http://127.0.0.1:GATEWAY" on stdout once the REST API
           and the SQL Gateway answer; Ctrl-C / SIGTERM stops all three JVMs.

           Flink's Prometheus reporter serves /metrics on 127.0.0.1:9249 (jobmanager)
           and :9250 (taskmanager), or free ports when those are taken; DATADIR/
           prometheus-targets lists them (docs/metrics.md).
  version  Print the Flink version.

Environment: FLINK_HOME FLINK_DATA FLINK_REST_PORT FLINK_GATEWAY_PORT FLINK_TM_MEMORY
             FLINK_JM_MEMORY FLINK_SLOTS FLINK_CONF FLINK_START_TIMEOUT FLINK_PROM_PORT
             FLINK_PROM_TM_PORT
EOF
}

# --- fetch ------------------------------------------------------------------

home_ready() { [ -f "$FLINK_HOME/.complete" ]; }

cmd_fetch() {
    if home_ready; then
        say "Flink $FLINK_VERSION present in $FLINK_HOME"
        return 0
    fi
    command -v java >/dev/null || die "java not found (apt-get install default-jre-headless)"
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    mkdir -p "$(dirname "$FLINK_HOME")"
    FETCH_TMP=$(mktemp -d "$FLINK_HOME.tmp.XXXXXX")
    local tmp=$FETCH_TMP
    trap 'rm -rf "$FETCH_TMP"' EXIT
    say "fetching apache-flink-libraries==$FLINK_VERSION from PyPI (about 310 MB, once) ..."
    "$PY" -m pip download --quiet --no-deps "apache-flink-libraries==$FLINK_VERSION" -d "$tmp/wheel" >&2 \
        || die "pip download apache-flink-libraries==$FLINK_VERSION failed"
    "$PY" - "$tmp/wheel" "$tmp/dist" <<'EOF' || die "could not unpack the wheel"
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/apache_flink_libraries-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("pyflink/") and n.split("/")[1] in ("lib", "opt", "plugins", "bin", "licenses"):
            z.extract(n, sys.argv[2])
EOF
    say "fetching flink-sql-gateway $FLINK_VERSION and flink-sql-connector-kafka $KAFKA_CONNECTOR from Maven Central ..."
    mvn -B -q -f "$POM" dependency:copy-dependencies -DexcludeTransitive=true \
        -DoutputDirectory="$tmp/jars" >"$tmp/mvn.log" 2>&1 \
        || { tail -n 20 "$tmp/mvn.log" >&2; die "Maven could not fetch the jars"; }
    mv "$tmp/dist/pyflink" "$tmp/home"
    mv "$tmp/jars"/flink-sql-connector-kafka-*.jar "$tmp/home/lib/"
    mv "$tmp/jars"/flink-sql-gateway-*.jar "$tmp/home/opt/"
    echo "$FLINK_VERSION" >"$tmp/home/.complete"
    rm -rf "$FLINK_HOME" && mv "$tmp/home" "$FLINK_HOME"
    say "Flink $FLINK_VERSION: $(du -sh "$FLINK_HOME" | cut -f1) in $FLINK_HOME (wheel $(du -sh "$tmp/wheel" | cut -f1))"
}

# --- run --------------------------------------------------------------------

port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 ))
        port_open "$port" || { echo "$port"; return 0; }
    done
    return 1
}

# The --add-opens/--add-exports of Flink's default config.yaml (env.java.opts.all).
JAVA_OPENS="--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED
--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
--add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
--add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
--add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
--add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED"

PIDS=()
STOPPING=0
DATA=
OWN_DATA=0

stop_all() {
    STOPPING=1
    local i pid
    # Gateway first, taskmanager, jobmanager last (reverse start order).
    for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
        pid=${PIDS[$i]}
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    if [ "$OWN_DATA" = 1 ] && [ -n "$DATA" ] && [ -z "${FLINK_KEEP:-}" ]; then rm -rf "$DATA"; fi
}

# bash_java_utils JM|TM: sets JVM_PARAMS and DYN_CONFIGS from BashJavaUtils.
bash_java_utils() {
    local out
    out=$(java -cp "$FLINK_HOME/lib/*:$FLINK_HOME/bin/bash-java-utils.jar" \
        org.apache.flink.runtime.util.bash.BashJavaUtils "GET_$1_RESOURCE_PARAMS" \
        --configDir "$DATA/conf" 2>&1) || { echo "$out" | tail -5 >&2; die "BashJavaUtils failed for $1"; }
    JVM_PARAMS=$(echo "$out" | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p' | sed -n 1p)
    DYN_CONFIGS=$(echo "$out" | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p' | sed -n 2p)
}

# launch NAME MAINCLASS CLASSPATH JVMPARAMS ARGS...: one JVM in the background.
launch() {
    local name=$1 main=$2 cp=$3 jvm=$4
    shift 4
    # shellcheck disable=SC2086
    FLINK_CONF_DIR=$DATA/conf FLINK_PLUGINS_DIR=$DATA/plugins java $jvm $JAVA_OPENS -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog.file="$DATA/log/$name.log" -Dlog4j.configurationFile="file:$DATA/conf/log4j.properties" \
        -Dlog4j2.configurationFile="file:$DATA/conf/log4j.properties" \
        -cp "$cp" "$main" "$@" </dev/null >"$DATA/log/$name.out" 2>&1 &
    PIDS+=($!)
    echo "$!" >"$DATA/$name.pid"
}

cmd_run() {
    command -v java >/dev/null || die "java not found (apt-get install default-jre-headless)"
    home_ready || die "Flink $FLINK_VERSION is not in $FLINK_HOME; run: tests/flink/flink.sh fetch"
    DATA=${1:-${FLINK_DATA:-}}
    if [ -z "$DATA" ]; then
        DATA=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-flink.XXXXXX")
        OWN_DATA=1
    fi
    mkdir -p "$DATA/conf" "$DATA/log" "$DATA/tmp"
    DATA=$(cd "$DATA" && pwd)
    trap 'stop_all; exit 0' INT TERM HUP
    trap 'stop_all' EXIT

    local rest=${FLINK_REST_PORT:-} gw=${FLINK_GATEWAY_PORT:-} rpc
    [ -n "$rest" ] || rest=$(free_port) || die "no free port"
    [ -n "$gw" ] || gw=$(free_port) || die "no free port"
    rpc=$(free_port) || die "no free port"
    port_open "$rest" && die "REST port $rest is already in use"
    port_open "$gw" && die "gateway port $gw is already in use"
    # Flink's own Prometheus reporter: each JVM serves GET /metrics on its port, so
    # that one Prometheus watches both engines (docs/metrics.md).  Flink loads it
    # from its plugins directory: ours holds only this one plugin.
    local prom_jm=${FLINK_PROM_PORT:-9249} prom_tm=${FLINK_PROM_TM_PORT:-9250}
    if port_open "$prom_jm"; then
        [ -z "${FLINK_PROM_PORT:-}" ] || die "Prometheus reporter port $prom_jm is already in use"
        prom_jm=$(free_port) || die "no free port"
    fi
    if port_open "$prom_tm" || [ "$prom_tm" = "$prom_jm" ]; then
        [ -z "${FLINK_PROM_TM_PORT:-}" ] || die "Prometheus reporter port $prom_tm is already in use"
        prom_tm=$(free_port) || die "no free port"
    fi
    [ -d "$FLINK_HOME/plugins/metrics-prometheus" ] \
        || die "$FLINK_HOME/plugins/metrics-prometheus is missing (tests/flink/flink.sh fetch)"
    mkdir -p "$DATA/plugins"
    ln -sfn "$FLINK_HOME/plugins/metrics-prometheus" "$DATA/plugins/metrics-prometheus"
    printf '127.0.0.1:%s\n127.0.0.1:%s\n' "$prom_jm" "$prom_tm" >"$DATA/prometheus-targets"

    cat >"$DATA/conf/config.yaml" <<EOF
# Written by tests/flink/flink.sh on each start; edit FLINK_CONF instead.
jobmanager.rpc.address: 127.0.0.1
jobmanager.rpc.port: $rpc
jobmanager.bind-host: 127.0.0.1
jobmanager.memory.process.size: ${FLINK_JM_MEMORY:-1024m}
taskmanager.bind-host: 127.0.0.1
taskmanager.host: 127.0.0.1
taskmanager.memory.process.size: ${FLINK_TM_MEMORY:-1600m}
taskmanager.numberOfTaskSlots: ${FLINK_SLOTS:-2}
parallelism.default: 1
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: $rest
execution.target: remote
sql-gateway.endpoint.rest.address: 127.0.0.1
sql-gateway.endpoint.rest.bind-address: 127.0.0.1
sql-gateway.endpoint.rest.port: $gw
io.tmp.dirs: $DATA/tmp
web.tmpdir: $DATA/tmp
blob.storage.directory: $DATA/tmp
jobmanager.execution.failover-strategy: region
restart-strategy.type: none
# Patient timeouts: the test machines are small and often busy (the defaults, 10 s to
# start the RPC system and 10 s per RPC call, fail a start or a job under load).
pekko.startup-timeout: 60 s
pekko.ask.timeout: 60 s
pekko.tcp.timeout: 60 s
pekko.lookup.timeout: 60 s
heartbeat.timeout: 180000
# Flink's Prometheus reporter (the taskmanager gets its own port with -D below).
metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
metrics.reporter.prom.port: $prom_jm
EOF
    [ -z "${FLINK_CONF:-}" ] || printf '%s\n' "$FLINK_CONF" >>"$DATA/conf/config.yaml"
    cat >"$DATA/conf/log4j.properties" <<'EOF'
monitorInterval = 0
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
EOF

    local start=$SECONDS
    say "starting Flink $FLINK_VERSION (REST 127.0.0.1:$rest, SQL Gateway 127.0.0.1:$gw, data $DATA)"
    bash_java_utils JM
    # shellcheck disable=SC2086
    launch jobmanager org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
        "$FLINK_HOME/lib/*" "$JVM_PARAMS" --configDir "$DATA/conf" $DYN_CONFIGS
    bash_java_utils TM
    # shellcheck disable=SC2086
    launch taskmanager org.apache.flink.runtime.taskexecutor.TaskManagerRunner \
        "$FLINK_HOME/lib/*" "$JVM_PARAMS" --configDir "$DATA/conf" $DYN_CONFIGS \
        -D "metrics.reporter.prom.port=$prom_tm"
    launch sql-gateway org.apache.flink.table.gateway.SqlGateway \
        "$FLINK_HOME/lib/*:$(echo "$FLINK_HOME"/opt/flink-sql-gateway-*.jar)" "-Xmx512m -Xms128m"

    # Ready = the REST API lists a taskmanager with free slots and the gateway answers.
    local timeout=${FLINK_START_TIMEOUT:-120} name
    while :; do
        for name in jobmanager taskmanager sql-gateway; do
            if ! kill -0 "$(cat "$DATA/$name.pid")" 2>/dev/null; then
                tail -n 30 "$DATA/log/$name.out" "$DATA/log/$name.log" >&2 2>/dev/null || true
                die "the $name exited before the cluster was ready (logs in $DATA/log)"
            fi
        done
        if curl -sf "http://127.0.0.1:$rest/overview" 2>/dev/null | grep -q '"slots-available":[1-9]' \
            && curl -sf "http://127.0.0.1:$gw/v1/info" >/dev/null 2>&1; then
            break
        fi
        if [ $((SECONDS - start)) -ge "$timeout" ]; then
            die "Flink did not come up within ${timeout}s (logs in $DATA/log)"
        fi
        sleep 0.5
    done
    say "Flink $FLINK_VERSION ready after $((SECONDS - start))s; Ctrl-C stops it"
    say "Prometheus reporter: http://127.0.0.1:$prom_jm/metrics (jobmanager)," \
        "http://127.0.0.1:$prom_tm/metrics (taskmanager)"
    echo "http://127.0.0.1:$rest http://127.0.0.1:$gw"

    # Run until one JVM exits or a signal arrives (the trap stops the others).
    local rc=0
    wait -n "${PIDS[@]}" || rc=$?
    [ "$STOPPING" = 1 ] && exit 0
    say "a Flink process exited by itself (status $rc); stopping the others (logs in $DATA/log)"
    exit 1
}

case ${1:-} in
    fetch)   shift; cmd_fetch "$@" ;;
    run)     shift; cmd_run "$@" ;;
    version) echo "$FLINK_VERSION" ;;
    -h|--help|help) usage ;;
    '') usage >&2; exit 2 ;;
    *) say "unknown command '$1'"; usage >&2; exit 2 ;;
esac
