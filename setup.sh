#!/usr/bin/env bash
# pcaplens set-up in one command (Debian 12, as root or with sudo).
#   ./setup.sh demo   install what is missing, build, analyse samples/http-keepalive.pcap
#   ./setup.sh test   install what is missing, build (warnings as errors), run every test,
#                     then again under AddressSanitizer + UndefinedBehaviorSanitizer; build,
#                     install and check the .deb (profile-guided build, bench/pgo-build);
#                     run each libFuzzer target for 20 s
#   ./setup.sh deps   only install the packages
# Idempotent: packages already present are not reinstalled; builds are incremental.
set -euo pipefail
cd "$(dirname "$0")"

BUILD_DEPS=(build-essential cmake pkg-config git libpcap-dev libcli11-dev nlohmann-json3-dev doctest-dev libjemalloc-dev)
# Test-only: tshark for cross-checks against Wireshark, python3-jsonschema to validate the JSON
# Schema, tcpdump/iproute2/nginx/curl for the live end-to-end test, man-db for `man -l` checks,
# tmux for the README tour replayed in a terminal.
TEST_DEPS=(python3 python3-jsonschema tshark tcpdump iproute2 nginx curl man-db jq tmux clang libclang-rt-14-dev)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_missing() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update -qq
        as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

JOBS=$(nproc 2>/dev/null || echo 2)

build() {  # build DIR [cmake args...]
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS"
}

case "${1:-}" in
    deps)
        install_missing "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}"
        ;;
    demo)
        install_missing "${BUILD_DEPS[@]}"
        build build -DPCAPLENS_BUILD_TESTS=OFF
        ./build/pcaplens --timeline samples/http-keepalive.pcap
        ;;
    test)
        install_missing "${BUILD_DEPS[@]}" "${TEST_DEPS[@]}"
        build build -DPCAPLENS_WERROR=ON
        # Tests run two at a time (the e2e and tshark conformance runs are the
        # long ones and independent).
        (cd build && ctest --output-on-failure -j "$JOBS")
        build build-asan -DPCAPLENS_WERROR=ON -DPCAPLENS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
        (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            ctest --output-on-failure -j "$JOBS")
        # The .deb as it ships: profile-guided and link-time optimised
        # (bench/pgo-build: instrumented build, training run, final build,
        # reports compared), then dpkg -i, checks, dpkg -r.
        bench/pgo-build build-pgo
        tests/packaging/deb.sh build-pgo
        # Hostile input: every libFuzzer target for 20 s (two at a time, clang
        # build in build-fuzz/, fixed seed: the same inputs a longer local run
        # with that seed explored); any crash, sanitizer report, leak or hang fails.
        PCAPLENS_FUZZ_BUILD="$PWD/build-fuzz" fuzz/run-all.sh 20
        ;;
    *)
        echo "usage: $0 demo|test|deps" >&2
        exit 2
        ;;
esac
