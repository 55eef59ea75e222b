#!/usr/bin/env bash
# bench_files.sh — a 200 MB upload to processed output on the embedded broker (figures,
# not a test): `streamlab upload` paces on the engine's group (3 MB window), the engine
# (--pipelines files, --checkpoint-interval 0.2) reassembles it.  Prints MB/s from the
# start of the upload to the processed_files record, and the engine's peak RSS growth
# over its RSS before the upload (sampled every 50 ms from /proc).
#   BENCH_RUNS=3  BENCH_FILE_MB=200  BENCH_CHECKPOINT=0.2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export STREAMLAB=${STREAMLAB:-$PWD/$BUILD/streamlab}
RUNS=${BENCH_RUNS:-3}
MB=${BENCH_FILE_MB:-200}
CKPT=${BENCH_CHECKPOINT:-0.2}
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

tmp=$(mktemp -d)
# Set before broker_start, which chains its own cleanup onto this trap.
trap 'rm -rf "$tmp"; [ -n "${EPID:-}" ] && kill "$EPID" 2>/dev/null; true' EXIT
source tests/lib/broker.sh
broker_start embedded >/dev/null
head -c $((MB * 1024 * 1024 * 3 / 4 + 1024)) /dev/urandom | base64 -w 76 >"$tmp/b64"
head -c $((MB * 1024 * 1024)) "$tmp/b64" >"$tmp/big.txt"
rm -f "$tmp/b64"
echo "== files: a $MB MB upload to processed_files, embedded broker at $BROKER"
rates=() growth=()
for i in $(seq "$RUNS"); do
    group="bench-files-$i-$$"
    "$STREAMLAB" engine -b "$BROKER" --pipelines files --group "$group" \
        --checkpoint-interval "$CKPT" >"$tmp/engine.out" 2>&1 &
    EPID=$!
    sleep 2
    base=$(rss_kb "$EPID") peak=$base
    "$STREAMLAB" consume processed_files -b "$BROKER" --count 1 --raw >"$tmp/processed.out" 2>/dev/null &
    CPID=$!
    sleep 2 # the consumer joins its group before the upload starts
    start=$(date +%s.%N)
    "$STREAMLAB" upload -b "$BROKER" --pace "$group" "$tmp/big.txt" >"$tmp/upload.out" &
    UPID=$!
    while kill -0 "$CPID" 2>/dev/null; do
        r=$(rss_kb "$EPID"); [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.05
    done
    end=$(date +%s.%N)
    wait "$UPID"
    kill "$EPID"; wait "$EPID" 2>/dev/null || true; EPID=
    grep -q '"filename":"big.txt"' "$tmp/processed.out" || { echo "run $i: no processed record"; exit 1; }
    rates+=("$(echo "scale=1; $MB / ($end - $start)" | bc)")
    growth+=("$(( (peak - base) / 1024 ))")
done
echo "upload to processed output: runs ${rates[*]} MB/s; median $(printf '%s\n' "${rates[@]}" | median) MB/s"
echo "engine peak RSS growth while reassembling: runs ${growth[*]} MB; median $(printf '%s\n' "${growth[@]}" | median) MB"
