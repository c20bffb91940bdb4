#!/usr/bin/env bash
# Measures the Lambda bootstrap against a loopback Runtime API: NativeAOT binary size, cold start (process start →
# first response received) for the AOT binary and for `dotnet bootstrap.dll` under the JIT, and the cost of a
# 10,000-record batch in a warm process of each kind. Both variants run alternately in the same session.
#
#   scripts/bench-lambda.sh [RUNS]        default 10 cold starts per variant
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
RUNS="${1:-10}"
ARCH=x86_64; [[ "$(uname -m)" == "aarch64" ]] && ARCH=arm64

AOT_DIR="$(scripts/publish-lambda.sh "$ARCH" --out artifacts/bench/aot)"
echo "== dotnet build -c Release (the JIT variant of src/Lambda, and the benchmark)" >&2
dotnet build src/Lambda -c Release --artifacts-path artifacts/bench/jit-build -nologo -v q >&2
DLL="artifacts/bench/jit-build/bin/Lambda/release/bootstrap.dll"
dotnet run -c Release --project bench -- lambda --bootstrap "$AOT_DIR/bootstrap" --dll "$DLL" --runs "$RUNS"
