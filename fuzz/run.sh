#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time.
#   fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
# TARGET: fuzz_capture | fuzz_decode | fuzz_reassembler | fuzz_http
# New inputs go to $PCAPLENS_FUZZ_BUILD/corpus/TARGET (the committed seeds in
# fuzz/corpus/TARGET and the crash inputs in fuzz/regressions/TARGET are read,
# never written); a finding is written to $PCAPLENS_FUZZ_BUILD/artifacts/TARGET/
# and the script exits non-zero. Set PCAPLENS_FUZZ_NOBUILD=1 to skip the build.
set -euo pipefail
source "$(dirname "$0")/common.sh"

if [ $# -lt 2 ] || ! is_target "$1"; then
    echo "usage: $0 {$(IFS='|'; echo "${TARGETS[*]}")} SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
target=$1 seconds=$2
shift 2
[ "${PCAPLENS_FUZZ_NOBUILD:-0}" = 1 ] || fuzz_build "$target"

work="$BUILD/corpus/$target"
artifacts="$BUILD/artifacts/$target"
log="$BUILD/logs/$target.log"
mkdir -p "$work" "$artifacts" "$(dirname "$log")"
inputs=("$work")
for d in "$FUZZ_DIR/regressions/$target" "$FUZZ_DIR/corpus/$target"; do
    [ -d "$d" ] && inputs+=("$d")
done
dict=()
[ -f "$FUZZ_DIR/$target.dict" ] && dict=(-dict="$FUZZ_DIR/$target.dict")

set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
"$BUILD/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$target")" \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "$@" "${inputs[@]}" >"$log" 2>&1
status=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
if [ $status -ne 0 ]; then
    echo "fuzz: $target: FINDING after ${execs:-?} executions (status $status); log $log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" | head -20 >&2 || true
    exit 1
fi
echo "fuzz: $target: ${seconds}s, ${execs:-?} executions, ${cov:-cov: ?}, no findings"
