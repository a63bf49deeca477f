#!/usr/bin/env bash
# Installs fieldsync's build and test dependencies from Debian 12 packages.
# Idempotent and quiet when everything is present; works as root or through sudo.
# The importers read e-mail with GMime 3, web pages and feeds with libxml2, PDF with poppler-cpp.
# clang and libclang-rt-14-dev (libFuzzer's and the sanitizers' runtime for Debian 12's clang 14)
# are for `make fuzz` and `make fuzz-smoke` (docs/fuzzing.md).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libsodium-dev libzmq3-dev cppzmq-dev capnproto libcapnp-dev liblmdb-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev libzstd-dev libtomlplusplus-dev
  minisign
  libgmime-3.0-dev libxml2-dev libpoppler-cpp-dev
  clang libclang-rt-14-dev
)
# Packaging and its tests: dpkg-shlibdeps (dpkg-dev), man page checks (groff, man-db, mandoc),
# systemd-analyze for the unit (systemd), strace (the unit's sandbox against serve's calls),
# file, bash-completion (completion tested with it).
PACKAGES+=(dpkg-dev groff-base man-db mandoc systemd strace file bash-completion)
# The independent reader of docs/protocol.md (tests/protocol/spec_reader.py): Python with
# Ed25519 and BLAKE2b, nothing from Cap'n Proto.
PACKAGES+=(python3 python3-cryptography)
# The reading room (`fieldsync web`) serves with cpp-httplib; its browser tests
# (tests/browser/) and scripts/screenshots.sh drive headless Chromium, with a font to draw.
PACKAGES+=(libcpp-httplib-dev chromium fonts-dejavu-core)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${SUDO[@]}" apt-get update -qq &&
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed" >&2
  exit 1
fi
