#!/usr/bin/env bash
# e2e_newcomer.sh KIND — issue 19's console stumbles, each reproduced in tmux.
#
# KIND=embedded only (the console's own broker; KIND=kafka prints "ok - skipped"):
#   - the default address taken: with 127.0.0.1:9092 held by a plain socket (or by
#     whoever holds it already), `streamlab` with no --listen opens anyway on another
#     port; its title bar says "127.0.0.1:9092 was taken" next to the address it took;
#     kcat -L reaches that address; after q one stderr line says where the broker
#     listened and how to attach kcat.  `--listen` on the held address still fails
#     ("Address already in use", exit 1): an address the user asked for is kept.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

kind=${1:-}
e2e_init "$kind" 0
if [ "$kind" != embedded ]; then
    pass "skipped: the console's own broker only (KIND=embedded)"
    finish
    exit
fi
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
finish
