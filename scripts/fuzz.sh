#!/usr/bin/env bash
# Runs every Fuzz target of the module for a bounded time each (default 15s).
#
# Go's fuzzing coordinator sometimes ends a run that found nothing with a bare "context deadline
# exceeded" FAIL when the time runs out while it waits on a worker (no failing input is written;
# a race in the coordinator, golang/go#75804, fixed in Go 1.27; this module is on 1.26). Such a
# run is tried once more; a second one, or any run that wrote a failing input, fails the script.
set -euo pipefail
fuzztime=${1:-15s}
cd "$(dirname "$0")/.."
status=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    for try in 1 2; do
      echo "fuzz: $pkg $target for $fuzztime"
      log="$(mktemp)"
      if go test -run "^$" -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s "$pkg" 2>&1 | tee "$log"; then
        rm -f "$log"
        break
      fi
      if [ "$try" -eq 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written to' "$log"; then
        echo "fuzz: $target ended on the fuzzing coordinator's deadline with no failing input; trying once more"
        rm -f "$log"
        continue
      fi
      rm -f "$log"
      status=1
      break
    done
  done
done
exit $status
