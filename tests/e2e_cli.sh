#!/usr/bin/env bash
# e2e_cli.sh KIND — the command line: help, usage errors, unreachable brokers, the
# broker command's address line and port conflicts, docker-compose.yml.
#
#   - every command's --help exits 0 and prints its usage on stdout
#   - an unknown command exits 2; bad option values exit 2 with a message naming them
#   - -b 127.0.0.1:<nothing listening> --timeout 2: produce, engine, consume (and
#     --headless) say "cannot reach" and exit 2, well within 15 s
#   - `streamlab broker --listen` on a taken port (the test's broker's, and a plain
#     listening socket's) exits non-zero saying the address is in use
#   - `streamlab broker` prints its bootstrap address as the first stdout line (port 0
#     and a fixed port), kcat can use it, and it stops on SIGTERM
#   - KIND=embedded only: docker-compose -f docker-compose.yml config -q
# Only the port check against the test's broker depends on KIND: KIND=kafka makes that
# one check (on the real Kafka's port) and nothing else, which KIND=embedded makes already.
# run.sh: limit=240 min.embedded=38 min.kafka=1
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}"

S=$STREAMLAB
# run NAME TIMEOUT CMD...: runs CMD with stdout/stderr in $WORK/NAME.out/.err; sets RC.
run() {
    local name=$1 t=$2
    shift 2
    RC=0
    timeout "$t" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null || RC=$?
}

# inuse_check: `streamlab broker --listen` on the test's broker's own (taken) port.
inuse_check() {
    run inuse 30 "$S" broker --listen "$BROKER"
    if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -qi 'in use' "$WORK/inuse.err"; then
        pass "broker --listen on the running $KIND broker's port exits non-zero: in use"
    else
        fail "broker --listen on the running $KIND broker's port exits non-zero: in use" \
            "exit $RC (124 = still serving after 30 s), stdout: $(head -c 100 "$WORK/inuse.out"), stderr: $(head -c 200 "$WORK/inuse.err")"
    fi
}
if [ "$KIND" = kafka ]; then
    inuse_check
    finish
    exit
fi

# --- help -------------------------------------------------------------------------------
help_cmds=("--help" "-h" "help" "broker --help" "produce --help" "produce transactions --help"
           "engine --help" "consume --help" "--headless --help")
i=0
for c in "${help_cmds[@]}"; do
    i=$((i + 1))
    # shellcheck disable=SC2086
    run "help$i" 10 "$S" $c
    if [ "$RC" = 0 ] && grep -q '^usage: streamlab' "$WORK/help$i.out"; then
        pass "streamlab $c exits 0 and prints usage"
    else
        fail "streamlab $c exits 0 and prints usage" "exit $RC, stdout: $(head -c 120 "$WORK/help$i.out")"
    fi
done
run help-sub 10 "$S" engine --help
check "engine --help lists --count, --group, --json, -b" \
    bash -c 'for o in --count --group --json "-b, --brokers"; do grep -q -- "$o" "$1" || exit 1; done' _ "$WORK/help-sub.out"
check "the top-level help names every command" \
    bash -c 'for c in broker produce engine consume --headless; do grep -q -- "streamlab $c" "$1" || exit 1; done' _ "$WORK/help1.out"

# --- usage errors ------------------------------------------------------------------------
run unknown 10 "$S" frobnicate
expect_eq "an unknown command exits 2" 2 "$RC"
check "an unknown command is named on stderr" grep -q 'frobnicate' "$WORK/unknown.err"

# bad_value LABEL WORD CMD...: exit 2 and stderr mentions WORD (the option).
bad_value() {
    local label=$1 word=$2
    shift 2
    run bad 10 "$@"
    if [ "$RC" = 2 ] && grep -q -- "$word" "$WORK/bad.err"; then
        pass "$label exits 2 with a message"
    else
        fail "$label exits 2 with a message" "exit $RC, stderr: $(head -c 200 "$WORK/bad.err")"
    fi
}
bad_value "produce transactions --rate abc" --rate "$S" produce transactions --rate abc -b "$BROKER"
bad_value "produce transactions --count -1" --count "$S" produce transactions --count -1 -b "$BROKER"
bad_value "engine --count -1" --count "$S" engine --count -1 -b "$BROKER"
bad_value "engine --count abc" --count "$S" engine --count abc -b "$BROKER"
bad_value "consume transactions --count -1" --count "$S" consume transactions --count -1 -b "$BROKER"
bad_value "--headless --rate abc" --rate "$S" --headless --rate abc
bad_value "--headless --duration -1" --duration "$S" --headless --duration -1
bad_value "engine --window 0" --window "$S" engine --window 0 -b "$BROKER"
bad_value "engine --bogus (unknown option)" bogus "$S" engine --bogus
bad_value "produce (no kind)" produce "$S" produce
bad_value "consume (no topic)" consume "$S" consume
bad_value "broker --partitions 0" --partitions "$S" broker --partitions 0 --listen 127.0.0.1:0

# --- an address where nothing listens ------------------------------------------------
NOPORT=$(free_port)
for c in "produce transactions --count 5" "engine --count 5" "consume transactions --count 1" \
         "--headless --duration 1"; do
    # shellcheck disable=SC2086
    run unreach 15 "$S" $c -b "127.0.0.1:$NOPORT" --timeout 2
    if [ "$RC" = 2 ] && grep -qi 'cannot reach' "$WORK/unreach.err" \
            && grep -q "127.0.0.1:$NOPORT" "$WORK/unreach.err"; then
        pass "$c -b <nothing there> --timeout 2: \"cannot reach\" and exit 2"
    else
        fail "$c -b <nothing there> --timeout 2: \"cannot reach\" and exit 2" \
            "exit $RC (124 = still running after 15 s), stderr: $(grep -v 'kafka FAIL\|kafka ERROR' "$WORK/unreach.err" | head -c 200)"
    fi
done

# --- streamlab broker ----------------------------------------------------------------
# A taken port: the test's broker's own.
inuse_check
# A taken port: a plain listening socket.
$PY -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$WORK/sock.port" &
bg_track $!
for _ in $(seq 1 50); do [ -s "$WORK/sock.port" ] && break; sleep 0.1; done
SOCKPORT=$(head -n1 "$WORK/sock.port")
run inuse2 30 "$S" broker --listen "127.0.0.1:$SOCKPORT"
if [ "$RC" != 0 ] && [ "$RC" != 124 ] && grep -qi 'in use' "$WORK/inuse2.err"; then
    pass "broker --listen on a port a socket listens on exits non-zero: in use"
else
    fail "broker --listen on a port a socket listens on exits non-zero: in use" \
        "exit $RC, stderr: $(head -c 200 "$WORK/inuse2.err")"
fi
bg_stop

# broker_addr_check LISTEN: starts `streamlab broker --listen LISTEN`, waits for its first
# stdout line (at most 60 s), checks it, asks kcat for metadata, stops it with SIGTERM.
broker_addr_check() {
    local listen=$1 want=${2:-} out=$WORK/b.out err=$WORK/b.err pid addr= rc
    "$S" broker --listen "$listen" >"$out" 2>"$err" </dev/null &
    pid=$!
    bg_track "$pid"
    for _ in $(seq 1 600); do
        [ -s "$out" ] && addr=$(head -n1 "$out") && [ -n "$addr" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]] && { [ -z "$want" ] || [ "$addr" = "$want" ]; }; then
        pass "broker --listen $listen prints its bootstrap address first ($addr)"
    else
        fail "broker --listen $listen prints its bootstrap address first" \
            "first stdout line [$addr], want ${want:-127.0.0.1:PORT}; stderr: $(head -c 200 "$err")"
    fi
    if [ -n "$addr" ] && timeout 10 kcat -b "$addr" -L -t transactions 2>/dev/null \
            | grep -q 'topic "transactions" with 3 partitions'; then
        pass "kcat -L on $listen's address sees transactions with 3 partitions"
    else
        fail "kcat -L on $listen's address sees transactions with 3 partitions"
    fi
    kill -TERM "$pid" 2>/dev/null
    rc=
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid"; rc=$?; break; }
        sleep 0.1
    done
    if [ "$rc" = 0 ]; then
        pass "broker --listen $listen stops on SIGTERM with status 0"
    else
        fail "broker --listen $listen stops on SIGTERM with status 0" "status [${rc:-still running after 15 s}]"
    fi
    bg_stop
}
broker_addr_check 127.0.0.1:0
P=$(free_port)
broker_addr_check "127.0.0.1:$P" "127.0.0.1:$P"

# --- docker-compose.yml ------------------------------------------------------------------
if [ "$KIND" = embedded ]; then
    if ! command -v docker-compose >/dev/null; then
        fail "docker-compose.yml validates" "docker-compose not installed"
    else
        run compose 60 docker-compose -f docker-compose.yml config -q
        expect_eq "docker-compose -f docker-compose.yml config -q exits 0" 0 "$RC"
        [ "$RC" = 0 ] || sed 's/^/# docker-compose: /' "$WORK/compose.err" | head -5
    fi
fi

finish
