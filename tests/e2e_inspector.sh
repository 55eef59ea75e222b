#!/usr/bin/env bash
# e2e_inspector.sh KIND — the message inspector (i) on records whose content the test
# chose, driven through tmux at 80x24 (KIND=embedded: the console's own broker;
# KIND=kafka: a real Kafka and -b).
#
#   - kcat writes a probe record to late_transactions partition 1: a known key, a header
#     source=e2e-<run>, and a JSON value with a unique probe id, a real, a nested object
#     and a 3,000-byte JPEG-looking payload in base64; then two filler records after it.
#     Its offset is the partition's end offset read just before (nothing else writes
#     there: the producer is off).
#   - i, "late_transactions", Enter, Right (partition 1), g OFFSET Enter: the screen shows
#     "partition 1 of 3", the key, partition and offset line of the probe, its header,
#     its JSON fields pretty-printed ("probe": "<id>", "amount": 123.45, "ok": true) and
#     the payload summarised (<base64: 3,000 bytes, JPEG image>), never dumped.
#   - / <id> Enter: the search finds the probe (its offset at the top of the list).
#   - f: following; a record written afterwards by kcat appears at the top by itself.
#   - a DLQ: kcat writes a broken transaction to `transactions`; the engine sends it to
#     transactions.dlq (kcat finds its partition and offset); the inspector opened on
#     transactions.dlq at that partition, g OFFSET, shows its "error" and "original" text.
#   - Esc twice closes the inspector; d shows the engine dashboard (operators of the
#     transaction pipeline, the dead letter counted at its source, the engine group's
#     lag) and Esc closes it; q exits 0.
# run.sh: limit=240 min=24
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

kind=${1:-}
case $kind in
    embedded) e2e_init "$kind" 0 ;;
    kafka) e2e_init "$kind" ;;
    *) e2e_init "$kind" ;;
esac
command -v tmux >/dev/null || { fail "tmux is installed"; finish; exit 1; }
. tests/lib/console.sh

if [ "$kind" = embedded ]; then
    console_listen insp 80 24 "6 Kafka & engine" || { fail "a free port"; finish; exit 1; }
else
    console_start insp 80 24 -b "$BROKER"
fi
expect "the console opens" 60 has "6 Kafka & engine" || { finish; exit 1; }
# The engine has made the seed topics once the Kafka pane lists the group's lag or the
# topics answer: wait until kcat sees late_transactions with 3 partitions.
nparts() {
    timeout 10 kcat -b "$BROKER" -L -J -t "$1" 2>/dev/null |
        $PY -c 'import json,sys; t=json.load(sys.stdin)["topics"][0]; print(0 if t.get("err") else len(t["partitions"]))' 2>/dev/null
}
for _ in $(seq 1 60); do [ "$(nparts late_transactions)" = 3 ] && break; sleep 0.5; done
expect_eq "late_transactions has 3 partitions" 3 "$(nparts late_transactions)"

end_offset() { # end_offset TOPIC PARTITION (ListOffsets; retried: a new topic's leader
    local o          # may answer "not leader" for a moment)
    for _ in $(seq 1 20); do
        o=$(timeout 10 kcat -b "$BROKER" -Q -t "$1:$2:-1" 2>/dev/null | sed -nE 's/^.* offset ([0-9]+)$/\1/p')
        [ -n "$o" ] && { echo "$o"; return 0; }
        sleep 0.5
    done
    return 1
}
RUN=$RANDOM$RANDOM
PROBE="probe-$RUN"
PKEY="probe-key-$RUN"
JPEG=$($PY -c 'import base64; print(base64.b64encode(bytes([0xFF,0xD8,0xFF,0xE0]) + bytes((i*7)%256 for i in range(2996))).decode())')
OFF=$(end_offset late_transactions 1) || { fail "kcat reads the end offset of late_transactions[1]"; finish; exit 1; }
printf '{"probe":"%s","amount":123.45,"nested":{"ok":true},"frame_data":"%s"}\n' "$PROBE" "$JPEG" |
    kcat -b "$BROKER" -P -t late_transactions -p 1 -k "$PKEY" -H "source=e2e-$RUN" 2>"$WORK/kcat.err"
printf '{"filler":1}\n{"filler":2}\n' | kcat -b "$BROKER" -P -t late_transactions -p 1 -k filler
AFTER=$(end_offset late_transactions 1)
expect_eq "kcat wrote 3 records to late_transactions[1] (end $OFF -> $AFTER)" $((OFF + 3)) "$AFTER"
echo "# the probe is at late_transactions[1] offset $OFF"

key i
expect "i opens the inspector's topic list" 20 has_all "Inspector" "TOPIC"
typed late_transactions
expect "typing narrows the list to late_transactions" 20 has "topic: late_transactions_"
key Enter
expect "Enter opens late_transactions at partition 0" 20 has "late_transactions  partition 0 of 3"
key Right
expect "Right goes to partition 1 (its offsets up to $AFTER - 1)" 20 \
    has "late_transactions  partition 1 of 3  offsets 0-$((AFTER - 1))"
key g
typed "$OFF"
key Enter
probe_shown() {
    has_all "key: $PKEY   partition: 1   offset: $OFF" "headers: source=e2e-$RUN" \
        "\"probe\": \"$PROBE\"," "\"amount\": 123.45," "\"ok\": true"
}
expect "g $OFF: the probe's key, partition, offset, header and JSON fields are shown" 20 probe_shown
expect "its base64 payload is summarised, not dumped" 5 has "\"frame_data\": <base64: 3,000 bytes, JPEG image>"
expect "the value is marked JSON with its size" 5 has_re "value: [0-9]+ bytes, JSON"
if has "${JPEG:0:40}"; then fail "the base64 text itself is not on the screen"; else pass "the base64 text itself is not on the screen"; fi

key /
typed "$PROBE"
key Enter
expect "/ $PROBE finds the probe at offset $OFF" 30 \
    has_all "search: $PROBE" "key: $PKEY   partition: 1   offset: $OFF"
key c
key f
expect "f follows the partition" 10 has "[FOLLOW]"
printf '{"followed":"%s"}\n' "$RUN" | kcat -b "$BROKER" -P -t late_transactions -p 1 -k follow-key
expect "a record written while following appears at the top by itself" 20 \
    has_all "key: follow-key   partition: 1   offset: $AFTER" "\"followed\": \"$RUN\""

# A dead letter: the engine sends a transaction that does not parse to transactions.dlq.
# kcat finds where it landed (partition, offset); the inspector must show it there.
printf 'not a transaction %s\n' "$RUN" | kcat -b "$BROKER" -P -t transactions -p 2 -k broken
DLQ=
for _ in $(seq 1 60); do
    DLQ=$(timeout 10 kcat -b "$BROKER" -C -t transactions.dlq -o beginning -e -q -J 2>/dev/null |
        $PY -c 'import json,sys
for l in sys.stdin:
    e = json.loads(l)
    if sys.argv[1] in (e.get("payload") or ""):
        print(e["partition"], e["offset"]); break' "not a transaction $RUN")
    [ -n "$DLQ" ] && break
    sleep 1
done
read -r DP DO <<<"$DLQ"
if [ -n "$DLQ" ]; then pass "the engine wrote the broken record to transactions.dlq[$DP] offset $DO"; else fail "the engine wrote the broken record to transactions.dlq"; fi
key Escape
expect "Esc goes back to the topic list" 10 has "topic: late_transactions_"
for _ in $(seq 1 20); do key BSpace; done
typed transactions.dlq
key Enter
expect "transactions.dlq opens" 20 has "transactions.dlq  partition 0 of 3"
for _ in $(seq 1 "${DP:-0}"); do key Right; done
expect "transactions.dlq partition ${DP:-?} is shown" 20 has "transactions.dlq  partition ${DP:-?} of 3"
key g
typed "${DO:-0}"
key Enter
expect "g ${DO:-?}: the dead letter shows its error and the original text" 30 \
    has_all "partition: ${DP:-?}   offset: ${DO:-?}" '"error": ' "\"original\": \"not a transaction $RUN\""
key Escape
key Escape
expect "Esc twice closes the inspector (the panes show)" 10 has "1 Transactions"

# The engine dashboard: the transaction pipeline's operators with the broken record
# counted as a dead letter at its source, and the engine group's lag.
key d
dash() {
    has_all "Engine dashboard" "OPERATORS" "source:transactions" "filter:amount" "key_by:category" \
        "window:category" &&
        has_re 'source:transactions +[0-9.k]+ +[0-9.k]+ +[0-9.k]+ +[0-9.k]+ +[-0-9:]+ +0 +[1-9]'
}
expect "d shows the dashboard: the operators, the dead letter counted at the source" 30 dash
key End
expect "End scrolls to the engine group's per-partition lag" 30 \
    has_all "CONSUMER LAG" "streamlab-console (the engine)" "transactions[2]="
key Escape
expect "Esc closes the dashboard" 10 has "1 Transactions"
console_quit inspector
finish
