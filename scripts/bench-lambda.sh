#!/usr/bin/env bash
# Measures the Lambda bootstrap against a loopback Runtime API, with its DynamoDB tables (carry, ledger, account
# names) on dynalite, which it starts (tests/emulators; `npm ci` there first if needed) and stops: NativeAOT binary size,
# cold start (process start -> first response received) for the AOT binary and for `dotnet bootstrap.dll` under the JIT,
# and in a warm process of each kind a 10,000-record batch that opens a window (claiming its 50 accounts' carries) and
# the window's final call (writing them back). Nothing is posted to Slack. Both variants run alternately in one session.
#
#   scripts/bench-lambda.sh [RUNS] [--dynamodb-latency-ms MS]   default 10 cold starts per variant, no latency added
#                                                                to dynalite's; needs node (20+) and npm
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
RUNS="${1:-10}"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a whole number of at least 1 (got '$RUNS'); see --help" >&2; exit 2; }
command -v node >/dev/null || { echo "node is not on PATH: the benchmark runs the function against dynalite (Node.js 20+)" >&2; exit 3; }
if [[ ! -f tests/emulators/node_modules/.package-lock.json ]]; then
  echo "== npm ci in tests/emulators (dynalite)" >&2
  (cd tests/emulators && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
ARCH=x86_64; [[ "$(uname -m)" == "aarch64" ]] && ARCH=arm64

AOT_DIR="$(scripts/publish-lambda.sh "$ARCH" --out artifacts/bench/aot)"
echo "== dotnet build -c Release (the JIT variant of src/Lambda, and the benchmark)" >&2
dotnet build src/Lambda -c Release --artifacts-path artifacts/bench/jit-build -nologo -v q >&2
DLL="artifacts/bench/jit-build/bin/Lambda/release/bootstrap.dll"
dotnet run -c Release --project bench -- lambda --bootstrap "$AOT_DIR/bootstrap" --dll "$DLL" --runs "$RUNS" "${@:2}"
