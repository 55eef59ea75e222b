# tests/lib/e2e.sh — shared by the end-to-end scripts (tests/e2e_*.sh). Source it after
# tests/lib/tap.sh and tests/lib/broker.sh, then:
#
#   e2e_init KIND [NEEDS_BROKER]
#                        checks KIND (embedded|kafka), makes the scratch dir $WORK
#                        (removed on exit), and unless NEEDS_BROKER=0 starts the broker
#                        (broker_start KIND: exports BROKER). On a broker failure it
#                        prints "not ok", the counts, and exits 1.  KIND=kafka with
#                        E2E_KAFKA=HOST:PORT set (tests/run.sh does, for every script
#                        without own-broker) uses that Kafka instead of starting one;
#                        run.sh deletes every topic on it after the script.
#   e2e_flink            a Flink session cluster: run.sh's shared one (E2E_FLINK, its
#                        ready file) or one of the script's own; sets REST and GATEWAY,
#                        or returns 1 with FLINK_WHY.
#   tap_from FILE        turns lines "ok - NAME" / "not ok - NAME: WHY" that a checker
#                        (Python) wrote into pass/fail calls; other lines are echoed as
#                        "# ..." comments.
#   kcat_dump TOPIC FILE [ADDR]  every record of TOPIC, from the beginning to its current
#                        end, as kcat -J envelopes (one JSON object a line: partition,
#                        offset, key, payload); read_committed, once no transaction is
#                        open on TOPIC (kcat_settle); bounded by a timeout.
#   kcat_count TOPIC     prints how many records TOPIC holds (via kcat_dump).
#   group_name TAG       a consumer group name unique to this run.
#   bg_track PID         a background process of the test's, stopped (TERM, then KILL
#                        after 5 s) by bg_stop and on exit.
#   wait_bounded PID SECONDS   waits for a background process of the script, at most
#                        SECONDS: its exit status, or 124 when it was still running (it
#                        is then stopped: TERM, KILL 5 s later).  No wait may be unbounded.
#   wait_assigned FILE GROUP SECONDS   waits until an engine run with -X debug=cgrp has
#                        its first partitions from GROUP (librdkafka's "delegating assign
#                        of N partition(s)" line in its stderr FILE); 1 if not in time.
#   wait_group_committed GROUP N SECONDS [TOPIC [ADDR]]   waits until GROUP's committed
#                        offsets on TOPIC (transactions) add up to N or more (streamlab
#                        groups --describe: every broker); 1 if not in time.
#   extra_broker [ARGS]  one more embedded broker (streamlab broker --listen 127.0.0.1:0
#                        ARGS), bg_track'ed; sets EXTRA_BROKER=ADDR (see below).
#
# PY is the Python that has json, kafka-python and confluent_kafka (/usr/bin/python3).

PY=/usr/bin/python3
_E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${STREAMLAB:=$_E2E_ROOT/build/streamlab}"
case $STREAMLAB in /*) ;; *) STREAMLAB=$_E2E_ROOT/$STREAMLAB ;; esac
export STREAMLAB
WORK=

e2e_init() {
    local kind=${1:-} needs=${2:-1}
    case $kind in
        embedded|kafka) ;;
        *) echo "usage: $0 embedded|kafka" >&2; exit 2 ;;
    esac
    KIND=$kind
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-e2e.XXXXXX")
    # Set before broker_start so that broker.sh chains its cleanup onto this trap.
    trap e2e_cleanup EXIT
    if [ ! -x "$STREAMLAB" ]; then
        fail "streamlab is built" "$STREAMLAB missing (make)"
        finish
        exit 1
    fi
    TAP_EXTRA_FAILS=$WORK/.failures
    [ "$needs" = 0 ] && return 0
    if [ "$kind" = kafka ] && [ -n "${E2E_KAFKA:-}" ]; then
        # The Kafka run.sh shares: no broker_stop/broker_restart on it (BROKER_PID is
        # empty, so they do nothing / refuse); a script that needs them is own-broker.
        BROKER=$E2E_KAFKA BROKER_KIND=kafka
        export BROKER BROKER_KIND
        if ! _broker_ready "$BROKER"; then
            fail "the shared Kafka answers on $BROKER"
            finish
            exit 1
        fi
        echo "# the shared Kafka of tests/run.sh on $BROKER"
        return 0
    fi
    if ! broker_start "$kind"; then
        fail "the $kind broker starts"
        finish
        exit 1
    fi
}

E2E_BG_PIDS=()
bg_track() { E2E_BG_PIDS+=("$1"); }
bg_stop() {
    local p
    for p in "${E2E_BG_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${E2E_BG_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    E2E_BG_PIDS=()
}
e2e_cleanup() {
    bg_stop
    if [ -n "${E2E_KEEP_WORK:-}" ] && [ -n "$WORK" ]; then
        echo "# E2E_KEEP_WORK: the scratch dir is kept: $WORK"
    else
        [ -z "$WORK" ] || rm -rf "$WORK"
    fi
}

tap_from() {
    local line
    while IFS= read -r line; do
        case $line in
            "ok - "*) pass "${line#ok - }" ;;
            "not ok - "*)
                line=${line#not ok - }
                case $line in
                    *": "*) fail "${line%%: *}" "${line#*: }" ;;
                    *) fail "$line" ;;
                esac ;;
            *) echo "# $line" ;;
        esac
    done <"$1"
}

# kcat_settle TOPIC [ADDR]: wait (20 s at most) until no partition of TOPIC has an open
# transaction: its read_committed end (the last stable offset) equals its high watermark.
# Still open after 20 s is a failure of the script (counted by finish, also when
# kcat_settle ran in a $( ) subshell) and returns 1.
# A Kafka broker writes the commit markers after EndTxn has answered, so a reader that
# starts the moment a transactional writer has committed can find the LSO still behind
# and, with -e, stop early with records missing.
kcat_settle() {
    local topic=$1 addr=${2:-$BROKER} committed uncommitted
    for _ in $(seq 1 40); do
        # -Q takes one partition per -t; the metadata names them all.
        local parts
        parts=$(timeout 10 kcat -b "$addr" -L -t "$topic" 2>/dev/null |
            sed -n 's/^ *partition \([0-9]*\),.*/\1/p')
        [ -n "$parts" ] || return 0
        local args=() p
        for p in $parts; do args+=(-t "$topic:$p:-1"); done
        committed=$(timeout 10 kcat -b "$addr" -Q "${args[@]}" \
            -X isolation.level=read_committed 2>/dev/null | sort) || committed=x
        uncommitted=$(timeout 10 kcat -b "$addr" -Q "${args[@]}" \
            -X isolation.level=read_uncommitted 2>/dev/null | sort) || uncommitted=y
        [ "$committed" = "$uncommitted" ] && return 0
        sleep 0.5
    done
    echo "# kcat_settle: $topic still has an open transaction after 20 s" >&2
    tap_fail_later "kcat_settle $topic" "a transaction still open after 20 s"
    return 1
}

# kcat_dump TOPIC FILE [ADDR]
kcat_dump() {
    local addr=${3:-$BROKER}
    kcat_settle "$1" "$addr" || return 1
    timeout 60 kcat -b "$addr" -C -t "$1" -o beginning -e -q -J \
        -X isolation.level=read_committed >"$2"
}

kcat_count() {
    local f=$WORK/count.$1.$$
    kcat_dump "$1" "$f" || { echo -1; return 1; }
    wc -l <"$f" | tr -d ' '
}

# e2e_flink: sets REST and GATEWAY (see the top).
e2e_flink() {
    local f=${E2E_FLINK:-} l
    FLINK_WHY=
    if [ -z "$f" ]; then
        if ! "$_E2E_ROOT/tests/flink/flink.sh" fetch >"$WORK/flink-fetch.log" 2>&1; then
            FLINK_WHY="tests/flink/flink.sh fetch: $(tail -3 "$WORK/flink-fetch.log" | tr '\n' ' ')"
            return 1
        fi
        f=$WORK/flink.ready
        setsid bash "$_E2E_ROOT/tests/lib/service.sh" flink "$f" "$WORK/flinksvc" \
            </dev/null >"$WORK/flinksvc.log" 2>&1 &
        bg_track $!
    else
        echo "# the shared Flink of tests/run.sh ($f)"
    fi
    for _ in $(seq 1 700); do [ -s "$f" ] && break; sleep 0.5; done # 350 s at most
    l=$(head -n1 "$f" 2>/dev/null)
    case $l in
        "") FLINK_WHY="Flink not ready after 350 s"; return 1 ;;
        FAILED*) FLINK_WHY=$l; return 1 ;;
    esac
    read -r REST GATEWAY <<<"$l"
    FLINK_DATADIR=$(sed -n 2p "$f" 2>/dev/null) # where flink.sh keeps its files
}

wait_bounded() {
    local pid=$1 end=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$end" ]; then
            echo "# wait_bounded: pid $pid still running after $2 s: stopped"
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            return 124
        fi
        sleep 0.1
    done
    wait "$pid"
}

wait_assigned() {
    local end=$((SECONDS + $3))
    until grep -q "Group \"$2\": delegating assign of [1-9][0-9]* partition" "$1" 2>/dev/null; do
        [ "$SECONDS" -lt "$end" ] || { echo "# wait_assigned: $2 has no partitions after $3 s"; return 1; }
        sleep 0.1
    done
}

# group_committed GROUP [TOPIC [ADDR]]: the sum of GROUP's committed offsets on TOPIC (0 if none).
group_committed() {
    timeout 30 "$STREAMLAB" groups -b "${3:-$BROKER}" --describe "$1" --json 2>/dev/null | $PY -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print(0); sys.exit()
print(sum(max(p.get("committed") or 0, 0) for p in d.get("partitions", []) if p.get("topic") == sys.argv[1]))' "${2:-transactions}"
}

wait_group_committed() {
    local end=$((SECONDS + $3)) n
    while :; do
        n=$(group_committed "$1" "${4:-transactions}" "${5:-$BROKER}")
        [ "${n:-0}" -ge "$2" ] && return 0
        [ "$SECONDS" -lt "$end" ] || { echo "# wait_group_committed: $1 committed $n of $2 after $3 s"; return 1; }
        sleep 0.3
    done
}

group_name() { echo "e2e-$1-$$-$(date +%s%N)"; }

# control_broker           one more embedded broker that takes fault commands on stdin
#                          (`streamlab broker --control`: librdkafka's mock API), on a
#                          FIFO held open on fd 7; bg_track'ed; sets FB=127.0.0.1:PORT
#                          (empty when it did not come up).  Then `say COMMAND` sends one
#                          ("down", "up", "rtt 300", "error 0 7 3") and prints its answer.
#                          Call it from the script's shell, not in $( ).
control_broker() {
    mkfifo "$WORK/ctl"
    "$STREAMLAB" broker --listen 127.0.0.1:0 --control <"$WORK/ctl" >"$WORK/ctl.out" \
        2>"$WORK/broker.err" &
    bg_track $!
    exec 7>"$WORK/ctl" # held open: the broker reads commands until the test ends
    for _ in $(seq 100); do [ -s "$WORK/ctl.out" ] && break; sleep 0.1; done
    FB=$(head -1 "$WORK/ctl.out")
}

say() { # COMMAND: send it to the control_broker and print its answer line
    local n
    n=$(wc -l <"$WORK/ctl.out")
    echo "$1" >&7
    for _ in $(seq 50); do [ "$(wc -l <"$WORK/ctl.out")" -gt "$n" ] && break; sleep 0.1; done
    tail -1 "$WORK/ctl.out"
}

# extra_broker [ARGS...]   starts one more embedded broker, "$STREAMLAB" broker --listen
#                          127.0.0.1:0 ARGS, in the background (bg_track'ed: stopped by
#                          bg_stop and on exit), waits until kcat -L answers (60 s at most)
#                          and sets EXTRA_BROKER=127.0.0.1:PORT and EXTRA_BROKER_PID.
#                          Returns 1 (its stderr on ours) when it does not come up.
#                          Call it from the script's shell, not in $( ).
extra_broker() {
    local n=${#E2E_BG_PIDS[@]} out err addr=
    out=$WORK/extra-broker-$n.out err=$WORK/extra-broker-$n.err
    EXTRA_BROKER= EXTRA_BROKER_PID=
    "$STREAMLAB" broker --listen 127.0.0.1:0 "$@" </dev/null >"$out" 2>"$err" &
    EXTRA_BROKER_PID=$!
    bg_track "$EXTRA_BROKER_PID"
    for _ in $(seq 1 600); do
        if [ -z "$addr" ] && [ -s "$out" ]; then
            addr=$(head -n1 "$out")
            [[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]] || addr=
        fi
        if [ -n "$addr" ] && timeout 5 kcat -b "$addr" -L -m 2 2>/dev/null | grep -q ' broker [0-9-]* at '; then
            EXTRA_BROKER=$addr
            return 0
        fi
        kill -0 "$EXTRA_BROKER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "e2e.sh: streamlab broker --listen 127.0.0.1:0 $* did not come up; stderr:" >&2
    tail -n 20 "$err" >&2
    return 1
}
