#!/usr/bin/env bash
# bench_console.sh — what the console costs (figures, not a test; nothing is asserted).
#
# Opens the console in tmux (160x48) with its embedded broker, so the one process holds
# the broker, the engine, the producer and the screen. Over BENCH_SECONDS (10) each:
#   idle (producer off), producer at 1,000/s, producer at 10,000/s
# ([ and ] step the rate from the default 100/s: ] -> 1k, ] -> 10k; the status line shows
# it). CPU% = utime+stime deltas from /proc/PID/stat over wall time (100% = one core);
# the same for the main thread alone (/proc/PID/task/PID/stat: the TUI's loop). Also the
# records that reached `transactions` and `processed_transactions` per second in the
# window (streamlab topics --json end offsets), the title bar's consume rate, and RSS
# (VmRSS, VmHWM) at the end.  Then 50,000/s for a minute: records lost to retention,
# the group's lag, CPU.  One figure a line. About two minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
SECS=${BENCH_SECONDS:-10}
COLS=160 ROWS=48
. tests/lib/broker.sh # free_port, _broker_ready

[ -x "$STREAMLAB" ] || { echo "bench_console: $STREAMLAB is not built (make)" >&2; exit 1; }
command -v tmux >/dev/null || { echo "bench_console: tmux not found" >&2; exit 1; }
export LANG=C.UTF-8 LC_ALL=C.UTF-8
WORK=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-bench-console.XXXXXX")
SOCK="streamlab-bench-console-$$-$RANDOM"
S=bench
PID=
tm() { env -u TMUX tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        tm send-keys -t "$S" q 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -TERM "$PID" 2>/dev/null
        sleep 1
        kill -KILL "$PID" 2>/dev/null
    fi
    tm kill-server 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SCREEN=
snap() { SCREEN=$(tm capture-pane -p -t "$S" 2>/dev/null); }
wait_screen() { # wait_screen SECONDS GREP-E-PATTERN
    local end=$((SECONDS + $1))
    while :; do
        snap
        grep -qE -- "$2" <<<"$SCREEN" && return 0
        [ "$SECONDS" -lt "$end" ] || { echo "bench_console: no /$2/ on screen after $1 s" >&2; return 1; }
        sleep 0.2
    done
}

port=$(free_port)
BROKER=127.0.0.1:$port
tm new-session -d -s "$S" -x "$COLS" -y "$ROWS" "env LANG=C.UTF-8 bash --norc --noprofile"
tm send-keys -t "$S" "sh -c 'echo \$\$ >$WORK/pid; exec \"\$0\" \"\$@\"' $(printf '%q' "$STREAMLAB") --listen $BROKER" Enter
for _ in $(seq 1 100); do [ -s "$WORK/pid" ] && break; sleep 0.1; done
PID=$(cat "$WORK/pid" 2>/dev/null)
[ -n "$PID" ] || { echo "bench_console: the console did not start" >&2; exit 1; }
wait_screen 60 'engine: running' || exit 1
for _ in $(seq 1 100); do _broker_ready "$BROKER" && break; sleep 0.3; done

HZ=$(getconf CLK_TCK)
ticks() { # ticks STATFILE: utime+stime (fields 14 and 15; comm may hold spaces)
    local rest
    rest=$(sed 's/^.*) //' "$1") || { echo 0; return; }
    awk '{print $12 + $13}' <<<"$rest"
}
ends() { # ends: "transactions processed_transactions" end offsets summed over partitions
    timeout 20 "$STREAMLAB" topics -b "$BROKER" --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    d = []
topics = d.get("topics", d) if isinstance(d, dict) else d
tot = {}
for t in topics:
    tot[t.get("topic")] = sum(p.get("end", 0) for p in t.get("partitions", []))
print(tot.get("transactions", 0), tot.get("processed_transactions", 0))'
}
title_rate() { snap; sed -n 1p <<<"$SCREEN" | grep -oE '[0-9.]+[kMG]? rec/s' | head -1; }
lag() { snap; grep -oE 'lag [0-9]+' <<<"$SCREEN" | head -1; }

# measure LABEL: one window of SECS seconds.
measure() {
    local label=$1 p0 t0 e0 p1 t1 e1 n0 n1
    read -r n0 e0 < <(ends)
    p0=$(ticks "/proc/$PID/stat") t0=$(ticks "/proc/$PID/task/$PID/stat")
    local w0 w1
    w0=$(date +%s.%N)
    sleep "$SECS"
    p1=$(ticks "/proc/$PID/stat") t1=$(ticks "/proc/$PID/task/$PID/stat")
    w1=$(date +%s.%N)
    read -r n1 e1 < <(ends)
    awk -v l="$label" -v p="$((p1 - p0))" -v t="$((t1 - t0))" -v hz="$HZ" -v w0="$w0" -v w1="$w1" \
        -v dn="$((n1 - n0))" -v de="$((e1 - e0))" -v rate="$(title_rate)" -v lag="$(lag)" 'BEGIN {
        s = w1 - w0
        printf "%-22s CPU %5.1f%% (process), %5.1f%% (main/TUI thread) over %.1f s; " \
               "transactions +%.0f/s, processed_transactions +%.0f/s; title %s; %s\n",
               l, 100 * p / hz / s, 100 * t / hz / s, s, dn / s, de / s, rate, lag
    }'
}

echo "== console at ${COLS}x${ROWS}, embedded broker $BROKER, pid $PID, $(nproc) CPUs"
measure "idle (producer off)"
tm send-keys -t "$S" p
wait_screen 10 'producer ON 100/s' || exit 1
tm send-keys -t "$S" ']'
wait_screen 10 'producer ON 1\.00k/s' || exit 1
sleep 2 # let the rate settle
measure "producer 1,000/s"
tm send-keys -t "$S" ']'
wait_screen 10 'producer ON 10\.0k/s' || exit 1
sleep 2
measure "producer 10,000/s"
# 50,000/s for BENCH_LONG_SECONDS (60): records lost to retention (pane 6's LOST line,
# which counts them since the start), the group's lag sampled every second (max and
# median), and the whole process's CPU.
LONG=${BENCH_LONG_SECONDS:-60}
tm send-keys -t "$S" ']'
wait_screen 10 'producer ON 50\.0k/s' || exit 1
p0=$(ticks "/proc/$PID/stat") w0=$(date +%s.%N)
lags=()
for _ in $(seq "$LONG"); do
    sleep 1
    l=$(lag)
    lags+=("${l#lag }")
done
p1=$(ticks "/proc/$PID/stat") w1=$(date +%s.%N)
snap
lost=$(grep -oE 'LOST: retention removed [0-9]+' <<<"$SCREEN" | grep -oE '[0-9]+$')
printf '%s\n' "${lags[@]}" | grep -E '^[0-9]+$' | sort -n | awk -v l="${lost:-0}" -v p="$((p1 - p0))" \
    -v hz="$HZ" -v w0="$w0" -v w1="$w1" -v secs="$LONG" -v rate="$(title_rate)" '
    {a[NR] = $1} END {
        printf "producer 50,000/s for %d s: lost to retention %d; group lag max %d, median %d " \
               "(sampled each second); CPU %.1f%% (process); title %s\n",
               secs, l, a[NR], a[int((NR + 1) / 2)], 100 * p / hz / (w1 - w0), rate
    }'
awk '$1 == "VmRSS:" {printf "RSS after the run: %.1f MiB\n", $2 / 1024}' "/proc/$PID/status"
awk '$1 == "VmHWM:" {printf "peak RSS (VmHWM): %.1f MiB\n", $2 / 1024}' "/proc/$PID/status"
echo "threads: $(ls "/proc/$PID/task" | wc -l)"
