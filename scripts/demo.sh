#!/usr/bin/env bash
# The main job on an embedded default: a throwaway coordinator node under the build folder
# imports the shared listserv digest, lists and searches it, signs a release, verifies every
# signature and signer, and exports the release for the stock minisign tool.
# Usage: scripts/demo.sh FIELDSYNC_BINARY DEMO_HOME
set -euo pipefail
bin=$(realpath "$1")
home=$2
root=$(cd "$(dirname "$0")/.." && pwd)
digest=$(realpath -m "$root/../shared/fixtures/icrtop-listserv-2013-01-11.txt")
[ -f "$digest" ] || { echo "demo: the fixture digest is missing: $digest" >&2; exit 2; }

rm -rf "$home"
fs() { "$bin" --home "$home" "$@"; }
step() {
  printf '\n== %s\n$ fieldsync' "$1"
  printf ' %q' "${@:2}"
  printf '\n'
  fs "${@:2}"
}

step "A new coordinator node with its own Ed25519 identity; it trusts its own key" \
  init --name "Demo hub" --coordinator
step "Import a listserv digest: each clipping is signed with the node's key" import "$digest"
step "Import it again: nothing is stored twice" import "$digest"
step "The archive, newest first" list
step "Only one region" list --tag region:mali
step "Full-text search (all words must match, accents and case ignored)" search syria security council
step "Sign a release of everything imported" release create weekly --notes "Demo digest"
step "The release, its signer and trust, its chain and its clippings" release show weekly
step "Verify every id, signature and signer (problems are listed, then a summary)" verify --all
step "Export the release for anyone to check with minisign" \
  release export weekly --out "$home/export/weekly"
if command -v minisign >/dev/null; then
  printf '\n== %s\n$ minisign -V -p %q -m %q\n' "Anyone checks the export with the stock minisign tool" \
    "$home/export/weekly/minisign.pub" "$home/export/weekly/manifest"
  minisign -V -p "$home/export/weekly/minisign.pub" -m "$home/export/weekly/manifest"
fi

echo
echo "Demo node: $home (throwaway; remove it with 'make clean')."
