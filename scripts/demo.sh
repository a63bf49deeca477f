#!/usr/bin/env bash
# The main job on an embedded default: a throwaway coordinator node under the build folder
# imports the seed listserv digest (tests/fixtures/), lists and searches it, signs a release, verifies every
# signature and signer, and exports the release for the stock minisign tool. Then a second
# throwaway node, a field office, syncs with it over CurveZMQ on loopback and ends with the
# same 12 clippings, verified.
# Usage: scripts/demo.sh FIELDSYNC_BINARY DEMO_HOME   (the second node: DEMO_HOME-field)
set -euo pipefail
bin=$(realpath "$1")
home=$2
root=$(cd "$(dirname "$0")/.." && pwd)
digest=$(realpath -m "$root/tests/fixtures/icrtop-listserv-2013-01-11.txt")
[ -f "$digest" ] || { echo "demo: the fixture digest is missing: $digest" >&2; exit 2; }

field=$home-field
rm -rf "$home" "$field"
fs() { "$bin" --home "$home" "$@"; }
ff() { "$bin" --home "$field" "$@"; }
step() {
  printf '\n== %s\n$ fieldsync' "$1"
  printf ' %q' "${@:2}"
  printf '\n'
  fs "${@:2}"
}
# The same on the second node.
fstep() {
  printf '\n== %s\n$ fieldsync --home %q' "$1" "$field"
  printf ' %q' "${@:2}"
  printf '\n'
  ff "${@:2}"
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
# The coordinator publishes its key apart from the manifest (on the office wall, the intranet):
# a key that travels beside the manifest would prove nothing.
printf '\n== %s\n$ fieldsync keys export-minisign > %q\n' \
  "The coordinator publishes its key in minisign's format, apart from the export" "$home/coordinator.pub"
fs keys export-minisign >"$home/coordinator.pub"
cat "$home/coordinator.pub"
if command -v minisign >/dev/null; then
  printf '\n== %s\n$ minisign -V -p %q -m %q\n' "Anyone checks the export with the stock minisign tool" \
    "$home/coordinator.pub" "$home/export/weekly/manifest"
  minisign -V -p "$home/coordinator.pub" -m "$home/export/weekly/manifest"
fi

# Two nodes on this machine: the hub serves on a free loopback port, the field office syncs.
fstep "A second node, a field office, with its own identity and an empty archive" \
  init --name "Demo field office"
hub_key=$(fs id)
field_key=$(ff id)
step "The hub lists the field office: only listed keys may connect (the address is for syncs the hub starts)" \
  peers add field tcp://127.0.0.1:7421 "$field_key"
serve_log=$home/serve.log
printf '\n== %s\n$ fieldsync serve --no-dial --no-beacon --listen %q &\n' \
  "The hub serves sync sessions (in the background; port * picks a free one)" 'tcp://127.0.0.1:*'
# Run directly, not through fs(): $! must be the server's pid, not a subshell's.
"$bin" --home "$home" serve --no-dial --no-beacon --listen 'tcp://127.0.0.1:*' >/dev/null 2>"$serve_log" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q ' serving ' "$serve_log" && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
endpoint=$(sed -n 's/.* serving .* on \(tcp:[^ ]*\) as .*/\1/p' "$serve_log")
[ -n "$endpoint" ] || { cat "$serve_log" >&2; echo "demo: the hub did not start serving" >&2; exit 1; }
cat "$serve_log"
fstep "The field office lists the hub at that address, with the hub's key" \
  peers add hub "$endpoint" "$hub_key"
fstep "One sync session, both ways, encrypted (CurveZMQ): the field office ends with the union" \
  sync hub
fstep "The field office's archive: the same 12 clippings" list
fstep "It trusts the hub's key as a coordinator (an anchor: local, never synced)" \
  keys trust "$hub_key" --role coordinator --name "Demo hub"
fstep "Every object that arrived is valid, and signed by a trusted key" verify --all
fstep "A second sync: the archives are equal, nothing moves, one round trip" sync hub
kill -TERM "$serve_pid"
wait "$serve_pid"
trap - EXIT
printf '\n== %s\n' "The hub's log: one line per session, then a clean stop on SIGTERM"
tail -n +2 "$serve_log"
if cmp -s <(fs list) <(ff list); then
  echo "Both nodes hold the same $(ff list | wc -l) clippings."
else
  echo "demo: the two nodes' archives differ" >&2
  exit 1
fi

echo
echo "Demo nodes: $home and $field (throwaway; remove them with 'make clean')."
