#!/usr/bin/env bash
# Runs every test of the solution on a fresh machine: installs what the tests need (the npm
# emulators, pinned by tests/emulators/package-lock.json; as root, the arm64 cross toolchain, qemu-user and an
# arm64 libssl3, Chromium and an emoji font: docs/development.md "What tests/test.sh installs"), builds, tests, and prints one totals line
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
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed in $dir"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
  fi
done

# The arm64 bootstrap runs under qemu-user in tests/Lambda.Tests (Arm64BootstrapTests): it needs a cross-linker
# (clang, lld, the aarch64 binutils and libc), qemu-user-static, and an arm64 OpenSSL 3 for its signed AWS
# requests (.NET's crypto loads libssl.so.3 at run time; without one the first signed call aborts the process).
# Installed only when missing. A failure is not fatal here: it is handed to the tests, which FAIL with it.
ARM64_PACKAGES=(clang lld gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)
export ARM64_LIBSSL_DIR="$ROOT/artifacts/arm64-libssl/usr/lib/aarch64-linux-gnu"
export ARM64_EMULATION=required   # the tests fail (not skip) when something below is missing
ARM64_SETUP_ERROR=""
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"; else return 126; fi; }
arm64_missing_packages() {
  local p; for p in "${ARM64_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
missing=$(arm64_missing_packages)
if [[ -n "$missing" ]]; then
  echo "== apt-get install" $missing
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >"$TMPDIR/arm64-apt.log" 2>&1; then
    ARM64_SETUP_ERROR="apt-get install failed for: $(echo $missing) (needs root or passwordless sudo, and apt reachable); apt said: $(tail -5 "$TMPDIR/arm64-apt.log" | tr '\n' ' ')"
  fi
  missing=$(arm64_missing_packages)
  [[ -z "$missing" || -n "$ARM64_SETUP_ERROR" ]] || ARM64_SETUP_ERROR="still missing after apt-get install: $(echo $missing)"
fi
if [[ ! -f "$ARM64_LIBSSL_DIR/libssl.so.3" ]]; then
  # Debian's arm64 libssl3, unpacked (dpkg -x) rather than installed: only the emulated process sees it.
  echo "== arm64 libssl3 into ${ARM64_LIBSSL_DIR#$ROOT/}"
  deb_dir="$TMPDIR/arm64-deb"; mkdir -p "$deb_dir"
  if ! {
    { dpkg --print-foreign-architectures | grep -qx arm64 || as_root dpkg --add-architecture arm64; } &&
    as_root apt-get update -qq &&
    # Debian 13 renamed the package libssl3t64 (the 64-bit time_t transition); Debian 12 has libssl3.
    (cd "$deb_dir" && { apt-get download -qq libssl3t64:arm64 || apt-get download -qq libssl3:arm64; }) &&
    rm -rf "$ROOT/artifacts/arm64-libssl" && mkdir -p "$ROOT/artifacts/arm64-libssl" && dpkg -x "$(ls "$deb_dir"/libssl3*_arm64.deb | head -1)" "$ROOT/artifacts/arm64-libssl"
  } >"$TMPDIR/arm64-libssl.log" 2>&1 || [[ ! -f "$ARM64_LIBSSL_DIR/libssl.so.3" ]]; then
    ARM64_SETUP_ERROR="${ARM64_SETUP_ERROR:+$ARM64_SETUP_ERROR; }the arm64 libssl3 could not be fetched and unpacked into $ARM64_LIBSSL_DIR (dpkg --add-architecture arm64, apt-get update, apt-get download libssl3:arm64, dpkg -x): $(tail -5 "$TMPDIR/arm64-libssl.log" | tr '\n' ' ')"
  fi
fi
export ARM64_SETUP_ERROR
[[ -z "$ARM64_SETUP_ERROR" ]] || echo "!! arm64 emulation is not set up; its tests will fail: $ARM64_SETUP_ERROR"

# The preview pages (--format html, tune --html) are opened in headless Chromium (tests/Pipeline.Tests/Preview), with an
# emoji font so that screenshots show the icons Slack shows. Installed only when missing; a failure reaches the tests.
BROWSER_PACKAGES=(chromium fonts-noto-color-emoji)
export CHROMIUM_SETUP_ERROR=""
missing=$(for p in "${BROWSER_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"; done)
if [[ -n "$missing" ]]; then
  echo "== apt-get install" $missing
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >"$TMPDIR/browser-apt.log" 2>&1; then
    CHROMIUM_SETUP_ERROR="apt-get install failed for: $(echo $missing) (needs root or passwordless sudo, and apt reachable); apt said: $(tail -5 "$TMPDIR/browser-apt.log" | tr '\n' ' ')"
    echo "!! Chromium is not set up; the preview page tests will fail: $CHROMIUM_SETUP_ERROR"
  fi
fi

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
