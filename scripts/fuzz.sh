#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME each (default 4s).
# The seed corpora in testdata/fuzz also run in every plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-4s}
status=0
for pkg in $($GO list ./...); do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  grep -lsq '^func Fuzz' "$dir"/*_test.go 2>/dev/null || continue
  for target in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== fuzz $pkg $target ($FUZZTIME)"
    if ! $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
      echo "FAIL: fuzz $pkg $target"
      status=1
    fi
  done
done
exit $status
