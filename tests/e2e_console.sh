#!/usr/bin/env bash
# e2e_console.sh KIND — the console (streamlab with no command) driven through tmux.
#
# KIND=embedded: the console runs its own broker (--listen 127.0.0.1:PORT) and kcat reads
# that; KIND=kafka: a real Kafka (broker_start kafka) and the console with -b.
# The same scenario runs at 160x48 and at 80x24, each on a fresh console:
#   the six pane titles; "press p" before the producer; after p the feed fills with
#   user_ rows and the Users pane ranks users; t 900 Enter sets the filter (status line
#   "filter > 900.00") and from then on processed_transactions only gets amounts > 900
#   (checked on the wire with kcat: see "the filter on the wire"); t abc Enter is
#   refused and the threshold stays; + nudges it to 910; Enter zooms the focused pane
#   and back; 3 while zoomed shows the Windows pane alone (at 160 columns its largest
#   bar fills the bar column); ? shows the help and any key closes it; 2 then s cycles
#   the Users sort; q exits 0 and gives the terminal back (alternate screen left, cursor
#   shown, stty icanon echo). If the console dies midway, the scenario stops there and
#   says so (with the screen), and checks that the terminal was restored anyway.
# At 80x24 also: resized to 70x20 the console says it needs 80x24, and back at 80x24 the
# panes return. KIND=embedded also opens the console with -b on a port where nothing
# listens: it opens and its title bar says "broker unreachable".
#
# Screens are read with tmux capture-pane and polled against a deadline. Everything
# runs on a tmux server of this script's own (-L socket), killed on exit; the consoles
# this script starts are tracked by PID (each writes its PID before exec).
# run.sh: limit=300 min.embedded=100 min.kafka=87
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

kind=${1:-}
case $kind in
    embedded) e2e_init "$kind" 0 ;; # the console brings its own broker
    kafka) e2e_init "$kind" ;;
    *) e2e_init "$kind" ;; # prints the usage
esac
command -v tmux >/dev/null || { fail "tmux is installed"; finish; exit 1; }

. tests/lib/console.sh # tm, snap, has*, wait_for, expect, key, typed, console_start

row() { sed -n "$1p" <<<"$SCREEN"; }
status_has() { grep -qF -- "$1" <<<"$(row "$ROWS")"; }
status_has_all() { local s; for s; do status_has "$s" || return 1; done; }
title_has() { grep -qF -- "$1" <<<"$(row 1)"; }
corners() { grep -o '┌' <<<"$SCREEN" | wc -l; }
corners_are() { [ "$(corners)" = "$1" ]; }
# The longest run of full blocks on one line (the Windows pane's bars).
max_bar() {
    $PY -c 'import re,sys; print(max([len(m) for m in re.findall("\u2588+", sys.stdin.read())] or [0]))' \
        <<<"$SCREEN"
}
max_bar_is() { [ "$(max_bar)" = "$1" ]; }
pane_opt() { tm display -p -t "$S" "#{$1}"; }

# While a scenario runs the console must stay up (MUST_LIVE=1): once its process is gone,
# waits end at once and the scenario stops at its next checkpoint (alive). Between
# scenarios (MUST_LIVE=0) a console that ended is expected.
MUST_LIVE=0

# alive SIZE: a checkpoint. When the console died, says so with the screen (its crash and
# exit status), checks that it gave the terminal back anyway (app.c restores it "on
# SIGINT/SIGTERM, and before a crash report"), and fails so that the scenario stops.
alive() {
    console_gone || return 0
    MUST_LIVE=0
    wait_for 5 has_re '^EXIT=[0-9]+$'
    fail "$1: the console stays up through the scenario" \
        "it died: $(grep -E '^EXIT=' <<<"$SCREEN" | tail -1); the screen:"
    dump_screen
    expect_eq "$1: after the console died the terminal left the alternate screen" 0 \
        "$(pane_opt alternate_on)"
    expect_eq "$1: after the console died the cursor is visible" 1 "$(pane_opt cursor_flag)"
    return 1
}
TITLES=("1 Transactions" "2 Users" "3 Windows" "4 Video" "5 Files" "6 Kafka & engine")
others_than() { # the titles but the one given
    local t
    for t in "${TITLES[@]}"; do [ "$t" = "$1" ] || echo "$t"; done
}
zoomed_on() { # zoomed_on TITLE: that title alone, one box
    local -a rest
    mapfile -t rest < <(others_than "$1")
    has "$1" && has_none "${rest[@]}" && corners_are 1
}
six_panes() { has_all "${TITLES[@]}" && corners_are 6; }

# console_quit_checked SIZE: q, then EXIT=0 on the shell's screen and the terminal back
# to normal.
console_quit_checked() {
    local size=$1
    key q
    expect "$size: q exits with status 0 (EXIT=0 on the shell)" 30 has_re '^EXIT=0$'
    expect "$size: after q no pane is left on the screen" 5 has_none "${TITLES[@]}"
    expect_eq "$size: after q the terminal left the alternate screen" 0 "$(pane_opt alternate_on)"
    expect_eq "$size: after q the cursor is visible" 1 "$(pane_opt cursor_flag)"
    # The tty modes: canonical input with echo, as the shell had them before. (The marker
    # is spelt MO''DES on the command line so that only the output line matches.)
    key "stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo)' | paste -sd, | sed 's/^/MO''DES=/'" Enter
    if wait_for 10 has_re '^MODES='; then
        expect_eq "$size: after q the tty is in canonical mode with echo (stty)" \
            "MODES=icanon,echo" "$(grep -E '^MODES=' <<<"$SCREEN" | tail -1)"
    else
        fail "$size: after q the shell answers a command"
        dump_screen
    fi
    local gone=0
    for _ in $(seq 1 100); do
        kill -0 "$CONSOLE_PID" 2>/dev/null || { gone=1; break; }
        sleep 0.1
    done
    expect_eq "$size: the console process has ended" 1 "$gone"
}

# --- the filter on the wire ---------------------------------------------------------
# Which processed records must obey a threshold that changed at time T? The engine
# filters a record when it processes it, and it can only process what is in the log.
# So the end offsets of `transactions`, read right after the status line shows the new
# threshold (at or after T), bound everything the engine could have processed before T:
# a transaction at or beyond them was written after T, so it was filtered with the new
# threshold. Records in flight at T (below those offsets, processed a moment later) are
# simply not judged. This needs no clocks and no knowledge of the engine's batching.
# A processed record is traced to its transaction (partition, offset) by transaction_id,
# which the producer makes unique. The same for the change to 910. Also: every
# transaction above 910 after the change, up to the engine's position on its partition,
# was output (nothing above the threshold is dropped).

# end_offsets TOPIC FILE: "PARTITION END" lines (kcat -Q: ListOffsets, latest).
end_offsets() {
    local t=$1 n p args=()
    n=$(timeout 10 kcat -b "$BROKER" -L -J -t "$t" 2>/dev/null |
        $PY -c 'import json,sys; print(len(json.load(sys.stdin)["topics"][0]["partitions"]))' 2>/dev/null)
    [ "${n:-0}" -gt 0 ] || return 1
    for p in $(seq 0 $((n - 1))); do args+=(-t "$t:$p:-1"); done
    timeout 10 kcat -b "$BROKER" -Q "${args[@]}" 2>/dev/null |
        sed -nE 's/^.* \[([0-9]+)\] offset ([0-9]+)$/\1 \2/p' >"$2"
    [ "$(wc -l <"$2")" = "$n" ]
}
# dump_upto TOPIC FILE: the records of TOPIC up to its end offsets of now, as kcat -J
# envelopes. Bounded by counts, so it ends while records keep coming (kcat_dump's -e
# alone can run to its timeout on Kafka while the producer never lets a partition rest).
dump_upto() {
    local t=$1 out=$2 p e rc=0
    end_offsets "$t" "$out.ends" || return 1
    : >"$out"
    while read -r p e; do
        [ "$e" -gt 0 ] || continue
        timeout 60 kcat -b "$BROKER" -C -t "$t" -p "$p" -o beginning -c "$e" -e -q -J \
            >>"$out" || rc=1
    done <"$out.ends"
    return $rc
}
cat >"$WORK/filtercheck.py" <<'PYEOF'
import json, sys
from decimal import Decimal
work, tag, mode = sys.argv[1], sys.argv[2], sys.argv[3]

def path(name):
    return "%s/%s-%s" % (work, tag, name)

def load(name):
    out = []
    try:
        with open(path(name)) as f:
            for line in f:
                try:
                    env = json.loads(line)
                    out.append((env, json.loads(env["payload"])))
                except (ValueError, TypeError, KeyError):
                    pass
    except OSError:
        pass
    return out

def ends(name):
    e = {}
    try:
        with open(path(name)) as f:
            for line in f:
                p, o = line.split()
                e[int(p)] = int(o)
    except (OSError, ValueError):
        pass
    return e

def amount(v):
    return Decimal(str(v.get("amount")))

e900, e910 = ends("ends-at-900"), ends("ends-at-910")
txns = load("txn-final.jsonl")
where = {v.get("transaction_id"): (env["partition"], env["offset"]) for env, v in txns}
processed = [v for _, v in load("processed.jsonl")]

def after(p, e):  # its transaction was written at or beyond the end offsets e
    loc = where.get(p.get("transaction_id"))
    return loc is not None and loc[1] >= e.get(loc[0], 1 << 62)

after900 = [p for p in processed if after(p, e900)]
after910 = [p for p in processed if after(p, e910)]
if mode == "count":
    print(len(after910))
    sys.exit(0)

def ok(name, cond, why=""):
    print(("ok - %s" % name) if cond else ("not ok - %s: %s" % (name, why)))

size = sys.argv[4]
print("end offsets of transactions at 900: %s, at 910: %s; read %d transactions, %d processed"
      % (e900, e910, len(txns), len(processed)))
unknown = [p.get("transaction_id") for p in processed if p.get("transaction_id") not in where]
ok("%s: every processed record traces back to a transaction by transaction_id" % size,
   processed and not unknown, "%d of %d do not: %s" % (len(unknown), len(processed), unknown[:5]))
before = [p for p in processed if not after(p, e900)]
ok("%s: before t 900, processed_transactions got amounts in (100, 900] (%d of %d)" % (
       size, sum(1 for p in before if 100 < amount(p) <= 900), len(before)),
   any(100 < amount(p) <= 900 for p in before), "none: the change would not show")
bad = [(p.get("transaction_id"), str(p.get("amount"))) for p in after900 if amount(p) <= 900]
ok("%s: after filter > 900, every processed record (%d) has amount > 900" % (size, len(after900)),
   after900 and not bad, "%d of %d at or below 900: %s" % (len(bad), len(after900), bad[:5]))
bad = [(p.get("transaction_id"), str(p.get("amount"))) for p in after910 if amount(p) <= 910]
ok("%s: after + (filter > 910), every processed record (%d) has amount > 910" % (size, len(after910)),
   after910 and not bad, "%d of %d at or below 910: %s" % (len(bad), len(after910), bad[:5]))

reached = {}
for p in after910:
    part, off = where[p.get("transaction_id")]
    reached[part] = max(reached.get(part, -1), off)
got = {p.get("transaction_id") for p in processed}
due = [v.get("transaction_id") for env, v in txns
       if env["offset"] >= e910.get(env["partition"], 1 << 62) and amount(v) > 910
       and env["offset"] <= reached.get(env["partition"], -1)]
missing = [i for i in due if i not in got]
ok("%s: every transaction above 910 written after the change, up to the engine's position, "
   "reached processed_transactions (%d)" % (size, len(due)),
   due and not missing, "missing %d of %d: %s" % (len(missing), len(due), missing[:5]))
PYEOF

# --- the scenario -------------------------------------------------------------------
scenario() {
    local cols=$1 rows=$2 size="$1x$2" tag="s$1x$2" addr
    if [ "$kind" = embedded ]; then
        console_listen "$tag" "$cols" "$rows" "6 Kafka & engine" || { fail "$size: a free port"; return; }
    else
        console_start "$tag" "$cols" "$rows" -b "$BROKER"
    fi
    MUST_LIVE=1
    expect "$size: the six pane titles are on screen" 60 six_panes || { alive "$size"; return; }
    if [ "$kind" = embedded ]; then
        expect "$size: the title bar names the embedded broker at $BROKER" 10 \
            title_has "embedded broker $BROKER"
        local ready=0
        for _ in $(seq 1 100); do
            _broker_ready "$BROKER" && { ready=1; break; }
            sleep 0.3
        done
        expect_eq "$size: the console's embedded broker answers kcat at $BROKER" 1 "$ready"
    else
        expect "$size: the title bar names Kafka at $BROKER" 10 title_has "Kafka $BROKER"
    fi
    expect "$size: the engine is running (title bar)" 60 title_has "engine: running"
    expect "$size: before p, the Transactions pane hints \"press p\"" 5 has "press p"
    expect "$size: the status line says the producer is off" 5 status_has "producer off"

    alive "$size" || return
    # --- the producer: the feed and the users
    key p
    expect "$size: after p the status line says the producer is ON" 10 status_has "producer ON"
    expect "$size: after p the feed fills with user_ rows" 30 \
        has_re '^│[^│]*user_[0-9]+ [^│]*[0-9]\.[0-9]{2} [^│]*(yes|no|high) *│'
    expect "$size: after p the Users pane counts users" 30 has_re '│[1-9][0-9]* users '
    expect "$size: after p the Users pane ranks users (1 user_N total count)" 30 \
        has_re '│1 +user_[0-9]+ +[0-9,]+\.[0-9]{2} +[0-9]+ *│'
    expect "$size: \"press p\" is gone" 5 has_none "press p"

    alive "$size" || return
    # --- t 900: the filter threshold
    key t
    expect "$size: t asks for the filter threshold on the status line" 5 status_has "threshold"
    typed 900
    key Enter
    expect "$size: after t 900 Enter the status line reports 900.00" 10 status_has "900.00"
    end_offsets transactions "$WORK/$tag-ends-at-900" ||
        echo "# kcat could not read the end offsets of transactions at 900"
    key x # an unbound key: the message goes, the status line is back
    expect "$size: the status line shows \"filter > 900.00\"" 10 status_has "filter > 900.00"
    expect "$size: the Transactions pane header shows > 900.00" 5 has_re '^│seen [^│]*> 900\.00'

    alive "$size" || return
    # --- t abc: refused
    key t
    expect "$size: t asks again" 5 status_has "threshold"
    typed abc
    key Enter
    expect "$size: t abc Enter: an error naming \"abc\" and the kept 900.00" 10 \
        status_has_all '"abc"' "900.00"
    key x
    expect "$size: after t abc the filter is still 900.00" 10 status_has "filter > 900.00"

    alive "$size" || return
    # --- + nudges it by 10
    key +
    expect "$size: + reports 910.00" 10 status_has "910.00"
    end_offsets transactions "$WORK/$tag-ends-at-910" ||
        echo "# kcat could not read the end offsets of transactions at 910"
    key x
    expect "$size: after + the status line shows \"filter > 910.00\"" 10 status_has "filter > 910.00"

    alive "$size" || return
    # --- zoom
    key 1
    key Enter
    expect "$size: Enter zooms pane 1: its title alone, one box" 10 zoomed_on "1 Transactions"
    key 3
    expect "$size: 3 while zoomed: pane 3 alone" 10 zoomed_on "3 Windows"
    if [ "$cols" -ge 100 ]; then
        # window_rows: bar width inner_cols - 43; the largest window's bar is full.
        local barw=$((cols - 2 - 43))
        expect "$size: zoomed Windows pane shows bars" 40 has "█"
        expect "$size: zoomed Windows pane: the largest window's bar is $barw cells (the full bar column)" \
            10 max_bar_is "$barw" || echo "# longest bar: $(max_bar) cells"
    fi
    key Enter
    expect "$size: Enter again: the six panes are back" 10 six_panes
    key 1

    alive "$size" || return
    # --- help
    key '?'
    expect "$size: ? shows the help overlay listing the keys" 10 \
        has_all "this help" "quit" "next pane" "zoom" "producer" "threshold" "walkthrough" \
        "any key closes"
    key x
    expect "$size: any key closes the help" 10 has_none "this help" "any key closes"
    expect "$size: the six panes are whole again after the help" 10 six_panes

    alive "$size" || return
    # --- users sort
    key 2
    expect "$size: the Users pane sorts by total at first" 5 has_re 'users (sorted )?by total'
    key s
    expect "$size: 2 then s: the Users pane sorts by count" 10 has_re 'users (sorted )?by count'
    key s
    expect "$size: s again: by recent" 10 has_re 'users (sorted )?by recent'
    key s
    expect "$size: s again: back to by total" 10 has_re 'users (sorted )?by total'
    key 1

    alive "$size" || return
    # --- the filter on the wire: wait until some records after 910 are processed
    local n=0 end=$((SECONDS + 60))
    while :; do
        dump_upto processed_transactions "$WORK/$tag-processed.jsonl"
        dump_upto transactions "$WORK/$tag-txn-final.jsonl"
        n=$($PY "$WORK/filtercheck.py" "$WORK" "$tag" count)
        [ "${n:-0}" -ge 10 ] || [ "$SECONDS" -ge "$end" ] && break
        sleep 1
    done
    echo "# $n processed records from transactions written after the change to 910"
    # processed_transactions is read before transactions, so that every processed
    # record's transaction is in the transactions dump.
    dump_upto processed_transactions "$WORK/$tag-processed.jsonl" ||
        echo "# kcat could not read processed_transactions"
    dump_upto transactions "$WORK/$tag-txn-final.jsonl" || echo "# kcat could not read transactions"
    $PY "$WORK/filtercheck.py" "$WORK" "$tag" check "$size" >"$WORK/$tag-filter.txt" 2>&1 ||
        echo "not ok - $size: the filter checker ran: it crashed" >>"$WORK/$tag-filter.txt"
    tap_from "$WORK/$tag-filter.txt"

    alive "$size" || return
    # --- too small, and back (80x24 only)
    if [ "$cols" = 80 ] && [ "$rows" = 24 ]; then
        tm resize-window -t "$S" -x 70 -y 20
        expect "$size: resized to 70x20 the console says it needs at least 80x24" 10 \
            has "needs at least 80x24"
        expect "$size: at 70x20 no pane is drawn" 5 has_none "${TITLES[@]}"
        tm resize-window -t "$S" -x 80 -y 24
        expect "$size: back at 80x24 the six panes return" 10 six_panes
        expect "$size: back at 80x24 the \"needs\" message is gone" 5 has_none "needs at least"
        expect "$size: back at 80x24 the status line is back" 10 status_has "filter > 910.00"
    fi

    alive "$size" || return
    MUST_LIVE=0
    console_quit_checked "$size"
}

scenario 160 48
scenario 80 24

# --- a broker that is not there (once: KIND=embedded) -------------------------------
if [ "$kind" = embedded ]; then
    port=$(free_port)
    console_start unreachable 160 48 -b "127.0.0.1:$port"
    MUST_LIVE=1
    if expect "unreachable: the console opens (six pane titles)" 60 six_panes; then
        expect "unreachable: the title bar says \"broker unreachable\"" 30 \
            title_has "broker unreachable"
        expect "unreachable: the Kafka pane says the broker is unreachable" 10 \
            has "broker unreachable: retrying"
        tm resize-window -t "$S" -x 80 -y 24
        ROWS=24
        expect "unreachable at 80x24: the title bar still says \"broker unreachable\"" 10 \
            title_has "broker unreachable"
        key p
        expect "unreachable: p does not hang the console (the status line answers)" 10 \
            status_has "producer"
        if alive unreachable; then
            MUST_LIVE=0
            console_quit_checked "unreachable"
        fi
    fi
fi

finish
