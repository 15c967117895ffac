#!/usr/bin/env bash
# Adversarial traces (docs/robustness.md): generates each trace with
# fuzz/adversarial.cpp (the test packet writer), runs the Release pcaplens
# binary on it under /usr/bin/time -v and prints a Markdown table row per
# trace: packets, exit status, peak RSS, wall time. The traces are big
# (hundreds of MB together) and are never committed; they go to OUT_DIR and
# are deleted after their run unless KEEP=1.
#   fuzz/adversarial.sh PCAPLENS_BINARY [OUT_DIR] [TRACE...]
# Fails when a run exits outside {0,3,4} or its peak RSS reaches RSS_LIMIT_MB
# (default 1024). PCAPLENS_ARGS adds options to every run (e.g.
# "--max-connections 65536").
set -euo pipefail
FUZZ_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$FUZZ_DIR/.." && pwd)
bin=${1:?usage: $0 PCAPLENS_BINARY [OUT_DIR] [TRACE...]}
out=${2:-${TMPDIR:-/tmp}/pcaplens-adversarial}
shift $(( $# >= 2 ? 2 : 1 ))
limit_mb=${RSS_LIMIT_MB:-1024}
[ -x /usr/bin/time ] || { echo "adversarial: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
mkdir -p "$out"
gen="$out/pcaplens_adversarial"
if [ ! -x "$gen" ] || [ "$FUZZ_DIR/adversarial.cpp" -nt "$gen" ]; then
    ${CXX:-c++} -O2 -std=c++20 -I "$ROOT/tests" "$FUZZ_DIR/adversarial.cpp" -o "$gen"
fi
traces=("$@")
[ ${#traces[@]} -gt 0 ] || traces=(syn-flood request-flood seq-holes overlap-storm chunk-2p64 header-10mb pipeline-100k ts-backwards frag-never-complete)
echo "| trace | packets | file size | exit | peak RSS | wall time | user+sys CPU |"
echo "|---|---:|---:|---:|---:|---:|---:|"
failed=0
for t in "${traces[@]}"; do
    "$gen" "$out" "$t" >"$out/$t.gen"
    packets=$(awk '{print $2}' "$out/$t.gen")
    size=$(du -m "$out/$t.pcap" | cut -f1)
    set +e
    # shellcheck disable=SC2086
    /usr/bin/time -v "$bin" --format json ${PCAPLENS_ARGS:-} "$out/$t.pcap" >"$out/$t.json" 2>"$out/$t.time"
    status=$?
    set -e
    rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/$t.time")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/$t.time")
    user=$(sed -n 's/.*User time (seconds): //p' "$out/$t.time")
    sys=$(sed -n 's/.*System time (seconds): //p' "$out/$t.time")
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.1f s", u+s}')
    rss_mb=$(( rss_kb / 1024 ))
    echo "| $t${PCAPLENS_ARGS:+ (\`$PCAPLENS_ARGS\`)} | $packets | ${size} MB | $status | ${rss_mb} MiB | $wall | $cpu |"
    if [ "$status" -ne 0 ] && [ "$status" -ne 3 ] && [ "$status" -ne 4 ]; then
        echo "adversarial: $t: exit $status" >&2; grep -v '^\s' "$out/$t.time" | head -5 >&2; failed=1
    fi
    if [ "$rss_mb" -ge "$limit_mb" ]; then echo "adversarial: $t: peak RSS ${rss_mb} MiB >= ${limit_mb} MiB" >&2; failed=1; fi
    [ "${KEEP:-0}" = 1 ] || rm -f "$out/$t.pcap" "$out/$t.json"
done
exit $failed
