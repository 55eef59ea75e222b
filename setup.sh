#!/usr/bin/env bash
# setup.sh — installs what streamlab needs, once.  Two modes:
#
#   ./setup.sh run          what building and running need (make run): a compiler and
#                           the libraries' Debian -dev packages
#   ./setup.sh test         that, plus what the tests need (make test): CUnit, kcat,
#                           tmux, Python's Kafka clients, ffmpeg, chromium, clang for
#                           make fuzz, Java and Maven, Prometheus, then the Apache Kafka release jars
#                           (Maven Central, ~66 MB) and Apache Flink (PyPI + Maven
#                           Central, ~326 MB) into build/
#   ./setup.sh              the same as ./setup.sh test
#   ./setup.sh --check [run|test]
#                           exit 0 when nothing that mode needs is missing, 1 otherwise
#                           (installs nothing)
#
# Packages come from apt-get when run as root; otherwise it prints the one apt-get
# line to run.  Idempotent: a second run finds everything and does nothing.
set -euo pipefail
cd "$(dirname "$0")"

RUN_PACKAGES=(
    # build
    build-essential pkg-config
    librdkafka-dev libjansson-dev libjemalloc-dev libyajl-dev libjsmn-dev libssl-dev libncurses-dev libcaca-dev libturbojpeg0-dev
    # video and file uploads: FFmpeg, libmagic, the upload page, PDF/DOCX text, Flink REST
    libavformat-dev libavcodec-dev libavdevice-dev libavutil-dev libswscale-dev
    libmagic-dev libmicrohttpd-dev libpoppler-glib-dev libzip-dev libxml2-dev
    libcurl4-openssl-dev
)
TEST_PACKAGES=(
    # tests
    libcunit1-dev kcat tmux python3 python3-kafka python3-confluent-kafka docker-compose openssl
    ffmpeg chromium python3-websocket
    # fuzzing (make fuzz): clang with libFuzzer
    clang libclang-rt-14-dev
    # a real Apache Kafka for the tests (release jars from Maven Central)
    default-jre-headless maven
    # a local Apache Flink for the Flink SQL twin (tests/flink/flink.sh: the PyPI wheel
    # apache-flink-libraries via pip, two jars via Maven; curl waits for its REST API)
    python3-pip curl
    # Prometheus and promtool: they scrape --metrics and check its exposition
    # (tests/e2e_metrics.sh); the tests start it themselves, never as a service
    prometheus
)

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
    shift
fi
mode=${1:-test}
case "$mode" in
    run) PACKAGES=("${RUN_PACKAGES[@]}") ;;
    test) PACKAGES=("${RUN_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
    *) echo "usage: setup.sh [--check] [run|test]" >&2; exit 2 ;;
esac

missing_packages() {
    local p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
            echo "$p"
    done
}

missing=$(missing_packages | tr '\n' ' ')
kafka_ready() { ls build/kafka-libs/*/.complete >/dev/null 2>&1; }
flink_ready() { ls build/flink/*/.complete >/dev/null 2>&1; }
# The releases are test dependencies only: running streamlab needs neither.
releases_ready() { [ "$mode" = run ] || { kafka_ready && flink_ready; }; }

if $check; then
    [ -z "${missing// /}" ] && releases_ready && exit 0
    [ -n "${missing// /}" ] && echo "missing packages: $missing"
    if [ "$mode" = test ]; then
        kafka_ready || echo "missing: the Kafka release jars (tests/kafka/kafka.sh fetch)"
        flink_ready || echo "missing: the Flink distribution (tests/flink/flink.sh fetch)"
    fi
    exit 1
fi

if [ -n "${missing// /}" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "streamlab needs these Debian packages; run:"
        echo "  sudo apt-get update && sudo apt-get install -y $missing"
        exit 1
    fi
    echo "setup: installing $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
fi

if [ "$mode" = test ]; then
    if ! kafka_ready; then
        echo "setup: fetching the Apache Kafka release jars from Maven Central (once)"
        tests/kafka/kafka.sh fetch
    fi
    if ! flink_ready; then
        echo "setup: fetching Apache Flink (PyPI wheel + Maven Central jars, once)"
        tests/flink/flink.sh fetch
    fi
fi
echo "setup: everything streamlab needs to $mode is installed"
