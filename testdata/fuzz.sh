#!/usr/bin/env bash
# fuzz.sh [TIME]: runs every Go fuzz target of the module for TIME each (default 20s).
# Seed corpora live in each package's testdata/fuzz/<Target>/.
set -euo pipefail
t=${1:-20s}
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $f ($t)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
  done
done
