#!/usr/bin/env bash
# bench_video.sh — video figures (not a test; nothing is asserted), medians of BENCH_RUNS (5):
#   - the video pipeline alone: `engine --pipelines video --replay` over FRAMES (2000)
#     synthetic 640x480 quality-80 frames made by `produce video` (one thread, no Kafka);
#   - the producer alone: `produce video --fps 0 --count 1000` (synthetic 640x480 q80:
#     draw, JPEG-encode, base64, send) to the embedded broker;
#   - the console while pane 4 shows the video (v, 15 frames/s): CPU of the process and
#     of its main (TUI) thread over BENCH_SECONDS (10).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
RUNS=${BENCH_RUNS:-5}
FRAMES=${BENCH_FRAMES:-2000}
SECS=${BENCH_SECONDS:-10}
export LANG=C.UTF-8 LC_ALL=C.UTF-8
. tests/lib/broker.sh
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-bench-video.XXXXXX")
SOCK="streamlab-bench-video-$$-$RANDOM"
PID=
tm() { env -u TMUX tmux -L "$SOCK" -f /dev/null "$@"; }
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        tm send-keys -t bench q 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null
    fi
    tm kill-server 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

broker_start embedded >/dev/null 2>&1 || { echo "bench_video: no broker" >&2; exit 1; }
echo "== video, embedded broker at $BROKER, $(nproc) CPUs"

# The producer alone.
rates=()
for i in $(seq "$RUNS"); do
    r=$("$STREAMLAB" produce video -b "$BROKER" --fps 0 --count 1000 --topic "bench_frames_$i" |
        sed -E 's/.*\(([0-9.]+) frames\/s, ([0-9.]+) KB.*/\1 \2/')
    rates+=("${r% *}")
    kb=${r#* }
done
echo "producer alone, 1000 synthetic 640x480 q80 frames (${kb} KB JPEG each), acks=all:"
echo "  runs: ${rates[*]} frames/s; median $(printf '%s\n' "${rates[@]}" | median) frames/s"

# A file of frames for the replay: 200 distinct ones, repeated.
"$STREAMLAB" produce video -b "$BROKER" --fps 0 --count 200 --topic bench_replay >/dev/null
timeout 60 kcat -b "$BROKER" -C -t bench_replay -o beginning -e -q -f '%s\n' >"$tmp/200.jsonl"
: >"$tmp/frames.jsonl"
while [ "$(wc -l <"$tmp/frames.jsonl")" -lt "$FRAMES" ]; do cat "$tmp/200.jsonl" >>"$tmp/frames.jsonl"; done
head -n "$FRAMES" "$tmp/frames.jsonl" >"$tmp/in.jsonl"
rates=()
for i in $(seq "$RUNS"); do
    s=$(date +%s.%N)
    taskset -c 0 "$STREAMLAB" engine --pipelines video --replay "$tmp/in.jsonl" --out "$tmp/out" >/dev/null
    e=$(date +%s.%N)
    rates+=("$(echo "$FRAMES / ($e - $s)" | bc)")
done
echo "video pipeline, replay of $FRAMES frames of 640x480 q80 on one core (parse, base64, JPEG"
echo "header + 1/4-scale luma decode, analysis, 3 outputs written to files):"
echo "  runs: ${rates[*]} frames/s; median $(printf '%s\n' "${rates[@]}" | median) frames/s"
broker_stop >/dev/null 2>&1

# The console showing video at 15 frames/s.
port=$(free_port)
tm new-session -d -s bench -x 160 -y 48 "env LANG=C.UTF-8 bash --norc --noprofile"
tm send-keys -t bench "sh -c 'echo \$\$ >$tmp/pid; exec \"\$0\" \"\$@\"' $(printf '%q' "$STREAMLAB") --listen 127.0.0.1:$port" Enter
for _ in $(seq 1 100); do [ -s "$tmp/pid" ] && break; sleep 0.1; done
PID=$(cat "$tmp/pid" 2>/dev/null)
[ -n "$PID" ] || { echo "bench_video: the console did not start" >&2; exit 1; }
for _ in $(seq 1 300); do tm capture-pane -p -t bench | grep -q 'engine: running' && break; sleep 0.2; done
HZ=$(getconf CLK_TCK)
ticks() { sed 's/^.*) //' "$1" | awk '{print $12 + $13}'; }
measure() {
    local p0 t0 p1 t1 w0 w1
    p0=$(ticks "/proc/$PID/stat") t0=$(ticks "/proc/$PID/task/$PID/stat") w0=$(date +%s.%N)
    sleep "$SECS"
    p1=$(ticks "/proc/$PID/stat") t1=$(ticks "/proc/$PID/task/$PID/stat") w1=$(date +%s.%N)
    awk -v l="$1" -v p="$((p1 - p0))" -v t="$((t1 - t0))" -v hz="$HZ" -v w0="$w0" -v w1="$w1" \
        'BEGIN { s = w1 - w0; printf "%-34s CPU %5.1f%% (process), %5.1f%% (main/TUI thread) over %.1f s\n", l, 100 * p / hz / s, 100 * t / hz / s, s }'
}
echo "== console at 160x48 (embedded broker, engine, producers and screen in one process)"
measure "idle"
tm send-keys -t bench v
for _ in $(seq 1 100); do tm capture-pane -p -t bench | grep -q '640x480 SD' && break; sleep 0.2; done
sleep 2
measure "video on (15 frames/s in pane 4)"
tm send-keys -t bench 4 Enter
sleep 2
measure "video zoomed full screen"
tm capture-pane -p -t bench | grep -oE 'fps (in|out) +[0-9.]+' | paste -sd' ' | sed 's/^/pane 4 says: /'
