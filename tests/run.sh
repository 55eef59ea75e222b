#!/usr/bin/env bash
# run.sh — runs every suite and adds up their counts.
#   tests/run.sh build/tests/test_a build/tests/test_b ...
# CUnit suites print "name: N passed, N failed"; end-to-end scripts
# (tests/e2e_*.sh KIND) print "ok - ..." / "not ok - ..." lines and end the same
# way.  The last line is "N passed, N failed".
#
# E2E_ONLY="e2e_a e2e_b" runs only those end-to-end scripts.
# Each e2e script says how run.sh runs it, in one header line:
#   # run.sh: limit=SECONDS min=N [min.embedded=N min.kafka=N] [runs=...] [own-broker]
#   limit=S       its time limit (timeout -k 30 S): past it, it is stopped and counted as
#                 a failure with its name, never a pass
#   min=N         it makes at least N checks (passed + failed); fewer is a failure (a
#                 checker that crashed, a script cut short); min.KIND=N for one kind
#   runs=each     (default) once per broker kind in $BROKERS (embedded kafka)
#   runs=once     it never uses the kind it is given (its own embedded brokers, or none):
#                 once, with KIND=embedded, in the first half
#   runs=prefer-kafka  its kafka run checks all its embedded run does and more: on kafka
#                 when $BROKERS has it, else on embedded
#   own-broker    on kafka it starts its own Kafka (it stops or restarts it; the header
#                 says why); every other kafka script shares one Kafka that run.sh starts
#                 once (tests/lib/service.sh) and resets after each script
#                 (tests/lib/kafka_reset.py: every topic deleted, and with them the
#                 groups' offsets)
#   lane=e        (runs=once) run it in lane e instead of lane k (below)
# One Flink (tests/lib/service.sh flink) is started in the background at the beginning
# and given to the scripts through E2E_FLINK (its ready file; tests/lib/e2e.sh
# e2e_flink).  With both kinds, two lanes run side by side: lane e (the embedded half)
# and lane k (the CUnit suites while the shared Kafka starts, then the kafka half and
# the runs=once scripts), each one suite at a time.  Each line of the summary gives the
# script's time; the end, the total.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BROKERS=${BROKERS-embedded kafka} # empty: the CUnit suites only (make unit, make tsan)
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
# A CUnit suite gets UNIT_TIMEOUT seconds; an e2e script its own limit=.
UNIT_LIMIT=${UNIT_TIMEOUT:-300}
passed=0 failed=0
logdir=$BUILD/test-logs
mkdir -p "$logdir"
times=$logdir/times.tsv
: >"$times"
RUN_START=$SECONDS

fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# count LOGFILE LABEL EXITCODE SECONDS [LIMIT MIN]: prints the suite's line and appends
# "passed failed" to $COUNTS (one file per lane: the lanes are subshells).
COUNTS=$logdir/counts.main
tally() { echo "$1 $2" >>"$COUNTS"; }
count() {
    local log=$1 label=$2 rc=$3 secs=$4 limit=${5:-$UNIT_LIMIT} min=${6:-0} line p f
    local t="($(fmt_time "$secs"))"
    printf '%s\t%s\t%s\n' "$label" "$secs" "$rc" >>"$times"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "FAIL $label: stopped at its limit of ${limit} s $t; see $log"
        grep -E '^not ok' "$log" | head -10 | sed 's/^/       /'
        tally 0 1
        return
    fi
    line=$(grep -E '^[A-Za-z0-9_ .:/-]*: ?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -z "$line" ]; then
        echo "FAIL $label: no result line (exit $rc) $t; see $log"
        tally 0 1
        return
    fi
    p=$(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$line")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi   # a crash after the counts still fails
    if [ $((p + f)) -lt "$min" ]; then
        echo "FAIL $label: $((p + f)) checks made, at least $min expected (exit $rc) $t; see $log"
        tally "$p" $((f + 1))
        return
    fi
    tally "$p" "$f"
    if [ "$f" = 0 ]; then echo "ok   $label: $p passed $t"; else
        echo "FAIL $label: $p passed, $f failed $t; see $log"
        grep -E '^(not ok|.*FAILED|.*Test: .*\.\.\.FAILED)' "$log" | head -20 | sed 's/^/       /'
    fi
}

# directive SCRIPT KEY [DEFAULT]: the value of KEY=... (or 1 for a bare KEY) in the
# script's "# run.sh:" line.
directive() {
    local w v=${3-}
    for w in $(sed -n 's/^# run\.sh://p' "$1" | head -1); do
        case $w in
            "$2"=*) v=${w#*=} ;;
            "$2") v=1 ;;
        esac
    done
    echo "$v"
}

# --- shared services -------------------------------------------------------------
# tests/lib/service.sh KIND runs in its own process group; its pid is in $SVC/KIND.pid.
SVC=
services_stop() {
    local f p
    for f in "$SVC"/*.pid; do [ -e "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
    for f in "$SVC"/*.pid; do
        [ -e "$f" ] || continue
        p=$(cat "$f")
        for _ in $(seq 1 700); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$p" 2>/dev/null
    done
    [ -z "$SVC" ] || rm -rf "$SVC"
}
lanes_stop() { local p; for p in ${LANE_PIDS:-}; do kill -TERM -- "-$p" 2>/dev/null; done; }
trap 'lanes_stop; services_stop' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# service_start KIND: in the background; its ready file is $SVC/KIND.ready.
service_start() {
    rm -f "$SVC/$1.ready"
    setsid bash tests/lib/service.sh "$1" "$SVC/$1.ready" "$SVC/$1" \
        </dev/null >>"$logdir/service-$1.log" 2>&1 &
    echo $! >"$SVC/$1.pid"
}
service_stop() { # KIND
    local p
    [ -e "$SVC/$1.pid" ] || return 0
    p=$(cat "$SVC/$1.pid")
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 700); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$p" 2>/dev/null
    rm -f "$SVC/$1.pid"
}
# service_wait KIND SECONDS: prints the ready line; 1 when it failed or did not come.
service_wait() {
    local end=$((SECONDS + $2)) l
    while [ "$SECONDS" -lt "$end" ]; do
        if [ -s "$SVC/$1.ready" ]; then
            l=$(head -n1 "$SVC/$1.ready")
            case $l in FAILED*) echo "$l"; return 1 ;; esac
            echo "$l"
            return 0
        fi
        sleep 0.5
    done
    echo "FAILED $1 not ready after $2 s"
    return 1
}

rm -f "$logdir"/counts.*
if [ -n "$BROKERS" ]; then
    SVC=$(mktemp -d "${TMPDIR:-/tmp}/streamlab-services.XXXXXX")
    # Flink's three JVMs take a minute to come up; they do it while the rest runs.
    service_start flink
    export E2E_FLINK=$SVC/flink.ready
fi
case " $BROKERS " in *" kafka "*) service_start kafka ;; esac

# --- the plan ------------------------------------------------------------------------
# Two lanes run side by side when both kinds run: lane e (the embedded half) and lane k
# (the CUnit suites, the kafka half on the shared Kafka, and the scripts that run once).  Lane k takes the scripts in reverse order, so that a script never runs in both
# lanes at the same time.  With one kind, one lane.
PLAN_E=() PLAN_K=()
plan_error=0
two_lanes=0
case " $BROKERS " in *" embedded "*) case " $BROKERS " in *" kafka "*) two_lanes=1 ;; esac ;; esac
for s in tests/e2e_*.sh; do
    [ -e "$s" ] || continue
    base=$(basename "$s" .sh)
    # E2E_ONLY="e2e_cli e2e_docs": only these scripts (a quick loop; make test runs all)
    if [ -n "${E2E_ONLY:-}" ]; then case " $E2E_ONLY " in *" $base "*) ;; *) continue ;; esac; fi
    if ! grep -q '^# run\.sh:' "$s"; then
        echo "FAIL $base: no \"# run.sh:\" line (limit= and min= are required)"
        plan_error=$((plan_error + 1))
        continue
    fi
    if [ -z "$(directive "$s" limit)" ] || [ -z "$(directive "$s" min)$(directive "$s" min.embedded)$(directive "$s" min.kafka)" ]; then
        echo "FAIL $base: its \"# run.sh:\" line lacks limit= or min="
        plan_error=$((plan_error + 1))
        continue
    fi
    runs=$(directive "$s" runs each)
    case $runs in
        each)
            for kind in $BROKERS; do
                if [ "$kind" = kafka ]; then PLAN_K+=("$s kafka"); else PLAN_E+=("$s embedded"); fi
            done ;;
        once)
            [ -n "$BROKERS" ] || continue
            if [ "$two_lanes" = 1 ] && [ "$(directive "$s" lane k)" = k ]; then PLAN_K+=("$s embedded")
            elif [ "$BROKERS" = kafka ]; then PLAN_K+=("$s embedded")
            else PLAN_E+=("$s embedded"); fi ;;
        prefer-kafka)
            case " $BROKERS " in
                *" kafka "*) PLAN_K+=("$s kafka") ;;
                *" embedded "*) PLAN_E+=("$s embedded") ;;
            esac ;;
        *) echo "FAIL $base: runs=$runs is not each, once or prefer-kafka"; plan_error=$((plan_error + 1)) ;;
    esac
done
[ "$plan_error" = 0 ] || echo "0 $plan_error" >"$logdir/counts.plan"

KAFKA=
reset_kafka() { # LABEL: the shared Kafka made fresh again; a failure is counted
    local out
    if out=$(timeout -k 10 150 /usr/bin/python3 tests/lib/kafka_reset.py "$KAFKA" 2>&1); then
        echo "$out" | sed "s/^/# kafka reset $1: /" >>"$logdir/kafka-reset.log"
        return 0
    fi
    echo "FAIL kafka reset $1: $(tail -2 <<<"$out" | tr '\n' ' '); restarting the shared Kafka"
    tally 0 1
    service_stop kafka
    service_start kafka
    KAFKA=$(service_wait kafka 240) || { echo "FAIL the shared Kafka restarts: $KAFKA"; tally 0 1; KAFKA=; }
}

# run_e2e SCRIPT KIND
run_e2e() {
    local s=$1 kind=$2 base limit min name log shared= t0 rc
    base=$(basename "$s" .sh)
    limit=$(directive "$s" limit)
    min=$(directive "$s" "min.$kind" "$(directive "$s" min)")
    name="$base [$kind]"
    log=$logdir/$base-$kind.log
    if [ "$kind" = kafka ] && [ -z "$(directive "$s" own-broker)" ]; then
        [ -n "$KAFKA" ] || { echo "FAIL $name: no shared Kafka"; tally 0 1; return; }
        shared=$KAFKA
    fi
    t0=$SECONDS
    E2E_KAFKA=$shared timeout -k 30 "$limit" bash "$s" "$kind" >"$log" 2>&1
    rc=$?
    count "$log" "$name" "$rc" $((SECONDS - t0)) "$limit" "${min:-1}"
    [ -z "$shared" ] || reset_kafka "after $base"
}

run_unit() { # the CUnit suites
    local t name log t0 rc
    for t in "$@"; do
        name=$(basename "$t")
        log=$logdir/$name.log
        t0=$SECONDS
        timeout -k 10 "$UNIT_LIMIT" "$t" >"$log" 2>&1
        rc=$?
        count "$log" "$name" "$rc" $((SECONDS - t0))
    done
}
lane_e() {
    local e
    COUNTS=$logdir/counts.e
    [ "${#PLAN_E[@]}" -gt 0 ] || return 0
    for e in "${PLAN_E[@]}"; do run_e2e ${e% *} ${e##* }; done
    echo "lane e (embedded half) done after $(fmt_time $((SECONDS - RUN_START)))"
}
lane_k() { # [CUNIT SUITES...]: they run first, while the shared Kafka starts
    local t0 i e
    COUNTS=$logdir/counts.k
    run_unit "$@"
    t0=$SECONDS
    if [ "${#PLAN_K[@]}" = 0 ]; then return; fi
    case " $BROKERS " in
        *" kafka "*)
            if KAFKA=$(service_wait kafka 300); then
                echo "ok   the shared Kafka is ready on $KAFKA (waited $(fmt_time $((SECONDS - t0))))"
                reset_kafka "before the kafka half"
            else
                echo "FAIL the shared Kafka starts: $KAFKA; see $logdir/service-kafka.log"
                tally 0 1
                KAFKA=
            fi ;;
    esac
    for ((i = ${#PLAN_K[@]} - 1; i >= 0; i--)); do
        e=${PLAN_K[$i]}
        run_e2e ${e% *} ${e##* }
    done
    service_stop kafka
    echo "lane k (CUnit suites, kafka half, scripts run once) done after $(fmt_time $((SECONDS - RUN_START)))"
}

if [ "$two_lanes" = 1 ]; then
    set -m # each lane in a process group of its own: lanes_stop can stop it whole
    lane_e &
    pe=$!
    lane_k "$@" &
    pk=$!
    set +m
    LANE_PIDS="$pe $pk"
    wait "$pe"
    wait "$pk"
    LANE_PIDS=
else
    COUNTS=$logdir/counts.u
    run_unit "$@"
    lane_e
    lane_k
fi

passed=0 failed=0
for f in "$logdir"/counts.*; do
    [ -e "$f" ] || continue
    while read -r p f2; do passed=$((passed + p)) failed=$((failed + f2)); done <"$f"
done

case " $BROKERS " in
    *" kafka "*) ;;
    *) [ -z "$BROKERS" ] || echo "note: real Kafka skipped (BROKERS=\"$BROKERS\"); make test runs it too" ;;
esac
echo "total time $(fmt_time $((SECONDS - RUN_START))) (per suite: $times)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
