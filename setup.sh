#!/usr/bin/env bash
# setup.sh — installs everything streamlab needs to build, run and test, once.
#
#   ./setup.sh          install what is missing (apt-get as root; otherwise it prints
#                       the one apt-get line to run), then fetch the Kafka release jars
#   ./setup.sh --check  exit 0 when nothing is missing, 1 otherwise (installs nothing)
#
# Idempotent: a second run finds everything and does nothing.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
    # build
    build-essential pkg-config
    librdkafka-dev libjansson-dev libjemalloc-dev libyajl-dev libssl-dev libncurses-dev libcaca-dev libturbojpeg0-dev
    # video and file uploads: FFmpeg, libmagic, the upload page, PDF/DOCX text, Flink REST
    libavformat-dev libavcodec-dev libavdevice-dev libavutil-dev libswscale-dev
    libmagic-dev libmicrohttpd-dev libpoppler-glib-dev libzip-dev libxml2-dev
    libcurl4-openssl-dev
    # tests
    libcunit1-dev kcat tmux python3 python3-kafka python3-confluent-kafka docker-compose
    ffmpeg chromium python3-websocket
    # fuzzing (make fuzz): clang with libFuzzer
    clang libclang-rt-14-dev
    # a real Apache Kafka for the tests (release jars from Maven Central)
    default-jre-headless maven
    # a local Apache Flink for the Flink SQL twin (tests/flink/flink.sh: the PyPI wheel
    # apache-flink-libraries via pip, two jars via Maven; curl waits for its REST API)
    python3-pip curl
)

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

if [ "${1:-}" = "--check" ]; then
    [ -z "${missing// /}" ] && kafka_ready && flink_ready && exit 0
    [ -n "${missing// /}" ] && echo "missing packages: $missing"
    kafka_ready || echo "missing: the Kafka release jars (tests/kafka/kafka.sh fetch)"
    flink_ready || echo "missing: the Flink distribution (tests/flink/flink.sh fetch)"
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

if ! kafka_ready; then
    echo "setup: fetching the Apache Kafka release jars from Maven Central (once)"
    tests/kafka/kafka.sh fetch
fi
if ! flink_ready; then
    echo "setup: fetching Apache Flink (PyPI wheel + Maven Central jars, once)"
    tests/flink/flink.sh fetch
fi
echo "setup: everything streamlab needs is installed"
