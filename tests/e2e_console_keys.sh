#!/usr/bin/env bash
# e2e_console_keys.sh KIND — what the console's keys do, not only the keymap table, and
# the console's --web; driven through tmux at 160x48 on the console's own embedded broker.
#
#   p starts the producer; ] raises its rate one step (100/s -> 1k/s) and [ lowers it
#   (1k -> 100 -> 20/s): the status bar and the producer follow.
#   - nudges pane 1's filter threshold down (100 -> 90): the status bar and pane 1 say so,
#   and on the wire the engine now passes a record of amount 95.00 that kcat writes after
#   the key, and still drops one of 85.00 (a record of 500 after it, on the same
#   partition, shows the engine got that far).  Before the key, a 95.00 was dropped.
#   space pauses the feed: [PAUSED], and pane 1's rows stay as they were while the engine
#   reads 20 more records; space again: the feed moves on.
#   / books Enter shows only books rows ("/books" in the pane's header); / Enter clears it.
#   --web=127.0.0.1:PORT: the upload page answers (GET /), a 1.5 MB text file posted to
#   /upload is sent (HTTP 200) and pane 5 shows it processed by the files pipeline.
# The keys act on the console, not on the broker: this runs once, on the embedded kind.
# run.sh: runs=once lane=e limit=300 min=28
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
e2e_init "${1:-}" 0
. tests/lib/console.sh
command -v tmux >/dev/null || { fail "tmux is installed"; finish; exit 1; }

console_listen keys 160 48 "6 Kafka & engine" --web=127.0.0.1:@WEBPORT@ ||
    { fail "the console starts on a free port"; finish; exit 1; }
MUST_LIVE=1
expect "the console opens (pane 6)" 60 has "6 Kafka & engine" || { finish; exit 1; }
expect "the status bar says the producer is off at 100/s" 10 has "producer off 100/s"

# --- [ and ] ------------------------------------------------------------------------
key p
expect "p: the producer runs at 100/s" 10 has "producer ON 100/s"
key ']'
expect "]: one step up, 1k/s" 10 has "producer ON 1.00k/s"
key '['
expect "[: one step down, 100/s" 10 has "producer ON 100/s"
key '['
expect "[ again: 20/s" 10 has "producer ON 20/s"

# --- - (nudge the focused pane's threshold) -----------------------------------------
# rec ID AMOUNT: one transaction, key k-nudge (one partition for all of them, in order).
rec() {
    printf '{"transaction_id":"%s","user_id":"k-nudge","product":"lamp","category":"home","amount":%s,"quantity":1,"payment_method":"paypal","timestamp":"%s","location":"city_1"}\n' \
        "$1" "$2" "$(date +%Y-%m-%dT%H:%M:%S.000000)"
}
send() { rec "$1" "$2" | timeout 30 kcat -b "$BROKER" -P -t transactions -k k-nudge; }
processed_ids() {
    timeout 30 kcat -b "$BROKER" -C -t processed_transactions -o beginning -e -q -f '%s\n' 2>/dev/null |
        grep -o '"transaction_id":"knudge-[a-z0-9-]*"' | sort -u
}
wait_processed() { # ID: until ID is in processed_transactions (60 s)
    local end=$((SECONDS + 60))
    until processed_ids | grep -q "\"$1\""; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.5
    done
}
send knudge-before-95 95.00
send knudge-before-sentinel 500.00
wait_processed knudge-before-sentinel
check "before -: a sentinel record after a 95.00 one is processed" test $? = 0
if processed_ids | grep -q '"knudge-before-95"'; then fail "before -: 95.00 is dropped (threshold 100)"
else pass "before -: 95.00 is dropped (threshold 100)"; fi
key 1
key -
expect "-: pane 1 says > 90.00" 10 has "> 90.00"
expect "-: the status bar says filter > 90.00" 10 has "filter > 90.00"
send knudge-after-95 95.00
send knudge-after-85 85.00
send knudge-after-sentinel 500.00
wait_processed knudge-after-sentinel
check "after -: the sentinel record is processed" test $? = 0
processed_ids | grep -q '"knudge-after-95"'
check "after -: 95.00 passes the threshold of 90" test $? = 0
if processed_ids | grep -q '"knudge-after-85"'; then fail "after -: 85.00 is still dropped"
else pass "after -: 85.00 is still dropped"; fi

# --- space (pause the feed) ------------------------------------------------------------
feed() { # pane 1's rows (time, user, category, amount), top first; the fraud alerts
    snap  # under the feed (their own rows, any category) are not the feed
    sed '/^│FRAUD ALERTS/,$d' <<<"$SCREEN" | grep -oE '^│[0-9]{2}:[0-9]{2}:[0-9]{2} user_[^│]*'
}
source_in() { # the engine's source:transactions IN count (pane 6)
    snap
    grep -oE 'source:transactions +[0-9]+' <<<"$SCREEN" | grep -oE '[0-9]+$' | head -1
}
source_above() { local n; n=$(source_in); [ "${n:-0}" -gt "$1" ]; }
key Space
expect "space: pane 1 says [PAUSED] (cut to the pane's width)" 10 has "[PAUSE"
paused=$(feed)
n0=$(source_in)
wait_for 60 source_above "$((${n0:-0} + 20))"
check "while paused the engine reads 20 more records" test $? = 0
now=$(feed)
if [ -n "$paused" ] && [ "$paused" = "$now" ]; then pass "space: the feed's rows stay as they were"
else fail "space: the feed's rows stay as they were" "before: $(head -2 <<<"$paused") now: $(head -2 <<<"$now")"; fi
key Space
expect "space again: [PAUSED] goes" 10 has_none "[PAUSE"
moved() { [ "$(feed)" != "$paused" ]; }
expect "space again: the feed moves on" 60 moved

# --- / (filter the feed) ---------------------------------------------------------------
key /
expect "/ asks for the feed's filter" 10 has "filter the feed (empty clears):"
typed books
key Enter
expect "/books: pane 1's header says /books" 10 has "/books"
only_books() {
    local rows
    rows=$(feed)
    [ "$(wc -l <<<"$rows")" -ge 3 ] && ! grep -vqE '^│\S+ +user_\S+ +books ' <<<"$rows"
}
expect "/books: the feed shows books rows only" 60 only_books
key /
key Enter
other_rows() { feed | grep -qvE '^│\S+ +user_\S+ +books '; }
expect "/ Enter (empty) clears the filter: other categories again" 60 other_rows
key p
expect "p: the producer stops" 10 has "producer off"

# --- --web ---------------------------------------------------------------------------------
WEB=127.0.0.1:$WEB_PORT
page=$(curl -s --max-time 10 "http://$WEB/")
case $page in *"<form"*|*"<input"*) pass "--web: the upload page answers on $WEB" ;;
    *) fail "--web: the upload page answers on $WEB" "$(head -c 200 <<<"$page")" ;; esac
head -c 1100000 /dev/urandom | base64 -w 76 >"$WORK/console-web.txt"
code=$(curl -s --max-time 60 -o "$WORK/post.out" -w '%{http_code}' \
    -F "file=@$WORK/console-web.txt" "http://$WEB/upload")
expect_eq "--web: POST /upload of a 1.5 MB text file answers 200" 200 "$code"
key 5
expect "--web: pane 5 shows the file processed" 120 has "console-web.tx"
expect "--web: pane 5 counts it (processed 1)" 10 has "processed 1"
console_quit "the console"
finish
