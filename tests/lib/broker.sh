# tests/lib/broker.sh: one broker for an end-to-end test script. Source it, then
#
#   broker_start KIND    KIND = embedded (streamlab's own broker: "$STREAMLAB" broker)
#                        or kafka (a real Apache Kafka, tests/kafka/kafka.sh run).
#                        Starts it in the background on 127.0.0.1, waits until it
#                        answers kcat -L, and exports BROKER=127.0.0.1:PORT and
#                        BROKER_KIND. Cleanup is registered on EXIT (on failure too):
#                        the broker is stopped and its data dir deleted.
#   broker_stop          stop it (the data dir stays until exit)
#   broker_restart       stop it and start it again on the same port with the same data
#                        (an outage test). The embedded broker keeps its port but, being
#                        in memory, not its topics.
#   free_port            print a TCP port on 127.0.0.1 that nothing listens on
#
# Call broker_start from the script itself, not in $( ) or a pipeline: the exports and
# the background process must belong to the test's shell. It works under set -euo pipefail.
#
# Environment: STREAMLAB (default <repo>/build/streamlab), BROKER_START_TIMEOUT seconds
# (default 120), BROKER_KEEP=1 keeps the data dir (its path is in BROKER_DIR).
# Also exported: BROKER_PID (the broker's process), BROKER_DIR (its mktemp dir, which
# holds stdout/stderr logs, and for kafka the data under kafka/ and logs in kafka/logs).
# Needs bash, coreutils, setsid (util-linux), kcat; java for kind kafka.

_BROKER_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_BROKER_ROOT=$(cd "$_BROKER_LIB_DIR/../.." && pwd)
: "${STREAMLAB:=$_BROKER_ROOT/build/streamlab}"
BROKER_KAFKA_SH=$_BROKER_ROOT/tests/kafka/kafka.sh

BROKER=${BROKER-}
BROKER_KIND=${BROKER_KIND-}
BROKER_PID=
BROKER_DIR=
_BROKER_PORT=
_BROKER_TRAPPED=

_broker_say() { printf 'broker.sh: %s\n' "$*" >&2; }

# _broker_port_open PORT: true when something accepts connections on 127.0.0.1:PORT.
_broker_port_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on (20000-31999, below the
# kernel's ephemeral range, so outgoing connections do not take it meanwhile).
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 ))
        if ! _broker_port_open "$port"; then
            echo "$port"
            return 0
        fi
    done
    _broker_say "no free port found"
    return 1
}

# _broker_ready ADDR: kcat gets a metadata answer naming at least one broker.
_broker_ready() {
    timeout 5 kcat -b "$1" -L -m 2 2>/dev/null | grep -q ' broker [0-9-]* at '
}

# _broker_launch PORT: start the broker of kind BROKER_KIND in the background, listening
# on 127.0.0.1:PORT (0 = let the embedded broker choose), wait until it is ready, and
# set BROKER / BROKER_PID. Returns 1 when it failed to come up, 2 when its port was taken.
_broker_launch() {
    local port=$1 out=$BROKER_DIR/stdout.log err=$BROKER_DIR/stderr.log
    local timeout=${BROKER_START_TIMEOUT:-120} start=$SECONDS addr=
    : >"$out"
    : >"$err"
    case $BROKER_KIND in
        embedded)
            # Its files, if any, land in BROKER_DIR.
            (cd "$BROKER_DIR" && exec setsid "$STREAMLAB" broker --listen "127.0.0.1:$port") \
                </dev/null >"$out" 2>"$err" &
            ;;
        kafka)
            KAFKA_START_TIMEOUT=$timeout setsid "$BROKER_KAFKA_SH" run "127.0.0.1:$port" \
                "$BROKER_DIR/kafka" </dev/null >"$out" 2>"$err" &
            ;;
    esac
    # setsid: the broker leads its own process group (pgid = pid), so that stopping
    # it can sweep up whatever it started (kafka.sh's JVM) even if it dies first.
    BROKER_PID=$!
    # Both print the bootstrap address as the first line of stdout once they serve.
    while :; do
        if [ -s "$out" ] && [ -z "$addr" ]; then
            addr=$(head -n1 "$out")
            case $addr in *:[0-9]*) ;; *) addr= ;; esac
        fi
        if [ -n "$addr" ] && _broker_ready "$addr"; then
            break
        fi
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            wait "$BROKER_PID" 2>/dev/null || true
            BROKER_PID=
            if grep -qiE 'already in use|Address in use' "$err" 2>/dev/null; then
                return 2
            fi
            _broker_say "the $BROKER_KIND broker exited before it was ready; its stderr:"
            tail -n 20 "$err" >&2
            return 1
        fi
        if [ $((SECONDS - start)) -ge "$timeout" ]; then
            _broker_say "the $BROKER_KIND broker was not ready after ${timeout}s" \
                "(stdout: $(head -c 200 "$out")); its stderr:"
            tail -n 20 "$err" >&2
            _broker_kill
            return 1
        fi
        sleep 0.2
    done
    BROKER=$addr
    _BROKER_PORT=${addr##*:}
    export BROKER BROKER_KIND BROKER_PID BROKER_DIR
}

# _broker_kill: stop BROKER_PID (SIGTERM, then SIGKILL after 30 s) and reap it.
_broker_kill() {
    local pid=$BROKER_PID jpid=
    [ -n "$pid" ] || return 0
    [ -f "$BROKER_DIR/kafka/kafka.pid" ] && jpid=$(cat "$BROKER_DIR/kafka/kafka.pid" 2>/dev/null)
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        _broker_say "broker (pid $pid) did not stop in 30 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    # kafka.sh stops its JVM itself; sweep its process group in case it could not.
    kill -KILL -- "-$pid" 2>/dev/null || true
    if [ -n "$jpid" ] && kill -0 "$jpid" 2>/dev/null; then
        kill -KILL "$jpid" 2>/dev/null || true
    fi
    BROKER_PID=
}

broker_start() {
    local kind=${1:-}
    case $kind in
        embedded)
            case $STREAMLAB in /*) ;; *) STREAMLAB=$PWD/$STREAMLAB ;; esac
            if [ ! -x "$STREAMLAB" ]; then
                _broker_say "$STREAMLAB is not built (make), or set STREAMLAB"
                return 1
            fi ;;
        kafka)
            command -v java >/dev/null || { _broker_say "java not found"; return 1; } ;;
        *)
            _broker_say "usage: broker_start embedded|kafka"
            return 1 ;;
    esac
    command -v kcat >/dev/null || { _broker_say "kcat not found"; return 1; }
    if [ -n "$BROKER_PID" ]; then
        _broker_say "a broker is already running ($BROKER_KIND on $BROKER)"
        return 1
    fi
    BROKER_KIND=$kind
    [ -n "$BROKER_DIR" ] || BROKER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-broker.XXXXXX")
    _broker_register_cleanup

    local port rc
    for _ in 1 2 3; do
        if [ "$kind" = embedded ]; then port=0; else port=$(free_port) || return 1; fi
        rc=0
        _broker_launch "$port" || rc=$?
        [ "$rc" = 0 ] && break
        [ "$rc" = 2 ] || return 1
        _broker_say "port $port was taken meanwhile; trying another"
        rm -rf "$BROKER_DIR/kafka"
    done
    [ "$rc" = 0 ] || { _broker_say "could not start the $kind broker"; return 1; }
    _broker_say "$kind broker ready on $BROKER (pid $BROKER_PID, dir $BROKER_DIR)"
}

broker_stop() {
    [ -n "$BROKER_PID" ] || return 0
    _broker_kill
    _broker_say "$BROKER_KIND broker on $BROKER stopped"
}

broker_restart() {
    [ -n "$BROKER_KIND" ] && [ -n "$_BROKER_PORT" ] \
        || { _broker_say "broker_restart: no broker was started"; return 1; }
    broker_stop
    # The old process may leave its port in use for a moment.
    for _ in $(seq 1 100); do
        _broker_port_open "$_BROKER_PORT" || break
        sleep 0.1
    done
    local want=$BROKER
    if ! _broker_launch "$_BROKER_PORT"; then
        _broker_say "could not restart the $BROKER_KIND broker on port $_BROKER_PORT"
        return 1
    fi
    if [ "$BROKER" != "$want" ]; then
        _broker_say "restarted broker came back on $BROKER, not $want"
        return 1
    fi
    _broker_say "$BROKER_KIND broker restarted on $BROKER (pid $BROKER_PID)"
}

broker_cleanup() {
    _broker_kill
    if [ -n "$BROKER_DIR" ] && [ -d "$BROKER_DIR" ]; then
        if [ "${BROKER_KEEP:-0}" = 1 ]; then
            _broker_say "kept $BROKER_DIR"
        else
            rm -rf "$BROKER_DIR"
        fi
    fi
    BROKER_DIR=
}

# Chain onto the script's own EXIT trap instead of replacing it, and turn INT/TERM
# into an exit so that the EXIT trap runs on Ctrl-C and on kill too.
_broker_register_cleanup() {
    [ -z "$_BROKER_TRAPPED" ] || return 0
    _BROKER_TRAPPED=1
    local prev
    prev=$(trap -p EXIT)
    prev=${prev#"trap -- '"}
    prev=${prev%"' EXIT"}
    prev=${prev//"'\\''"/"'"}
    # shellcheck disable=SC2064
    trap "broker_cleanup${prev:+; $prev}" EXIT
    [ -n "$(trap -p INT)" ] || trap 'exit 130' INT
    [ -n "$(trap -p TERM)" ] || trap 'exit 143' TERM
}
