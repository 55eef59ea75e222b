#!/usr/bin/env bash
# e2e_clients.sh KIND — the Debian Kafka clients against the broker.
#
# kafka: tests/kafka/check_clients.sh in full — consumer groups with commits
#   (kcat -G), the idempotent and the transactional producer, offsets in a
#   transaction, every compression codec, the Admin API, kafka-python.  This is
#   what proves the Kafka version the project runs (README: "Why 4.4.0").
# embedded: what the mock cluster supports — the idempotent producer, the
#   codecs and kafka-python's group — plus one kcat -G consumer group read whose
#   committed offsets `streamlab groups --describe` must then show.  (A group
#   rejoined right after a member left waits out the session timeout on the
#   mock, so check_clients' three-read group check is for real Kafka only.)
# run.sh: limit=240 min.embedded=5 min.kafka=7
set -uo pipefail
cd "$(dirname "$0")/.."
source tests/lib/tap.sh
source tests/lib/broker.sh
source tests/lib/e2e.sh
e2e_init "${1:-}"

run_checks() {
    local out=$WORK/checks.txt
    CHECK_ONLY="$1" bash tests/kafka/check_clients.sh "$BROKER" >"$out" 2>&1
    while IFS= read -r line; do
        case $line in
            PASS\ *) pass "clients: ${line#PASS }" ;;
            FAIL\ *) fail "clients: ${line#FAIL }" "$(tr '\n' ' ' <"$out" | tail -c 400)" ;;
        esac
    done <"$out"
    grep -qE '^(PASS|FAIL) ' "$out" || fail "check_clients.sh printed no result" "$(tail -5 "$out")"
}

if [ "$KIND" = kafka ]; then
    run_checks "group idempotence transactions txn-offsets compression admin kafka-python"
else
    run_checks "idempotence compression kafka-python"
    t=clients-$RANDOM$RANDOM g=$(group_name kcatgroup)
    seq 1 30 | sed 's/.*/k&:v&/' | timeout 60 kcat -b "$BROKER" -P -K: -t "$t"
    n=$(timeout 60 kcat -b "$BROKER" -G "$g" -X auto.offset.reset=earliest \
        -X enable.partition.eof=true -e -q -f '%k=%s\n' "$t" | wc -l)
    expect_eq "kcat -G reads the 30 records as a consumer group" 30 "$n"
    committed=$("$STREAMLAB" groups -b "$BROKER" --describe "$g" --json 2>"$WORK/groups.err" |
        $PY -c 'import json,sys; d=json.load(sys.stdin); print(sum(p["committed"] for p in d["partitions"] if p["topic"]=="'"$t"'"))' 2>>"$WORK/groups.err")
    expect_eq "the group's committed offsets add up to 30 (streamlab groups --describe)" 30 "$committed"
fi
finish
