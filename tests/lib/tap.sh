# tap.sh — sourced by end-to-end scripts: ok/not ok lines and the closing count.
#   pass "name"; fail "name" "why"; check "name" CMD ARGS...; expect_eq "name" WANT GOT
#   tap_fail_later "name" "why"   a failure recorded in $TAP_EXTRA_FAILS (a file), for
#            code that may run in a $( ) subshell; finish counts it
#   finish   (prints "N passed, N failed" and exits non-zero on any failure)
TAP_PASSED=0
TAP_FAILED=0
pass() { TAP_PASSED=$((TAP_PASSED + 1)); echo "ok - $1"; }
fail() { TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok - $1${2:+: $2}"; }
check() {
    local name=$1; shift
    if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}
expect_eq() {
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}
TAP_EXTRA_FAILS=${TAP_EXTRA_FAILS:-}
tap_fail_later() {
    if [ -n "$TAP_EXTRA_FAILS" ]; then printf '%s\t%s\n' "$1" "${2:-}" >>"$TAP_EXTRA_FAILS"
    else fail "$1" "${2:-}"; fi
}
finish() {
    local n w
    if [ -n "$TAP_EXTRA_FAILS" ] && [ -s "$TAP_EXTRA_FAILS" ]; then
        while IFS=$'\t' read -r n w; do fail "$n" "$w"; done <"$TAP_EXTRA_FAILS"
        : >"$TAP_EXTRA_FAILS"
    fi
    echo "$(basename "$0" .sh): $TAP_PASSED passed, $TAP_FAILED failed"
    [ "$TAP_FAILED" = 0 ]
}
