# Shared by fuzz/run.sh, fuzz/run-all.sh and fuzz/make-seeds.sh (sourced).
# Builds the libFuzzer targets with clang in their own build directory
# (PCAPLENS_FUZZ_BUILD, default build-fuzz/ in the source tree).
FUZZ_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$FUZZ_DIR/.." && pwd)
BUILD=${PCAPLENS_FUZZ_BUILD:-$ROOT/build-fuzz}
TARGETS=(fuzz_capture fuzz_decode fuzz_reassembler fuzz_http)
CXX_FUZZ=${PCAPLENS_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}

# Largest input each target is given (libFuzzer -max_len).
max_len() {
    case "$1" in
        fuzz_capture) echo 65536 ;;
        fuzz_decode) echo 4096 ;;
        *) echo 16384 ;;
    esac
}

fuzz_build() {  # fuzz_build [cmake targets...]
    if [ -z "$CXX_FUZZ" ]; then
        echo "fuzz: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
        exit 2
    fi
    if [ ! -f "$BUILD/CMakeCache.txt" ]; then
        # -O1 with line tables: quick to build, fast enough, readable stack traces;
        # _GLIBCXX_ASSERTIONS adds bounds checks to std::vector/string operator[].
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DCMAKE_BUILD_TYPE=Release \
            -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only -D_GLIBCXX_ASSERTIONS" \
            -DPCAPLENS_FUZZ=ON -DPCAPLENS_BUILD_TESTS=OFF >/dev/null
    fi
    cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target "${@:-${TARGETS[@]}}" >/dev/null
}

is_target() {
    local t
    for t in "${TARGETS[@]}"; do [ "$t" = "$1" ] && return 0; done
    return 1
}
