#!/usr/bin/env bash
# Runs the four soak scripts at their full sizes, one after another, and keeps each one's JSON figures in DIR
# (default: soak-results/). Exits 1 when any figure breaks its bound. docs/reliability.md#soak-and-leak-checks.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${1:-soak-results}"
mkdir -p "$out"
status=0
for script in load-dispose requests kv-storm dispose-race; do
  echo "== $script =="
  if node bench/run-ts.mjs "bench/soak/$script.ts" >"$out/$script.json"; then
    echo "ok"
  else
    echo "FAILED (figures in $out/$script.json)"
    status=1
  fi
done
exit $status
