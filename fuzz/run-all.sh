#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, as many at once as there are cores
# (2 on CI), and fails when any of them finds something. Used by ./setup.sh test.
#   fuzz/run-all.sh SECONDS
# The libFuzzer seed is fixed (PCAPLENS_FUZZ_SEED, default 1) so that a CI run
# replays the same mutations a longer local run with that seed already
# explored: CI fails on regressions, not on the luck of the draw. Long
# campaigns (docs/robustness.md) use random seeds to find new things.
set -euo pipefail
source "$(dirname "$0")/common.sh"
seconds=${1:?usage: $0 SECONDS}
fuzz_build
jobs=$(nproc 2>/dev/null || echo 2)
failed=0
pids=() names=()
for t in "${TARGETS[@]}"; do
    PCAPLENS_FUZZ_NOBUILD=1 "$FUZZ_DIR/run.sh" "$t" "$seconds" -seed="${PCAPLENS_FUZZ_SEED:-1}" &
    pids+=($!) names+=("$t")
    if [ ${#pids[@]} -ge "$jobs" ]; then
        wait "${pids[0]}" || { echo "fuzz: ${names[0]} failed" >&2; failed=1; }
        pids=("${pids[@]:1}") names=("${names[@]:1}")
    fi
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { echo "fuzz: ${names[$i]} failed" >&2; failed=1; }
done
exit $failed
