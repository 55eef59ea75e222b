# tests/lib/console.sh — driving the console in tmux, for the tests/e2e_*.sh scripts that
# run it (e2e_console, e2e_walkthrough, e2e_inspector, e2e_console_faults, e2e_flinkrest). Source it after
# tests/lib/tap.sh, tests/lib/broker.sh and tests/lib/e2e.sh and after e2e_init.
#
#   console_start TAG COLS ROWS ARGS...  the console typed into an interactive bash in a
#                        tmux session of this script's own server; sets S, ROWS, CONSOLE_PID
#   snap / has TEXT / has_re RE / has_none TEXT...   the screen ($SCREEN)
#   wait_for SECONDS FUNC ARGS...   polls the screen until FUNC succeeds
#   expect NAME SECONDS FUNC ARGS...   a check (the screen is printed when it fails)
#   key KEYS... / typed TEXT    send keys / literal text
#   console_quit NAME     q, then EXIT=0 on the shell
#   console_listen TAG COLS ROWS READY ARGS...   console_start with its own embedded broker
#                        on a free port (--listen 127.0.0.1:PORT ARGS); when that port was
#                        taken meanwhile (the console exits saying "in use"), again on
#                        another, three times at most.  Waits (60 s) until READY is on
#                        screen or the console ended; sets BROKER=127.0.0.1:PORT.  An
#                        argument holding @WEBPORT@ gets another free port (WEB_PORT) on
#                        each attempt (--web=127.0.0.1:@WEBPORT@).
# Consoles are tracked by PID and stopped on exit, then the tmux server is killed.

export LANG=C.UTF-8 LC_ALL=C.UTF-8
TMUX_SOCKET="streamlab-e2e-$(basename "$0" .sh)-$$-$RANDOM"
CONSOLE_PIDS=()
S=
ROWS=24
SCREEN=
CONSOLE_PID=

tm() { env -u TMUX tmux -L "$TMUX_SOCKET" -f /dev/null "$@"; }

console_cleanup() {
    local p
    for p in "${CONSOLE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${CONSOLE_PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    tm kill-server 2>/dev/null
}
_prev=$(trap -p EXIT)
_prev=${_prev#"trap -- '"}
_prev=${_prev%"' EXIT"}
_prev=${_prev//"'\\''"/"'"}
# shellcheck disable=SC2064
trap "console_cleanup${_prev:+; $_prev}" EXIT

snap() { SCREEN=$(tm capture-pane -p -t "$S" 2>/dev/null); }
has() { grep -qF -- "$1" <<<"$SCREEN"; }
has_all() { local s; for s; do has "$s" || return 1; done; }
has_none() { local s; for s; do if has "$s"; then return 1; fi; done; return 0; }
has_re() { grep -qE -- "$1" <<<"$SCREEN"; }
# The console's process has ended (waits then end at once).  A script that expects it to
# end at times sets MUST_LIVE=0 then (default 1).
console_gone() {
    [ "${MUST_LIVE:-1}" = 1 ] && [ -n "${CONSOLE_PID:-}" ] && ! kill -0 "$CONSOLE_PID" 2>/dev/null
}
wait_for() {
    local end=$((SECONDS + $1))
    shift
    while :; do
        snap
        "$@" && return 0
        if console_gone; then # its shell may not have printed EXIT= yet: one more look
            sleep 0.5
            snap
            "$@"
            return
        fi
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}
dump_screen() { sed 's/^/#   |/' <<<"$SCREEN"; }
expect() {
    local name=$1 secs=$2
    shift 2
    if wait_for "$secs" "$@"; then
        pass "$name"
    elif console_gone; then
        fail "$name" "the console process is gone"
        dump_screen
        return 1
    else
        fail "$name" "not seen within ${secs}s ($*); the screen:"
        dump_screen
        return 1
    fi
}
key() { tm send-keys -t "$S" "$@"; }
typed() { tm send-keys -t "$S" -l "$1"; }

console_start() {
    local tag=$1 cols=$2 rows=$3 cmd
    shift 3
    S="c$$-$tag"
    ROWS=$rows
    local pidfile=$WORK/$tag.pid
    tm new-session -d -s "$S" -x "$cols" -y "$rows" \
        "env PS1='$ ' LANG=C.UTF-8 LC_ALL=C.UTF-8 bash --norc --noprofile"
    cmd="sh -c 'echo \$\$ >$pidfile; exec \"\$0\" \"\$@\"' $(printf '%q ' "$STREAMLAB" "$@")"
    cmd+="; echo EXIT=\$?"
    key "$cmd" Enter
    CONSOLE_PID=
    for _ in $(seq 1 100); do
        [ -s "$pidfile" ] && CONSOLE_PID=$(cat "$pidfile") && break
        sleep 0.1
    done
    if [ -n "$CONSOLE_PID" ]; then CONSOLE_PIDS+=("$CONSOLE_PID"); else echo "# the console did not write its PID"; fi
}

console_quit() {
    key q
    expect "$1: q exits with status 0" 30 has_re '^EXIT=0$'
}

_listen_settled() { has "$1" || has_re '^EXIT=[0-9]'; }
console_listen() {
    local tag=$1 cols=$2 rows=$3 ready=$4 port attempt a args
    shift 4
    for attempt in 1 2 3; do
        port=$(free_port) || return 1
        BROKER=127.0.0.1:$port
        WEB_PORT=$(free_port) || return 1
        args=()
        for a; do args+=("${a//@WEBPORT@/$WEB_PORT}"); done
        console_start "$tag" "$cols" "$rows" --listen "$BROKER" "${args[@]}"
        MUST_LIVE=0 wait_for 60 _listen_settled "$ready"
        if has_re '^EXIT=[1-9]' && grep -qi 'in use' <<<"$SCREEN"; then
            echo "# console_listen: port $port was taken meanwhile (attempt $attempt); another"
            tm kill-session -t "$S" 2>/dev/null
            continue
        fi
        return 0
    done
    return 1
}
