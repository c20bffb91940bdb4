#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: installs what the tests need (the npm
# emulators, pinned by tests/emulators/package-lock.json), builds, tests, and prints one totals line
# "N passed, N failed, N skipped". The tests start and stop the emulators themselves.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

# jsii (the CDK tests) leaves large temp folders behind: keep them where this script cleans them.
export TMPDIR="$ROOT/.tmp"
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
export CDK_DISABLE_CLI_TELEMETRY=true

for dir in tests/emulators infra/nag; do
  if [[ -f "$dir/package-lock.json" && ! -d "$dir/node_modules" ]]; then
    echo "== npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed in $dir"; echo "0 passed, 1 failed"; exit 1; }
  fi
done

RESULTS="$ROOT/.tmp/test-results"
rm -rf "$RESULTS"
echo "== dotnet test"
dotnet test Pipeline.sln --logger "trx" --results-directory "$RESULTS" "$@"
status=$?

# Sum the counters of every .trx file (dotnet test prints one summary per project; CI wants one line).
passed=0; failed=0; skipped=0
shopt -s nullglob
for trx in "$RESULTS"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # build error or crashed test host
rm -rf "$TMPDIR"/jsii-* 2>/dev/null
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
