#!/usr/bin/env bash
# e2e_docs.sh KIND — the docs cannot drift from the program.
#
# Every fenced shell line of README.md and docs/*.md that starts with `streamlab` or
# `build/streamlab` (after an optional `$ `; tests/lib/doc_commands.py finds them) is
#   - run with --help appended: exit status 0, and the help names the command
#     (`usage: streamlab ENGINE...`); an option the command does not know makes it exit 2,
#     because getopt reads the line's options before the --help;
#   - checked option by option: each --option (and -b, -X) of the line appears in that
#     command's --help;
#   - run for real where that is cheap and needs no broker: `engine --replay` (in a copy
#     of docs/examples/, where the tutorial runs it; then each `$ cat FILE` of the same
#     block must print what the doc shows) and `flink sql` (it only prints SQL).
# Also: the checker itself must reject a made-up option and a made-up command, at least
# 40 command lines must be found, and every relative link between the pages must lead to
# a file (docs/records.md may be missing: it is written in another branch).
#
# Nothing here needs a broker: KIND=kafka runs the same checks.
# run.sh: runs=once limit=180 min=12
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tap.sh
. tests/lib/e2e.sh
e2e_init "${1:-}" 0
[ "$KIND" = kafka ] && echo "# KIND=kafka: the same checks (the docs' commands run without a broker)"

S=$STREAMLAB
DOCS=(README.md docs/*.md)
EX=$WORK/examples
cp -r docs/examples "$EX"

# cmd_name ARGS...: the words of the command the help must name ("engine", "produce
# video", "flink sql", "--headless"; "" for the console).
cmd_name() {
    local a
    for a in "$@"; do [ "$a" = --headless ] && { echo --headless; return; }; done
    case ${1:-} in
        ''|-*) echo "" ;;
        produce|flink)
            case ${2:-} in ''|-*) echo "$1" ;; *) echo "$1 $2" ;; esac ;;
        *) echo "$1" ;;
    esac
}

# check_line WHERE ARGS...: runs the --help checks; prints why it failed, or nothing.
check_line() {
    local where=$1
    shift
    local out rc name opt
    out=$(timeout 10 "$S" "$@" --help 2>"$WORK/err") && rc=0 || rc=$?
    if [ "$rc" != 0 ]; then
        echo "exit $rc: $(head -c 200 "$WORK/err" | tr '\n' ' ')"
        return
    fi
    name=$(cmd_name "$@")
    if ! grep -q '^usage: streamlab' <<<"$out" || ! grep -qF -- "streamlab $name" <<<"$out"; then
        echo "the help does not name \"streamlab $name\""
        return
    fi
    for opt in "$@"; do
        case $opt in
            --*) opt=${opt%%=*} ;;
            -b|-X) ;;
            *) continue ;;
        esac
        if ! grep -qE -- "(^|[^A-Za-z0-9-])$opt([^A-Za-z0-9-]|$)" <<<"$out"; then
            echo "$opt is not in the help of streamlab $name"
            return
        fi
    done
}

# --- the checker catches what it must ------------------------------------------------
why=$(check_line self engine --count 5 --no-such-option)
if [ -n "$why" ]; then pass "a made-up option fails the check ($why)"; else
    fail "a made-up option fails the check" "engine --no-such-option passed"; fi
why=$(check_line self frobnicate --count 5)
if [ -n "$why" ]; then pass "a made-up command fails the check ($why)"; else
    fail "a made-up command fails the check" "frobnicate passed"; fi

# --- every command line of the docs ----------------------------------------------------
python3 tests/lib/doc_commands.py "${DOCS[@]}" >"$WORK/lines" ||
    fail "doc_commands.py reads the docs"
ncmd=$(grep -c '^cmd' "$WORK/lines")
if [ "$ncmd" -ge 40 ]; then pass "$ncmd command lines found in ${#DOCS[@]} pages"; else
    fail "at least 40 command lines found" "only $ncmd"; fi

nhelp=0 nbad=0 nreal=0
while IFS=$'\t' read -r kind where block rest; do
    [ "$kind" = cmd ] || continue
    eval "args=($rest)"
    why=$(check_line "$where" "${args[@]}")
    if [ -n "$why" ]; then
        fail "$where: streamlab $rest" "$why"
        nbad=$((nbad + 1))
    else
        nhelp=$((nhelp + 1))
    fi
    # for real, where cheap and without a broker (not the lines that show --help)
    case " ${args[*]} " in
        *" --help "*|*" -h "*) ;;
        *" --replay "*)
            if (cd "$EX" && timeout 30 "$S" "${args[@]}" >"$WORK/real.out" 2>&1); then
                pass "$where: streamlab $rest (run for real)"
            else
                fail "$where: streamlab $rest (run for real)" "$(tail -2 "$WORK/real.out" | tr '\n' ' ')"
            fi
            nreal=$((nreal + 1)) ;;
        " flink sql "*)
            if timeout 10 "$S" "${args[@]}" >"$WORK/real.out" 2>&1 &&
                grep -q '^EXECUTE STATEMENT SET' "$WORK/real.out"; then
                pass "$where: streamlab $rest (run for real: prints the statement set)"
            else
                fail "$where: streamlab $rest (run for real)" "$(tail -2 "$WORK/real.out" | tr '\n' ' ')"
            fi
            nreal=$((nreal + 1)) ;;
    esac
done <"$WORK/lines"
[ "$nbad" = 0 ] && pass "all $nhelp command lines pass --help and name only options their help lists"

# --- what a replay block shows is what the replay writes --------------------------------
while IFS=$'\t' read -r kind where block rest; do
    [ "$kind" = cat ] || continue
    grep -P "^want\t[^\t]*\t$block\t" "$WORK/lines" | cut -f4- >"$WORK/want"
    if [ -f "$EX/$rest" ] && diff -q "$WORK/want" "$EX/$rest" >/dev/null; then
        pass "$where: cat $rest shows what the replay wrote"
    else
        fail "$where: cat $rest shows what the replay wrote" \
            "$(diff "$WORK/want" "$EX/$rest" 2>&1 | head -4 | tr '\n' ' ')"
    fi
done <"$WORK/lines"

if [ -d "$EX/w1" ] && [ -d "$EX/w2" ]; then
    if diff -r "$EX/w1" "$EX/w2" >/dev/null; then
        pass "replays with --workers 1 and 2 wrote identical outputs, as tutorial.md shows"
    else
        fail "replays with --workers 1 and 2 wrote identical outputs" "diff -r w1 w2 differs"
    fi
fi

# --- links between the pages -------------------------------------------------------------
nlinks=0 broken=""
for f in "${DOCS[@]}"; do
    dir=$(dirname "$f")
    while read -r target; do
        target=${target%%#*}
        [ -z "$target" ] && continue
        case $target in http*|mailto:*) continue ;; esac
        nlinks=$((nlinks + 1))
        path=$dir/$target
        [ -e "$path" ] && continue
        [ "$(realpath -m "$path")" = "$(realpath -m docs/records.md)" ] && continue
        broken="$broken $f->$target"
    done < <(grep -oE '\]\([^) ]+\)' "$f" | sed -E 's/^\]\((.*)\)$/\1/')
done
if [ -z "$broken" ]; then pass "all $nlinks relative links lead to a file (docs/records.md: other branch)"; else
    fail "relative links lead to a file" "$broken"; fi

echo "# $ncmd command lines: $nhelp pass --help, $nreal also run for real"
finish
