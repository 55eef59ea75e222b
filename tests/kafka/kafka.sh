#!/usr/bin/env bash
# tests/kafka/kafka.sh: a real single-node Apache Kafka (KRaft, combined broker +
# controller) without Docker. The release jars come from Maven Central through
# tests/kafka/pom.xml (fetched once into ~/.m2, then copied offline); Java and Maven
# come from Debian. `make kafka` runs `kafka.sh run`; tests/lib/broker.sh runs it too.
#
#   kafka.sh fetch                  fetch the jars (idempotent; setup.sh calls it)
#   kafka.sh run [HOST:PORT] [DIR]  run the broker in the foreground; prints HOST:PORT
#                                   on stdout once it accepts clients; Ctrl-C stops it
#   kafka.sh version                print the Kafka version the pom pins
#
# Environment (all optional):
#   KAFKA_LISTEN         default listen address for `run` (127.0.0.1:9092)
#   KAFKA_DATA           default data dir for `run` (<repo>/build/kafka)
#   KAFKA_LIBS           where the jars go (<repo>/build/kafka-libs/<version>)
#   KAFKA_HEAP_OPTS      JVM heap (-Xms64m -Xmx512m)
#   KAFKA_JVM_OPTS       more JVM options
#   KAFKA_START_TIMEOUT  seconds to wait for the broker to accept clients (90)
#   KAFKA_PROPS          extra server.properties lines (newline-separated), last wins
#   KAFKA_VERSION        another Kafka release than the pom's (for trying versions)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
POM=$HERE/pom.xml
POM_VERSION=$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM" | head -n1)
KAFKA_VERSION=${KAFKA_VERSION:-$POM_VERSION}
KAFKA_LIBS=${KAFKA_LIBS:-$ROOT/build/kafka-libs/$KAFKA_VERSION}

say() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

usage() {
    cat <<EOF
usage: tests/kafka/kafka.sh fetch
       tests/kafka/kafka.sh run [HOST:PORT] [DATADIR]
       tests/kafka/kafka.sh version
       tests/kafka/kafka.sh --help

A single-node Apache Kafka $KAFKA_VERSION in KRaft mode (broker and controller in one
JVM), run from its release jars on Maven Central; no Docker.

  fetch    Download kafka_2.13:$KAFKA_VERSION and its dependencies into ~/.m2 (once)
           and copy them to $KAFKA_LIBS.
           A quick no-op when they are there already.
  run      Run the broker in the foreground. HOST:PORT defaults to \$KAFKA_LISTEN or
           127.0.0.1:9092, DATADIR to \$KAFKA_DATA or build/kafka/ in the repo. Formats
           the KRaft storage on first use, writes DATADIR/server.properties, logs to
           DATADIR/logs/server.log, prints HOST:PORT on stdout once the broker accepts
           clients, and stops the JVM cleanly on Ctrl-C / SIGTERM. Exits non-zero if the
           port is taken or the broker does not come up.
  version  Print the Kafka version.

Environment: KAFKA_LISTEN KAFKA_DATA KAFKA_LIBS KAFKA_HEAP_OPTS KAFKA_JVM_OPTS
             KAFKA_START_TIMEOUT KAFKA_PROPS (extra server.properties lines)
             KAFKA_VERSION (another release than the pom's, for trying versions)
EOF
}

# --- fetch ------------------------------------------------------------------

libs_ready() { [ -f "$KAFKA_LIBS/.complete" ] && [ -n "$(ls "$KAFKA_LIBS"/kafka_2.13-*.jar 2>/dev/null)" ]; }

# copy_deps OFFLINE(0|1): resolve the pom and copy the jars; 0 on success.
copy_deps() {
    local offline=$1 tmp log rc=0
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    mkdir -p "$(dirname "$KAFKA_LIBS")"
    tmp=$(mktemp -d "$KAFKA_LIBS.tmp.XXXXXX")
    log=$tmp.log
    if [ "$offline" = 1 ]; then
        mvn -o -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
            -DoutputDirectory="$tmp" >"$log" 2>&1 || rc=$?
    else
        say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (about 45 MB, once) ..."
        # One progress line per jar; the full Maven log goes to $log.
        mvn -B -f "$POM" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1 \
            | tee "$log" \
            | sed -n 's/^\(\[INFO\] \)\{0,1\}Downloaded from [^:]*: .*\/\([^/]*\.jar\) (\(.*\))$/  \2 (\3)/p' >&2 \
            || rc=$?
        [ "$rc" = 0 ] && grep -q 'BUILD SUCCESS' "$log" || rc=1
    fi
    if [ "$rc" != 0 ]; then
        rm -rf "$tmp"
        if [ "$offline" = 1 ]; then
            rm -f "$log"        # not in ~/.m2 yet: the online fetch follows
        else
            tail -n 25 "$log" >&2
            say "Maven log: $log"
        fi
        return 1
    fi
    echo "$KAFKA_VERSION" >"$tmp/.complete"
    rm -rf "$KAFKA_LIBS" && mv "$tmp" "$KAFKA_LIBS" && rm -f "$log"
}

cmd_fetch() {
    if libs_ready; then
        say "Kafka $KAFKA_VERSION jars present in $KAFKA_LIBS"
        return 0
    fi
    if copy_deps 1; then
        say "Kafka $KAFKA_VERSION jars copied from ~/.m2 (offline) to $KAFKA_LIBS"
        return 0
    fi
    copy_deps 0 || die "could not fetch the Kafka $KAFKA_VERSION jars"
    say "Kafka $KAFKA_VERSION: $(ls "$KAFKA_LIBS"/*.jar | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1) in $KAFKA_LIBS"
}

# --- run --------------------------------------------------------------------

# port_open HOST PORT: true when something accepts TCP connections there.
port_open() {
    local host=$1
    case $host in 0.0.0.0|'') host=127.0.0.1 ;; '::'|'[::]') host=::1 ;; esac
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$2" 2>/dev/null
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on (20000-31999, below the kernel's ephemeral range).
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 ))
        port_open 127.0.0.1 "$port" || { echo "$port"; return 0; }
    done
    return 1
}

# A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 chars).
new_cluster_id() { head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }

prop() { [ -f "$2" ] || return 0; sed -n "s/^$1=//p" "$2" | tail -n1; }

JAVA_PID=
RUN_STOPPING=0

stop_java() {
    RUN_STOPPING=1
    [ -n "$JAVA_PID" ] || return 0
    if kill -0 "$JAVA_PID" 2>/dev/null; then
        say "stopping Kafka (pid $JAVA_PID) ..."
        kill -TERM "$JAVA_PID" 2>/dev/null || true
        for _ in $(seq 1 300); do          # up to 30 s for a controlled shutdown
            kill -0 "$JAVA_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$JAVA_PID" 2>/dev/null; then
            say "Kafka did not stop in 30 s; killing it"
            kill -KILL "$JAVA_PID" 2>/dev/null || true
        fi
    fi
    wait "$JAVA_PID" 2>/dev/null || true
    rm -f "$DATA/kafka.pid"
    JAVA_PID=
}

cmd_run() {
    local listen=${1:-${KAFKA_LISTEN:-127.0.0.1:9092}}
    DATA=${2:-${KAFKA_DATA:-$ROOT/build/kafka}}
    local host=${listen%:*} port=${listen##*:}
    case $listen in *:*) ;; *) die "listen address must be HOST:PORT, not '$listen'" ;; esac
    case $port in ''|*[!0-9]*) die "bad port in '$listen'" ;; esac
    [ "$port" -gt 0 ] && [ "$port" -lt 65536 ] || die "bad port in '$listen'"
    [ -n "$host" ] || host=127.0.0.1
    local adv_host=$host
    case $host in 0.0.0.0|'::'|'[::]') adv_host=127.0.0.1 ;; esac
    local bootstrap=$adv_host:$port

    command -v java >/dev/null || die "java not found (apt-get install default-jre-headless)"
    command -v kcat >/dev/null || die "kcat not found (apt-get install kcat)"
    libs_ready || copy_deps 1 \
        || die "Kafka $KAFKA_VERSION jars are not in $KAFKA_LIBS; run: tests/kafka/kafka.sh fetch"

    port_open "$host" "$port" && die "port $port on $host is already in use (another Kafka? try: $0 run $host:<other port>)"

    mkdir -p "$DATA/logs"
    DATA=$(cd "$DATA" && pwd)
    if [ -f "$DATA/kafka.pid" ] && kill -0 "$(cat "$DATA/kafka.pid")" 2>/dev/null; then
        die "a Kafka (pid $(cat "$DATA/kafka.pid")) already runs on $DATA"
    fi

    # The controller listens on its own port; keep the one this data dir used before
    # when it is still free, so a restart looks the same.
    local cport
    cport=$(prop x-streamlab.controller.port "$DATA/server.properties")
    if [ -z "$cport" ] || [ "$cport" = "$port" ] || port_open 127.0.0.1 "$cport"; then
        cport=$(free_port) || die "no free port for the KRaft controller"
    fi

    local props=$DATA/server.properties
    cat >"$props" <<EOF
# Written by tests/kafka/kafka.sh on each start; edit KAFKA_PROPS instead.
x-streamlab.controller.port=$cport
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://$host:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://$bootstrap
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
background.threads=4
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=16777216
log.retention.hours=168
EOF
    [ -z "${KAFKA_PROPS:-}" ] || printf '%s\n' "$KAFKA_PROPS" >>"$props"

    # log4j2: everything to DATADIR/logs/server.log, nothing on the terminal.
    local l4j=$DATA/log4j2.properties
    cat >"$l4j" <<EOF
status = error
# Keep logging until the JVM exits, so the log shows the end of a clean shutdown.
shutdownHook = disable
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $DATA/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
EOF

    # shellcheck disable=SC2206
    local jvm=(${KAFKA_HEAP_OPTS:--Xms64m -Xmx512m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
               -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
               -Dlog4j2.configurationFile="$l4j" -Dkafka.logs.dir="$DATA/logs"
               ${KAFKA_JVM_OPTS:-} -cp "$KAFKA_LIBS/*")

    if [ ! -f "$DATA/data/meta.properties" ]; then
        local cid
        cid=$(new_cluster_id)
        say "formatting KRaft storage in $DATA/data (cluster id $cid)"
        java "${jvm[@]}" kafka.tools.StorageTool format --cluster-id="$cid" --config="$props" \
            --ignore-formatted >"$DATA/logs/format.out" 2>&1 \
            || { cat "$DATA/logs/format.out" >&2; die "kafka-storage format failed"; }
    fi

    trap 'stop_java; exit 0' INT TERM HUP
    trap 'stop_java' EXIT
    say "starting Kafka $KAFKA_VERSION on $bootstrap (controller 127.0.0.1:$cport, data $DATA)"
    java "${jvm[@]}" kafka.Kafka "$props" </dev/null >"$DATA/logs/kafka.out" 2>&1 &
    JAVA_PID=$!
    echo "$JAVA_PID" >"$DATA/kafka.pid"

    # Ready = kcat sees broker 1 in a metadata answer.
    local timeout=${KAFKA_START_TIMEOUT:-90} start=$SECONDS
    while :; do
        if ! kill -0 "$JAVA_PID" 2>/dev/null; then
            wait "$JAVA_PID" 2>/dev/null || true
            JAVA_PID=
            tail -n 30 "$DATA/logs/kafka.out" "$DATA/logs/server.log" >&2 2>/dev/null || true
            if grep -qi 'Address already in use' "$DATA/logs/server.log" "$DATA/logs/kafka.out" 2>/dev/null; then
                die "port $port (or controller port $cport) is already in use"
            fi
            die "Kafka exited before it was ready (logs in $DATA/logs)"
        fi
        if timeout 5 kcat -b "$bootstrap" -L -m 2 2>/dev/null | grep -q 'broker 1 at'; then
            break
        fi
        if [ $((SECONDS - start)) -ge "$timeout" ]; then
            tail -n 30 "$DATA/logs/server.log" >&2 2>/dev/null || true
            stop_java
            die "Kafka did not accept clients on $bootstrap within ${timeout}s (logs in $DATA/logs)"
        fi
        sleep 0.2
    done
    say "Kafka $KAFKA_VERSION ready on $bootstrap after $((SECONDS - start))s; Ctrl-C stops it"
    echo "$bootstrap"

    # Run until the JVM exits or a signal arrives (the trap stops the JVM).
    local rc=0
    wait "$JAVA_PID" || rc=$?
    [ "$RUN_STOPPING" = 1 ] && exit 0
    JAVA_PID=
    say "Kafka exited by itself (status $rc); logs in $DATA/logs"
    exit "$rc"
}

case ${1:-} in
    fetch)   shift; cmd_fetch "$@" ;;
    run)     shift; cmd_run "$@" ;;
    version) echo "$KAFKA_VERSION" ;;
    -h|--help|help) usage ;;
    '') usage >&2; exit 2 ;;
    *) say "unknown command '$1'"; usage >&2; exit 2 ;;
esac
