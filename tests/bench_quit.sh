#!/usr/bin/env bash
# bench_quit.sh [MINUTES] [RATE] — how long the console takes to quit after a session.
#
# Runs the console in tmux on its own broker (--listen, a free port) with the producer on
# at RATE records/s (default 100) for MINUTES (default 5; issue 19 saw 3-8 s after 35
# minutes, 0.4 s on a fresh console), then presses q and measures until the process has
# ended.  Prints the total and, from STREAMLAB_LOG, each step of session_stop ("quit:
# supervisor 12 ms", ...).  A figure, never asserted (make bench).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh
MIN=${1:-5}
RATE=${2:-100}
e2e_init embedded 0
. tests/lib/console.sh
port=$(free_port)
export STREAMLAB_LOG=$WORK/quit.log
console_start quit 160 48 --listen "127.0.0.1:$port" --autostart --rate "$RATE"
wait_for 60 has "6 Kafka & engine" || { echo "# the console did not open"; exit 1; }
echo "# running $MIN min at $RATE/s"
sleep $((MIN * 60))
rss=$(ps -o rss= -p "$CONSOLE_PID" 2>/dev/null | tr -d ' ')
t0=$(date +%s%N)
key q
while kill -0 "$CONSOLE_PID" 2>/dev/null; do sleep 0.02; done
t1=$(date +%s%N)
echo "quit after $MIN min at $RATE/s: $(( (t1 - t0) / 1000000 )) ms (RSS before: ${rss:-?} KB)"
grep '^quit: ' "$STREAMLAB_LOG" | sed 's/^/  /'
