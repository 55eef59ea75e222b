# tests/lib/e2e.sh — shared by the end-to-end scripts (tests/e2e_*.sh). Source it after
# tests/lib/tap.sh and tests/lib/broker.sh, then:
#
#   e2e_init KIND [NEEDS_BROKER]
#                        checks KIND (embedded|kafka), makes the scratch dir $WORK
#                        (removed on exit), and unless NEEDS_BROKER=0 starts the broker
#                        (broker_start KIND: exports BROKER). On a broker failure it
#                        prints "not ok", the counts, and exits 1.
#   tap_from FILE        turns lines "ok - NAME" / "not ok - NAME: WHY" that a checker
#                        (Python) wrote into pass/fail calls; other lines are echoed as
#                        "# ..." comments.
#   kcat_dump TOPIC FILE every record of TOPIC, from the beginning to its current end, as
#                        kcat -J envelopes (one JSON object a line: partition, offset,
#                        key, payload); read_committed; bounded by a timeout.
#   kcat_count TOPIC     prints how many records TOPIC holds (via kcat_dump).
#   group_name TAG       a consumer group name unique to this run.
#   bg_track PID         a background process of the test's, stopped (TERM, then KILL
#                        after 5 s) by bg_stop and on exit.
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
    [ "$needs" = 0 ] && return 0
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
    [ -z "$WORK" ] || rm -rf "$WORK"
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

kcat_dump() {
    timeout 60 kcat -b "$BROKER" -C -t "$1" -o beginning -e -q -J \
        -X isolation.level=read_committed >"$2"
}

kcat_count() {
    local f=$WORK/count.$1.$$
    kcat_dump "$1" "$f" || { echo -1; return 1; }
    wc -l <"$f" | tr -d ' '
}

group_name() { echo "e2e-$1-$$-$(date +%s%N)"; }
