#!/usr/bin/env bash
# e2e_walkthrough.sh KIND — the guided tour, driven through tmux at 80x24.
#
# Starts `streamlab --walkthrough` (KIND=embedded: the console's own broker on a free
# port; KIND=kafka: a real Kafka and -b), then for every step of assets/walkthrough.txt,
# in order: waits for "Walkthrough N/M", does what the step asks (by its check: p starts
# the producer, i opens the inspector on "transactions", t 500 Enter raises the filter,
# l turns late events on, c starts a second consumer in the demo group, v starts video,
# u uploads), and asserts that the step's ✓ appears ("✓ done"). The ✓ comes from the
# live state (tui/walkthrough.c), so each one is a check that the effect happened:
# acknowledged records, the engine's reads, all 3 partitions in the feed, a decoded
# JSON record, map output, records dropped after the threshold change, a user with
# several purchases, four output topics with records, a window that fired, late
# records in late_transactions, the demo group's partitions split between two members,
# processed frames, processed files.
# Issue 19: step 1's figure says what it counts ("N topics, M with records (pane 6)"):
# n on step 2 before p asks for a second n ("step 2 is not
# done yet") and stays; the filter threshold set to 500 during step 6 makes step 7 done
# without asking again (it accepts a threshold already set); the high-value threshold
# set to 810 during step 8 makes step 9 say "above 810"; steps 5 and 12 (the inspector,
# the demo group: not in a pane) say "look at: the figures below", not a pane; w after
# Esc asks to resume or start again, r resumes.
# Also: Esc hides the box and w brings it back at the same step; b goes back one step;
# every step's text fits (the box's last line "n next  b back  Esc leave" is on screen);
# q exits 0.
#
# The upload step needs the file pipeline (issue 6). Until `streamlab upload` exists
# (it is built on another branch) this script checks only that the step asks for u and
# says so in a "# TODO" line; once it exists, the step is done like the others.
# run.sh: limit=300 min=58
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

mapfile -t CHECKS < <(sed -n 's/^check: *//p' assets/walkthrough.txt)
mapfile -t TITLES < <(sed -n 's/^=== *//p' assets/walkthrough.txt)
M=${#CHECKS[@]}
expect_eq "assets/walkthrough.txt has a check per step (${#TITLES[@]} steps)" "${#TITLES[@]}" "$M"
[ "$M" -ge 12 ] && pass "the walkthrough has at least 12 steps ($M)" || fail "at least 12 steps" "$M"

if [ "$kind" = embedded ]; then
    console_listen walk 80 24 "Walkthrough 1/" --walkthrough || { fail "a free port"; finish; exit 1; }
else
    console_start walk 80 24 --walkthrough -b "$BROKER"
fi

on_step() { has "Walkthrough $1/$M" && has "${TITLES[$(($1 - 1))]}"; }
done_on() { on_step "$1" && has "✓ done"; }
box_gone() { has_none "Walkthrough " && has "1 Transactions"; }


# How long each step's effect may take to show: a window fires up to 35 s after its
# first record (30 s windows, 5 s out-of-orderness); a group rebalances on Kafka after
# its initial delay.
budget() {
    case $1 in
        window) echo 90 ;;
        group|upload|video) echo 60 ;;
        *) echo 45 ;;
    esac
}

for ((n = 1; n <= M; n++)); do
    c=${CHECKS[$((n - 1))]}
    t=${TITLES[$((n - 1))]}
    expect "step $n/$M \"$t\" is shown" 60 on_step "$n" || break
    # The whole box fits: its last line is there.
    if [ "$n" -lt "$M" ]; then
        expect "step $n: the box ends with its keys line at 80x24" 5 has "n next  b back  Esc leave"
    fi
    if [ "$c" = inspect ] || [ "$c" = group ]; then
        expect "step $n: the box names no pane that does not show it" 5 has "look at: the figures below"
    fi
    case $c in
        topics)
            expect "step $n: the figure says what it counts (all topics; those pane 6 lists)" 30 \
                has_re "[0-9]+ topics, [0-9]+ with records \(pane 6\)" ;;
        produced)
            key n
            expect "step $n: n before it is done asks for a second n" 10 has "step $n is not done yet"
            expect "step $n: ... and stays on step $n" 2 on_step "$n"
            key p ;;
        inspect)
            key i
            typed transactions
            expect "step $n: i opens the inspector's topic list, narrowed to transactions" 20 \
                has_all "topic: transactions_" "transactions.dlq"
            key Enter
            expect "step $n: the inspector shows a transaction's JSON fields" 30 \
                has_all '"transaction_id"' '"amount"' '"user_id"'
            key Escape
            sleep 0.3
            key Escape ;;
        filter) ;; # set during the previous step: accepted as it is
        late) key l ;;
        fraud) key f ;;
        group) key c ;;
        sinks)
            expect "step $n: the text follows the high-value threshold (above 810)" 10 \
                has "high_value_transactions (above 810)" ;;
        video) key v ;;
        upload)
            expect "step $n: the upload step names the sample file (one per console)" 5 \
                has_re "streamlab-sample-[0-9]+\.txt"
            sample=$(grep -oE '/[^ ]*streamlab-sample-[0-9]+\.txt' <<<"$SCREEN" | head -1)
            key u
            sleep 0.5
            typed "$sample"
            key Enter ;;
    esac
    expect "step $n/$M \"$t\": ✓ appears ($c)" "$(budget "$c")" done_on "$n" || true
    case $c in
        map) # the next step asks for 500: give it now, from pane 1
            key t
            expect "step $n: t asks for the filter threshold" 10 has "filter amount threshold (now"
            typed 500
            key Enter ;;
        keyed) # pane 2 is focused: t sets the high-value threshold
            key t
            expect "step $n: t in pane 2 asks for the high-value threshold" 10 has "threshold (now"
            typed 810
            key Enter
            expect "step $n: the status line says high > 810" 10 has "high > 810.00" ;;
    esac
    # Esc leaves and w resumes at the same step (checked on the third step and the last).
    if [ "$n" = 3 ] || [ "$n" = "$M" ]; then
        key Escape
        expect "step $n: Esc hides the walkthrough (the panes show)" 10 box_gone
        key w
        expect "step $n: w asks to resume or start again" 10 has_all "resume at that step" "start again"
        key r
        expect "step $n: r brings it back at step $n" 10 on_step "$n"
    fi
    if [ "$n" = 4 ]; then
        key b
        expect "step 4: b goes back to step 3" 10 on_step 3
        key n
        expect "step 4: n again is step 4" 10 on_step 4
    fi
    [ "$n" -lt "$M" ] && key n
done
expect "the last step lists the exercises" 5 has_all "Beginner" "Advanced"
console_quit walkthrough
finish
