#!/usr/bin/env bash
# e2e_video_console.sh KIND — pane 4 of the console driven through tmux (160x48).
#
# KIND=embedded: the console runs its own broker (--listen 127.0.0.1:PORT); KIND=kafka:
# a real Kafka and the console with -b. Before `v` pane 4 says "press v"; after `v` it
# shows the newest processed frame as ASCII art beside "sample_generator" and
# "640x480 SD", and the art changes from one capture to the next (the square moves, the
# frame number counts); processed_video_frames fills on the wire (kcat); 4 then Enter
# zooms the pane to the full screen with wider art; Enter returns; `v` again stops the
# producer (the pane says "producer off"); q exits 0.
# run.sh: limit=240 min=11
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/broker.sh
. tests/lib/e2e.sh

kind=${1:-}
case $kind in
    embedded) e2e_init "$kind" 0 ;;
    *) e2e_init "$kind" ;;
esac
command -v tmux >/dev/null || { fail "tmux is installed"; finish; exit 1; }

export LANG=C.UTF-8 LC_ALL=C.UTF-8
TMUX_SOCKET="streamlab-e2e-video-$$-$RANDOM"
CONSOLE_PID=
tm() { env -u TMUX tmux -L "$TMUX_SOCKET" -f /dev/null "$@"; }
video_cleanup() {
    [ -z "$CONSOLE_PID" ] || kill -TERM "$CONSOLE_PID" 2>/dev/null
    for _ in $(seq 1 50); do
        [ -n "$CONSOLE_PID" ] && kill -0 "$CONSOLE_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -z "$CONSOLE_PID" ] || kill -KILL "$CONSOLE_PID" 2>/dev/null
    tm kill-server 2>/dev/null
}
_prev=$(trap -p EXIT)
_prev=${_prev#"trap -- '"}
_prev=${_prev%"' EXIT"}
_prev=${_prev//"'\\''"/"'"}
# shellcheck disable=SC2064
trap "video_cleanup${_prev:+; $_prev}" EXIT

S=video
SCREEN=
snap() { SCREEN=$(tm capture-pane -p -t "$S" 2>/dev/null); }
has() { grep -qF -- "$1" <<<"$SCREEN"; }
has_re() { grep -qE -- "$1" <<<"$SCREEN"; }
key() { tm send-keys -t "$S" "$@"; }
wait_for() { # wait_for SECONDS CHECK ARGS...: polls the screen until CHECK holds
    local secs=$1 end
    shift
    end=$((SECONDS + secs))
    while :; do
        snap
        "$@" && return 0
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.2
    done
}
expect() { # expect NAME SECONDS CHECK ARGS...
    local name=$1
    shift
    if wait_for "$@"; then pass "$name"; else
        fail "$name" "not on the screen after $1 s"
        sed 's/^/# | /' <<<"$SCREEN"
    fi
}
# The art of pane 4: the rows under its title, from its left border up to the
# figures column (the first 24 cells are always art at 160 columns).
art() {
    $PY -c '
import sys
lines = sys.stdin.read().split("\n")
top = next((i for i, l in enumerate(lines) if "4 Video" in l), None)
if top is not None:
    col = lines[top].index("4 Video") - 3
    for l in lines[top + 1:top + 12]:
        print(l[col + 1:col + 25])' <<<"$SCREEN"
}
art_drawn() { # at least 8 art rows with 20+ non-blank characters of the dither ramp
    [ "$(art | grep -cE '^[ .:;t%SX@8?]{24}$')" -ge 10 ] &&
        [ "$(art | tr -cd 'tSX@8?%' | wc -c)" -ge 100 ]
}

if [ "$kind" = embedded ]; then
    PORT=$(free_port)
    ARGS=(--listen "127.0.0.1:$PORT")
    BROKER=127.0.0.1:$PORT
else
    ARGS=(-b "$BROKER")
fi
pidfile=$WORK/console.pid
tm new-session -d -s "$S" -x 160 -y 48 "env PS1='$ ' bash --norc --noprofile"
key "sh -c 'echo \$\$ >$pidfile; exec \"\$0\" \"\$@\"' $(printf '%q ' "$STREAMLAB" "${ARGS[@]}"); echo EXIT=\$?" Enter
for _ in $(seq 1 100); do [ -s "$pidfile" ] && CONSOLE_PID=$(cat "$pidfile") && break; sleep 0.1; done

expect "pane 4 says press v before the video producer runs" 60 has "press v to start the video producer"
key v
expect "after v pane 4 shows the frame's source and size" 60 has "640x480 SD"
expect "after v pane 4 shows the frame's source" 5 has "sample_generator"
expect "after v pane 4 draws the frame as ASCII art" 10 art_drawn
snap
first=$(art)
sleep 1.5
changed=0
for _ in 1 2 3 4 5; do
    snap
    [ "$(art)" != "$first" ] && changed=1 && break
    sleep 0.5
done
if [ "$changed" = 1 ]; then pass "the ASCII art changes from one capture to the next"; else
    fail "the ASCII art changes from one capture to the next" "same art for 4 s"
    sed 's/^/# | /' <<<"$first"
fi
expect "pane 4 shows fps in and out" 10 has_re 'fps out +[1-9]'
# The topic grows while it is read: take the first 5 records rather than chase its end.
n=$(timeout 60 kcat -b "$BROKER" -C -t processed_video_frames -o beginning -c 5 -q -f '%k\n' \
    2>"$WORK/kcat.err" | grep -c '^sample_generator$')
if [ "$n" = 5 ]; then pass "processed_video_frames fills on the wire (kcat reads 5, keyed by source)"; else
    fail "processed_video_frames fills on the wire" "kcat read $n records: $(tail -2 "$WORK/kcat.err")"
fi

key 4 Enter
wide_art() { [ "$(grep -cE '│[ .:;t%SX@8?]{100,}' <<<"$SCREEN")" -ge 20 ] && ! has "1 Transactions"; }
expect "4 Enter zooms pane 4 to the full screen with wider art" 10 wide_art
key Enter
expect "Enter brings the six panes back" 10 has "1 Transactions"
key v
expect "v again stops the video producer" 10 has "producer off"

key q
expect "q exits with status 0" 30 has_re '^EXIT=0$'
finish
