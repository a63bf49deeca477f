#!/usr/bin/env bash
# The main job on an embedded default: a throwaway node under the build folder imports the
# shared listserv digest, lists it, searches it and verifies every signature.
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

step "A new node with its own Ed25519 identity" init --name "Demo office"
step "Import a listserv digest: each clipping is signed with the node's key" import "$digest"
step "Import it again: nothing is stored twice" import "$digest"
step "The archive, newest first" list
step "Only one region" list --tag region:mali
step "Full-text search (all words must match, accents and case ignored)" search syria security council
step "Verify every id and signature" verify --all

echo
echo "Demo node: $home (throwaway; remove it with 'make clean')."
