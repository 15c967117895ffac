#!/usr/bin/env bash
# (Re)builds the seed corpora fuzz/corpus/<target>/ from the project's
# captures (samples/, tests/captures/) and, when it sits beside the project,
# the public corpus ../shared/corpus. Raw seeds are made by pcaplens_seedgen
# (fuzz/seedgen.cpp) and then minimised with libFuzzer's -merge=1, so only
# inputs that add coverage are kept; the whole fuzz/corpus stays < 2 MB.
#   fuzz/make-seeds.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
fuzz_build "${TARGETS[@]}" pcaplens_seedgen

raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
mkdir -p "$raw/fuzz_capture"

captures=()
for f in "$ROOT"/samples/*.pcap "$ROOT"/samples/*.pcapng "$ROOT"/tests/captures/*.pcap "$ROOT"/tests/captures/*.pcapng; do
    [ -f "$f" ] && captures+=("$f")
done
shared="$ROOT/../shared/corpus"
if [ -d "$shared" ]; then
    while IFS= read -r -d '' f; do captures+=("$f"); done < <(find "$shared" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.ntar' \) -print0 | sort -z)
fi
echo "make-seeds: ${#captures[@]} captures"

# Whole-file seeds: small files as they are, big ones cut to their first 8 kB
# (a truncated capture is a useful seed of its own).
n=0
for f in "${captures[@]}"; do
    n=$((n + 1))
    name="$(basename "$(dirname "$f")")-$(basename "$f")"
    head -c 8192 "$f" >"$raw/fuzz_capture/$name"
done
ASAN_OPTIONS=detect_leaks=0 "$BUILD/fuzz/pcaplens_seedgen" "$raw" "${captures[@]}" 2>/dev/null

for t in "${TARGETS[@]}"; do
    out="$FUZZ_DIR/corpus/$t"
    rm -rf "$out"
    mkdir -p "$out"
    [ -d "$raw/$t" ] || continue
    ASAN_OPTIONS=detect_leaks=0 "$BUILD/fuzz/$t" -merge=1 -max_len="$(max_len "$t")" -timeout=10 "$out" "$raw/$t" >"$BUILD/merge-$t.log" 2>&1
    echo "make-seeds: $t: $(find "$raw/$t" -type f | wc -l) raw -> $(find "$out" -type f | wc -l) seeds, $(du -sk --apparent-size "$out" | cut -f1) kB"
done
total=$(du -sk --apparent-size "$FUZZ_DIR/corpus" | cut -f1)
echo "make-seeds: fuzz/corpus is ${total} kB"
if [ "$total" -ge 2048 ]; then
    echo "make-seeds: fuzz/corpus is over 2 MB; do not commit it like this" >&2
    exit 1
fi
