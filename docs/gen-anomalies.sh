#!/usr/bin/env bash
# Regenerates the catalogue table in docs/anomalies.md from the code.
# usage: docs/gen-anomalies.sh path/to/pcaplens
set -euo pipefail
cd "$(dirname "$0")"
bin=$1
table=$("$bin" --list-anomalies --format markdown)
awk -v table="$table" '
  /<!-- BEGIN GENERATED/ { print; print table; skip=1; next }
  /<!-- END GENERATED/ { skip=0 }
  !skip { print }
' anomalies.md > anomalies.md.new
mv anomalies.md.new anomalies.md
