#!/usr/bin/env bash
# Publishes the function (src/Lambda) NativeAOT for Lambda's provided.al2023 runtime and lays out an asset folder
# holding one executable, `bootstrap` (what the CDK stack's DigestFunction takes as its asset folder).
#
#   scripts/publish-lambda.sh [x86_64|arm64] [--out DIR]
#     architecture  default: functionArchitecture in infra/cdk.json, else arm64 (the stack's default)
#     --out DIR     default: artifacts/lambda, the folder the stack reads when bootstrapAsset is unset
#                   (or bootstrapAsset from infra/cdk.json); a relative DIR is relative to where you run it
#     --dry-run     print the architecture and the folder it would publish to, and stop
#
# A trimming or AOT warning fails the publish (TreatWarningsAsErrors applies to ILLink/ILC warnings too).
# Intermediate files go under artifacts/lambda-build/, so a publish never disturbs the Debug build in obj/.
set -euo pipefail
CALLER="$(pwd)"
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi

# A string value of infra/cdk.json's context, one key per line as the file is written (no JSON parser needed).
context_value() {
  sed -n "s/^[[:space:]]*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$ROOT/infra/cdk.json" | head -1
}

ARCH=""
if [[ $# -gt 0 && "$1" != -* ]]; then ARCH="$1"; shift; fi
OUT=""
DRY_RUN=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) [[ $# -ge 2 ]] || { echo "--out needs a folder" >&2; exit 2; }; OUT="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    *) echo "unknown argument: $1 (see scripts/publish-lambda.sh --help)" >&2; exit 2 ;;
  esac
done

if [[ -z "$ARCH" ]]; then
  ARCH="$(context_value functionArchitecture)"
  ARCH="${ARCH:-arm64}"
  echo "== architecture $ARCH (functionArchitecture of infra/cdk.json, else the stack's default; pass x86_64 or arm64 to choose)" >&2
fi
case "$ARCH" in
  x86_64|x64|amd64) ARCH=x86_64; RID=linux-x64 ;;
  arm64|aarch64) ARCH=arm64; RID=linux-arm64 ;;
  *) echo "architecture must be x86_64 or arm64 (got '$ARCH')" >&2; exit 2 ;;
esac
if [[ -z "$OUT" ]]; then
  ASSET="$(context_value bootstrapAsset)"
  if [[ -n "$ASSET" && "$ASSET" != "placeholder-asset" ]]; then
    OUT="$ROOT/infra/$ASSET"            # bootstrapAsset is relative to infra/
  else
    OUT="$ROOT/artifacts/lambda"        # where the stack looks when bootstrapAsset is unset
  fi
elif [[ "$OUT" != /* ]]; then
  OUT="$CALLER/$OUT"
fi
if command -v realpath >/dev/null; then OUT="$(realpath -m "$OUT")"; fi
BUILD="$ROOT/artifacts/lambda-build/$RID"
if [[ -n "$DRY_RUN" ]]; then echo "$ARCH $OUT"; exit 0; fi
# The folder is replaced after the build: refuse one that holds anything but an earlier asset (a mistyped bootstrapAsset or --out,
# such as "..", must not delete a repository).
if [[ -d "$OUT" ]] && find "$OUT" -mindepth 1 -maxdepth 1 ! -name bootstrap ! -name mute-rules.json | grep -q .; then
  echo "$OUT holds files other than a bootstrap: not replacing it. Name an empty or new folder (--out DIR, or bootstrapAsset in infra/cdk.json)." >&2
  exit 2
fi

EXTRA=()
HOST_ARCH="$(uname -m)"
if [[ "$RID" == "linux-arm64" && "$HOST_ARCH" != "aarch64" ]]; then
  # Cross-compiling: the ILCompiler links with clang --target=aarch64-linux-gnu and lld. On Debian/Ubuntu,
  # `apt-get install clang lld gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross` puts the
  # aarch64 libc where clang finds it with the sysroot "/" (libc.so's linker script holds absolute paths, so
  # --sysroot=/usr/aarch64-linux-gnu does not work).
  command -v clang >/dev/null && command -v ld.lld >/dev/null || { echo "cross-compiling to arm64 needs clang, lld and the aarch64 cross libc: apt-get install clang lld gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross; or run the function on x86_64: set \"functionArchitecture\": \"x86_64\" in infra/cdk.json and run this script again" >&2; exit 3; }
  EXTRA+=(-p:CppCompilerAndLinker=clang -p:SysRoot="${AARCH64_SYSROOT:-/}" -p:LinkerFlavor=lld -p:ObjCopyName=aarch64-linux-gnu-objcopy)
fi

echo "== dotnet publish src/Lambda ($RID, NativeAOT)" >&2
dotnet publish src/Lambda -c Release -r "$RID" -p:PublishAot=true -p:StripSymbols=true \
  --artifacts-path "$BUILD" -nologo "${EXTRA[@]}" >&2

BIN="$BUILD/publish/Lambda/release_$RID/bootstrap"
[[ -x "$BIN" ]] || { echo "publish produced no executable at $BIN" >&2; exit 1; }
# provided.al2023 has glibc 2.34: a binary that needs a newer symbol version would not start there.
if command -v objdump >/dev/null; then
  NEWEST="$(objdump -T "$BIN" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)"
  if [[ -n "$NEWEST" && "$(printf '%s\n2.34\n' "$NEWEST" | sort -V | tail -1)" != "2.34" ]]; then
    echo "the bootstrap needs glibc $NEWEST but provided.al2023 has 2.34: build on an older distribution (or in the AL2023 image)" >&2
    exit 4
  fi
fi
rm -rf "$OUT" && mkdir -p "$OUT"
cp "$BIN" "$OUT/bootstrap"
chmod 755 "$OUT/bootstrap"
echo "$OUT/bootstrap ($(stat -c %s "$OUT/bootstrap") bytes, $ARCH)" >&2
echo "$OUT"
