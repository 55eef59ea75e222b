#!/usr/bin/env bash
# tests/lib/service.sh kafka|flink READYFILE DIR — one long-lived service shared by the
# end-to-end scripts (tests/run.sh starts one Kafka for the whole kafka half and one Flink
# for the scripts that use it; a script run on its own starts its own through this too).
#
#   kafka: tests/kafka/kafka.sh run 127.0.0.1:<free port> DIR/kafka
#   flink: tests/flink/flink.sh run DIR/flink (REST and gateway on free ports)
#
# Runs in the foreground until TERM/INT/HUP, which stop the service cleanly.  Once the
# service answers, READYFILE gets its one line (kafka: 127.0.0.1:PORT; flink:
# "http://127.0.0.1:REST http://127.0.0.1:GATEWAY"), written atomically.  A start that
# fails because a port was taken meanwhile (the free port was picked, then someone else
# bound it) is retried on new ports, three times in all; any other failure, or the
# third, writes "FAILED <why>" to READYFILE and exits 1.  Start it with setsid so that
# the caller can stop the whole process group.
set -u
kind=${1:-} ready=${2:-} dir=${3:-}
case $kind in kafka|flink) ;; *) echo "usage: $0 kafka|flink READYFILE DIR" >&2; exit 2 ;; esac
[ -n "$ready" ] && [ -n "$dir" ] || { echo "usage: $0 kafka|flink READYFILE DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 12000 ))
        port_open "$port" || { echo "$port"; return 0; }
    done
    return 1
}
say_ready() { printf '%s\n' "$1" >"$ready.tmp" && mv "$ready.tmp" "$ready"; }

child=
stop() {
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
        # kafka.sh waits up to 30 s for its JVM, flink.sh 15 s per JVM.
        for _ in $(seq 1 600); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$child" 2>/dev/null
        wait "$child" 2>/dev/null
    fi
    exit 0
}
trap stop TERM INT HUP

mkdir -p "$dir"
why=
for attempt in 1 2 3; do
    out=$dir/$kind.out err=$dir/$kind.err
    rm -rf "${dir:?}/$kind"
    case $kind in
        kafka)
            port=$(free_port) || { why="no free port"; break; }
            KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-180} \
                "$ROOT/tests/kafka/kafka.sh" run "127.0.0.1:$port" "$dir/kafka" \
                </dev/null >"$out" 2>"$err" &
            ;;
        flink)
            FLINK_START_TIMEOUT=${FLINK_START_TIMEOUT:-300} \
                "$ROOT/tests/flink/flink.sh" run "$dir/flink" </dev/null >"$out" 2>"$err" &
            ;;
    esac
    child=$!
    while kill -0 "$child" 2>/dev/null && ! [ -s "$out" ]; do sleep 0.2; done
    if [ -s "$out" ]; then
        # line 1: the service's address(es); line 2: its data directory (for files the
        # service writes there, e.g. flink.sh's prometheus-targets)
        say_ready "$(head -n1 "$out")"$'\n'"$dir/$kind"
        echo "service.sh: $kind ready: $(head -n1 "$out") (attempt $attempt)" >&2
        wait "$child"
        rc=$?
        child=
        echo "service.sh: $kind exited by itself (status $rc); see $err" >&2
        exit 1
    fi
    wait "$child" 2>/dev/null
    child=
    if grep -qiE 'already in use|BindException|Address in use' "$err" \
            $(find "$dir/$kind" -name '*.log' -o -name '*.out' 2>/dev/null) 2>/dev/null; then
        echo "service.sh: $kind: a port was taken meanwhile (attempt $attempt); trying other ports" >&2
        why="ports taken three times"
        continue
    fi
    why="$(tail -n 3 "$err" | tr '\n' ' ')"
    break
done
say_ready "FAILED $kind did not start: $why"
echo "service.sh: $kind did not start: $why" >&2
tail -n 20 "$dir/$kind.err" >&2 2>/dev/null
exit 1
