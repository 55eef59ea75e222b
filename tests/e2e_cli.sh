#!/usr/bin/env bash
# e2e_cli.sh KIND — the command line: help, usage errors, unreachable brokers, the
# broker command's address line and port conflicts, docker-compose.yml.
#
#   - every command's --help exits 0 and prints its usage on stdout
#   - an unknown command exits 2; bad option values exit 2 with a message naming them
#   - -b 127.0.0.1:<nothing listening> --timeout 2: produce, engine, consume (and
#     --headless) say "cannot reach" and exit 2, well within 15 s
#   - -b on a port where nothing listens, default --timeout (10 s): topics fails as soon as
#     the address has refused for 2 s (within 8 s), exit 2, with one clear message (it says
#     "connection refused") and none of librdkafka's log lines; a broker that starts 1 s
#     after the command is still reached (exit 0)
#   - `consume no_such_topic` exits 2 at once naming the topics that exist, closest first
#     (`consume transactons`: "transactions" first), and the topic is not created;
#     `groups --describe` of a group nobody used exits 1 saying it does not exist
#   - `topics` and `groups --describe` columns are as wide as their content (a topic name
#     of 40 characters keeps its columns apart)
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

# --- a refused connection fails after 2 s, quietly ------------------------------------
run refused 8 "$S" topics -b "127.0.0.1:$NOPORT"
if [ "$RC" = 2 ] && grep -q "connection refused" "$WORK/refused.err"; then
    pass "topics -b <nothing there> (default --timeout 10): fails within 8 s saying \"connection refused\", exit 2"
else
    fail "topics -b <nothing there> (default --timeout 10): fails within 8 s saying \"connection refused\", exit 2" \
        "exit $RC (124 = still running after 8 s), stderr: $(head -c 300 "$WORK/refused.err")"
fi
if grep -q "kafka " "$WORK/refused.err"; then
    fail "the refusal prints no librdkafka log line" "$(grep "kafka " "$WORK/refused.err" | head -3)"
else
    pass "the refusal prints no librdkafka log line"
fi
expect_eq "the refusal is one message and its hint (2 lines on stderr)" 2 "$(wc -l <"$WORK/refused.err")"
LATE=$(free_port)
( sleep 1; exec "$S" broker --listen "127.0.0.1:$LATE" >/dev/null 2>&1 ) &
bg_track $!
run late 30 "$S" topics -b "127.0.0.1:$LATE"
expect_eq "a broker that starts 1 s after topics is still reached (exit 0)" 0 "$RC"
[ "$RC" = 0 ] || head -5 "$WORK/late.err" | sed 's/^/#   /'
bg_stop

# --- reading never hangs on, nor creates, an unknown topic -------------------------------
run seed 60 "$S" produce transactions -b "$BROKER" --count 5 --rate 0
GHOST=no_such_topic_$$
run ghost 20 "$S" consume "$GHOST" -b "$BROKER"
expect_eq "consume $GHOST exits 2 (not a wait)" 2 "$RC"
grep -q "no topic \"$GHOST\"" "$WORK/ghost.err" && grep -q "transactions" "$WORK/ghost.err" &&
    pass "consume $GHOST says there is no such topic and lists those that exist" ||
    fail "consume $GHOST says there is no such topic and lists those that exist" "$(head -c 300 "$WORK/ghost.err")"
run typo 20 "$S" consume transactons -b "$BROKER"
first=$(sed -n 2p "$WORK/typo.err" | awk '{print $1}')
expect_eq "consume transactons: exit 2" 2 "$RC"
expect_eq "consume transactons: the closest topic is named first" transactions "$first"
sleep 1
run list 30 "$S" topics -b "$BROKER" --json
if grep -q "\"$GHOST\"" "$WORK/list.out"; then
    fail "consume $GHOST did not create the topic" "topics lists it"
elif [ "$RC" != 0 ]; then
    fail "consume $GHOST did not create the topic" "topics --json exit $RC"
else
    pass "consume $GHOST did not create the topic"
fi
run nogroup 30 "$S" groups -b "$BROKER" --describe "nosuchgroup_$$"
expect_eq "groups --describe <a group nobody used> exits 1" 1 "$RC"
grep -q "does not exist" "$WORK/nogroup.err" &&
    pass "groups --describe <a group nobody used> says it does not exist" ||
    fail "groups --describe <a group nobody used> says it does not exist" "$(cat "$WORK/nogroup.out" "$WORK/nogroup.err" | head -c 300)"

# --- columns as wide as their content ------------------------------------------------------
LONGT=a_topic_name_of_exactly_forty_characters
[ ${#LONGT} = 40 ] || echo "# (the long name is ${#LONGT} characters)"
printf 'k\tv\n' | timeout 30 kcat -b "$BROKER" -P -t "$LONGT" -K $'\t' -X allow.auto.create.topics=true 2>/dev/null
run wide 30 "$S" topics -b "$BROKER"
row=$(grep "^$LONGT " "$WORK/wide.out" | head -1)
if [ "$(awk '{print NF}' <<<"$row")" = 5 ] && [ "$(awk '{print $1}' <<<"$row")" = "$LONGT" ]; then
    pass "topics: a 40-character name keeps its own column (5 fields on its row)"
else
    fail "topics: a 40-character name keeps its own column (5 fields on its row)" "row: [$row]"
fi
head=$(head -1 "$WORK/wide.out")
col_end=$(($(awk '{print index($0, "PARTITION")}' <<<"$head") - 1))
expect_eq "topics: the TOPIC column is as wide as the longest name (+2)" $((${#LONGT} + 2)) "$col_end"

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
