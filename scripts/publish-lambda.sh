#!/usr/bin/env bash
# Publishes the `pipeline` program NativeAOT for Lambda's provided.al2023 runtime and lays out an asset folder
# holding one executable, `bootstrap` (what the CDK stack's DigestFunction takes as AssetDirectory).
#
#   scripts/publish-lambda.sh [x86_64|arm64] [--out DIR]      default: x86_64, artifacts/lambda/<arch>/
#
# A trimming or AOT warning fails the publish (TreatWarningsAsErrors applies to ILLink/ILC warnings too).
# Intermediate files go under artifacts/lambda-build/, so a publish never disturbs the Debug build in obj/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

ARCH="${1:-x86_64}"
shift || true
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

case "$ARCH" in
  x86_64|x64|amd64) ARCH=x86_64; RID=linux-x64 ;;
  arm64|aarch64) ARCH=arm64; RID=linux-arm64 ;;
  *) echo "architecture must be x86_64 or arm64 (got '$ARCH')" >&2; exit 2 ;;
esac
OUT="${OUT:-$ROOT/artifacts/lambda/$ARCH}"
BUILD="$ROOT/artifacts/lambda-build/$RID"

EXTRA=()
HOST_ARCH="$(uname -m)"
if [[ "$RID" == "linux-arm64" && "$HOST_ARCH" != "aarch64" ]]; then
  # Cross-compiling: the ILCompiler links with clang + an aarch64 sysroot (apt: clang lld gcc-aarch64-linux-gnu ...).
  command -v clang >/dev/null || { echo "cross-compiling to arm64 needs clang, lld and an aarch64 sysroot (see notes/lambda.md)" >&2; exit 3; }
  EXTRA+=(-p:CppCompilerAndLinker=clang -p:SysRoot="${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}" -p:LinkerFlavor=lld -p:ObjCopyName=aarch64-linux-gnu-objcopy)
fi

echo "== dotnet publish src/Pipeline ($RID, NativeAOT)" >&2
dotnet publish src/Pipeline -c Release -r "$RID" -p:PublishAot=true -p:StripSymbols=true \
  --artifacts-path "$BUILD" -nologo "${EXTRA[@]}" >&2

BIN="$BUILD/publish/Pipeline/release_$RID/pipeline"
[[ -x "$BIN" ]] || { echo "publish produced no executable at $BIN" >&2; exit 1; }
rm -rf "$OUT" && mkdir -p "$OUT"
cp "$BIN" "$OUT/bootstrap"
chmod 755 "$OUT/bootstrap"
echo "$OUT/bootstrap ($(stat -c %s "$OUT/bootstrap") bytes, $ARCH)" >&2
echo "$OUT"
