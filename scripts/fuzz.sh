#!/usr/bin/env bash
# Runs every Fuzz target of the module for a bounded time each (default 15s).
set -euo pipefail
fuzztime=${1:-15s}
cd "$(dirname "$0")/.."
status=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "fuzz: $pkg $target for $fuzztime"
    go test -run "^$" -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg" || status=1
  done
done
exit $status
