#!/usr/bin/env bash
# e2e_newcomer.sh KIND — issue 19's console stumbles, each reproduced in tmux.
# run.sh: runs=once lane=e limit=600 min=50
#
# The console's own broker only (run.sh: runs=once, with KIND=embedded):
#   - the default address taken: with 127.0.0.1:9092 held by a plain socket (or by
#     whoever holds it already), `streamlab` with no --listen opens anyway on another
#     port; its title bar says "127.0.0.1:9092 was taken" next to the address it took;
#     kcat -L reaches that address; after q one stderr line says where the broker
#     listened and how to attach kcat.  `--listen` on the held address still fails
#     ("Address already in use", exit 1): an address the user asked for is kept.
#   - the inspector's g below the log start: 12,000 records of 1 KB to late_transactions
#     [0] make retention remove the oldest (log start L > 5); i, late_transactions, g 5
#     Enter says "offset 5 was removed by retention; the oldest is L", selects offset L,
#     and the message is still there 2 s later.
#   - internal topics: with the producer on (--autostart), kcat -L lists
#     streamlab-console-state and no name with "streamlab-streamlab-"; `streamlab engine
#     --group streamlab-newcomer` on the same broker makes
#     streamlab-newcomer-repartition-category_windows; pane 6 lists them under "internal
#     (the engine's own):", in the dim colour (SGR 34), a long name cut in the middle ("…"
#     between its start and end) at 160 columns and whole when zoomed; the inspector's
#     list says "internal" in its KIND column for them.
#   - the dashboard's operator tree (d): each operator one level under the one it reads
#     from: map:discount under filter:amount, sink:high_value_transactions under
#     filter:high_value, map:enrich under map:analysis, window:category:late under
#     window:category (its side output), key_by:category level with filter:high_value.
#   - latency over the last 10 s: 3000 transactions wait 12 s on a broker before the
#     console (-b, --autostart) reads them, so their latency is over 10 s; pane 6 first
#     shows a p50 over 10,000 ms, then, with only live records in the last 10 s, a p99
#     under 5,000 ms (a latency since the start would keep the backlog's for ever); the
#     line says "(10 s)".
#   - text whole: at 160 columns pane 5's hint is wrapped ("images);" on screen); zoomed,
#     pane 6 shows whole operator names (sink:processed_transactions).
#   - uploads in the console (u): a file that cannot be sent puts "upload of NAME FAILED:
#     <why>" on the status line, in red (tmux capture -e: SGR 31), where it said
#     "uploading" before; a file of 1 KB says on the status line where it landed and that
#     it is not analysed because only files over 1 MB are (the original's rule), naming
#     --file-min-size; pane 5 shows that detail whole (wrapped, not cut) at 160 columns,
#     zoomed; with --file-min-size 0 the same file gets no such note.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

kind=${1:-}
e2e_init "$kind" 0
# (runs=once: run.sh runs it with KIND=embedded only; it never uses a given broker)
command -v tmux >/dev/null || { fail "tmux is installed"; finish; exit 1; }
. tests/lib/console.sh

row() { sed -n "$1p" <<<"$SCREEN"; }
title_has() { grep -qF -- "$1" <<<"$(row 1)"; }
six_panes() { has "1 Transactions" && has "6 Kafka & engine"; }

# --- the default port taken ------------------------------------------------------------
# Hold 127.0.0.1:9092 with a plain listening socket unless something holds it already.
$PY -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", 9092)); s.listen(1)
    print("held", flush=True)
except OSError:
    print("taken", flush=True)
    sys.exit(0)
time.sleep(600)
' >"$WORK/hold.out" &
bg_track $!
for _ in $(seq 1 50); do [ -s "$WORK/hold.out" ] && break; sleep 0.1; done
echo "# 127.0.0.1:9092: $(cat "$WORK/hold.out") (held: by this test; taken: by someone else)"

console_start taken 160 48
MUST_LIVE=1
if expect "9092 taken: the console opens anyway" 60 six_panes; then
    expect "9092 taken: the title bar says 127.0.0.1:9092 was taken" 10 \
        title_has "(127.0.0.1:9092 was taken)"
    addr=$(row 1 | grep -oE 'embedded broker 127\.0\.0\.1:[0-9]+' | grep -oE '[0-9.]+:[0-9]+$')
    if [ -n "$addr" ] && [ "$addr" != 127.0.0.1:9092 ]; then
        pass "9092 taken: the title bar names the address taken instead ($addr)"
    else
        fail "9092 taken: the title bar names the address taken instead" "title: $(row 1)"
    fi
    if [ -n "$addr" ] && timeout 10 kcat -b "$addr" -L 2>/dev/null | grep -q 'topic "transactions"'; then
        pass "9092 taken: kcat -L on $addr sees transactions"
    else
        fail "9092 taken: kcat -L on ${addr:-?} sees transactions"
    fi
    MUST_LIVE=0
    console_quit "9092 taken"
    expect "9092 taken: after q a stderr line says where the broker was and how to attach kcat" 5 \
        has_re "127\.0\.0\.1:9092 was taken; the embedded broker listens on ${addr:-x} \(attach: kcat -b ${addr:-x} -L\)"
fi

console_start listen 100 30 --listen 127.0.0.1:9092
MUST_LIVE=0
expect "--listen 127.0.0.1:9092 (taken) fails: the address the user asked for is kept" 30 \
    has_re '^EXIT=1$'
expect "--listen on a taken address says so" 5 has "Address already in use"

bg_stop

# --- the inspector's g below the log start ------------------------------------------------
port=$(free_port)
BROKER=127.0.0.1:$port
console_start insp 120 40 --listen "$BROKER"
MUST_LIVE=1
if expect "inspector: the console opens" 60 six_panes; then
    $PY -c 'import sys
for i in range(12000): sys.stdout.write("%06d %s\n" % (i, "x" * 1000))' |
        timeout 60 kcat -P -b "$BROKER" -t late_transactions -p 0 2>"$WORK/kcat.err"
    lo=$(timeout 30 "$STREAMLAB" topics -b "$BROKER" --json | $PY -c 'import json,sys
print([p["log_start"] for t in json.load(sys.stdin) if t["topic"] == "late_transactions"
       for p in t["partitions"] if p["partition"] == 0][0])')
    if [ "${lo:-0}" -gt 5 ]; then
        pass "retention removed the oldest records of late_transactions[0] (log start $lo)"
    else
        fail "retention removed the oldest records of late_transactions[0]" "log start ${lo:-?}"
    fi
    key i
    expect "inspector: i opens the topic list" 20 has_all "Inspector" "TOPIC"
    typed late_transactions
    key Enter
    expect "inspector: late_transactions opens at partition 0" 20 has "late_transactions  partition 0 of 3"
    key g
    typed 5
    key Enter
    expect "inspector: g 5 says offset 5 was removed by retention and names the oldest" 20 \
        has "offset 5 was removed by retention; the oldest is $lo"
    expect "inspector: g 5 lands on the oldest record (offset $lo)" 10 has "offset: $lo"
    sleep 2
    expect "inspector: the message is still there 2 s later" 1 \
        has "offset 5 was removed by retention; the oldest is $lo"
    key Escape
    key Escape
    MUST_LIVE=0
    console_quit "inspector"
fi

# --- internal topics: named once, marked --------------------------------------------------
port=$(free_port)
console_start internal 160 48 --listen "127.0.0.1:$port" --autostart
MUST_LIVE=1
if expect "internal: the console opens" 60 six_panes; then
    expect "internal: pane 6 groups the engine's topics under \"internal\"" 90 \
        has "internal (the engine's own):"
    timeout 120 "$STREAMLAB" engine -b "127.0.0.1:$port" --group streamlab-newcomer --count 100 \
        >"$WORK/engine.out" 2>&1 </dev/null
    names=$(timeout 10 kcat -b "127.0.0.1:$port" -L 2>/dev/null | sed -n 's/^ *topic "\([^"]*\)".*/\1/p')
    grep -qx "streamlab-newcomer-repartition-category_windows" <<<"$names" &&
        pass "internal: group streamlab-newcomer's repartition topic is streamlab-newcomer-repartition-category_windows" ||
        fail "internal: group streamlab-newcomer's repartition topic is streamlab-newcomer-repartition-category_windows" "$(tr '\n' ' ' <<<"$names")"
    grep -qx "streamlab-console-state" <<<"$names" &&
        pass "internal: the state topic is streamlab-console-state" ||
        fail "internal: the state topic is streamlab-console-state" "$(tr '\n' ' ' <<<"$names")"
    if grep -q "streamlab-streamlab-" <<<"$names"; then
        fail "internal: no topic is named streamlab-streamlab-…" "$(grep streamlab-streamlab- <<<"$names" | head -3 | tr '\n' ' ')"
    else
        pass "internal: no topic is named streamlab-streamlab-…"
    fi
    expect "internal: at 160 columns the long name is cut in the middle" 10 \
        has_re 'streamlab-[a-z_-]*…[a-z_-]*(state|windows) '
    dim=$(tm capture-pane -p -e -t "$S" | grep -F "streamlab-" | grep -v "group streamlab" | head -1)
    if grep -q $'\e\[[0-9;]*34m' <<<"$dim"; then
        pass "internal: their rows are dim (blue)"
    else
        fail "internal: their rows are dim (blue)" "$(cat -v <<<"$dim" | head -c 300)"
    fi
    key 6
    key Enter
    expect "internal: zoomed, pane 6 shows the whole name" 10 \
        has "streamlab-newcomer-repartition-category_windows"
    expect "operators: zoomed, pane 6 shows whole operator names (sink:processed_transactions)" 10 \
        has_re "sink:processed_transactions +[0-9]"
    key Enter
    key i
    expect "internal: the inspector's list has a KIND column" 20 has_all "TOPIC" "KIND"
    kind_row() { grep -qE 'streamlab-console-state +internal' <<<"$SCREEN"; }
    expect "internal: the inspector says internal for streamlab-console-state" 10 kind_row
    key Escape
    key d
    expect "tree: d opens the dashboard" 10 has "OPERATORS"
    # level NAME: the column of the arrow in front of NAME (-1: not found)
    level() { $PY -c 'import sys
name = sys.argv[1]
for l in sys.stdin.read().splitlines():
    t = l.replace("\u2502", " ")
    i = t.find("\u2514\u25b6" + name + " ")
    if i >= 0:
        print(i); break
else:
    print(-1)' "$1" <<<"$SCREEN"; }
    under() { # under CHILD PARENT: CHILD's arrow one column right of PARENT's
        local c p
        c=$(level "$1"); p=$(level "$2")
        [ "$c" -ge 0 ] && [ "$p" -ge 0 ] && [ "$c" = $((p + 1)) ]
    }
    same() { local c p; c=$(level "$1"); p=$(level "$2"); [ "$c" -ge 0 ] && [ "$c" = "$p" ]; }
    expect "tree: map:discount one level under filter:amount" 10 under map:discount filter:amount
    expect "tree: sink:high_value_transactions under filter:high_value" 5 \
        under sink:high_value_transactions filter:high_value
    expect "tree: key_by:category level with filter:high_value (both read map:discount)" 5 \
        same key_by:category filter:high_value
    expect "tree: window:category:late (a side output) under window:category" 5 \
        under window:category:late window:category
    expect "tree: map:enrich under map:analysis" 5 under map:enrich map:analysis
    key d
    MUST_LIVE=0
    console_quit "internal"
fi

# --- latency over a sliding window --------------------------------------------------------
extra_broker
LB=$EXTRA_BROKER
if [ -n "$LB" ]; then
    "$STREAMLAB" produce transactions -b "$LB" --count 3000 --rate 0 >/dev/null 2>&1
    sleep 12
    console_start latency 160 48 -b "$LB" --autostart
    MUST_LIVE=1
    lat_ms() { grep -oE 'transactions: .*latency \(10 s\) p50 [0-9.]+ ms p99 [0-9.]+ ms' <<<"$SCREEN" | head -1; }
    p50_over() { local l; l=$(lat_ms); [ -n "$l" ] && awk -v m="$1" '{for(i=1;i<=NF;i++) if($i=="p50") exit !($(i+1) > m)}' <<<"$l"; }
    p99_under() { local l; l=$(lat_ms); [ -n "$l" ] && awk -v m="$1" '{for(i=1;i<=NF;i++) if($i=="p99") exit !($(i+1) < m)}' <<<"$l"; }
    if expect "latency: the console opens" 60 six_panes; then
        key 6
        key Enter # zoomed: pane 6 alone, its lines whole
        expect "latency: the backlog shows: p50 over 10,000 ms (last 10 s)" 90 p50_over 10000
        expect "latency: once only live records were output in the last 10 s, p99 under 5,000 ms" 60 \
            p99_under 5000
        MUST_LIVE=0
        console_quit "latency"
    fi
    bg_stop
else
    fail "latency: an extra broker starts"
fi

# --- uploads say what happened ------------------------------------------------------------
status() { sed -n "${ROWS}p" <<<"$SCREEN"; }
status_has() { grep -qF -- "$1" <<<"$(status)"; }
printf 'hello newcomer\n%.0s' $(seq 1 60) >"$WORK/small.txt"
port=$(free_port)
console_start up 160 48 --listen "127.0.0.1:$port"
MUST_LIVE=1
if expect "uploads: the console opens" 60 six_panes; then
    expect "hints: pane 5's hint is wrapped at 160 columns, not cut (\"images);\" shows)" 10 \
        has "images);"
    key u
    typed "$WORK/no-such-file.pdf"
    key Enter
    expect "uploads: a file that cannot be sent: the status line says FAILED and why" 30 \
        status_has "upload of no-such-file.pdf FAILED: "
    red=$(tm capture-pane -p -e -t "$S" | sed -n "${ROWS}p")
    if grep -q $'\e\[[0-9;]*31[;m]' <<<"$red"; then
        pass "uploads: the failure is in red on the status line"
    else
        fail "uploads: the failure is in red on the status line" "$(cat -v <<<"$red" | head -c 300)"
    fi
    key u
    typed "$WORK/small.txt"
    key Enter
    expect "uploads: a 1 KB file: the status line says where it landed and why it is not analysed" 60 \
        status_has "small.txt sent -> uploaded_documents"
    expect "uploads: ... only files over 1 MB are analysed (the original's rule), --file-min-size changes it" 5 \
        status_has "not analysed: only files over 1 MB are, the original's rule; --file-min-size MB changes it"
    key 5
    key Enter
    flat() { tr -s ' \n│' ' ' <<<"$SCREEN"; }
    detail_whole() { grep -qF "the original's rule; --file-min-size MB changes it" <<<"$(flat)"; }
    expect "uploads: zoomed pane 5 shows the detail whole (wrapped, not cut)" 10 detail_whole
    key Enter
    MUST_LIVE=0
    console_quit "uploads"
fi
port=$(free_port)
console_start up0 160 48 --listen "127.0.0.1:$port" --file-min-size 0
MUST_LIVE=1
if expect "uploads --file-min-size 0: the console opens" 60 six_panes; then
    key u
    typed "$WORK/small.txt"
    key Enter
    expect "uploads --file-min-size 0: the 1 KB file is sent" 60 status_has "small.txt sent -> uploaded_documents"
    if status_has "not analysed"; then
        fail "uploads --file-min-size 0: no \"not analysed\" note" "$(status)"
    else
        pass "uploads --file-min-size 0: no \"not analysed\" note"
    fi
    MUST_LIVE=0
    console_quit "uploads --file-min-size 0"
fi

finish
