#!/usr/bin/env bash
# Takes the reading room's screenshots for README.md and docs/user-guide.md with headless
# Chromium, from a throwaway node that imports the fixture digest and releases it, so the
# pictures show what `fieldsync web` shows today: docs/images/web-front-page.png and
# docs/images/web-clipping.png (the Mali article).
# Usage: scripts/screenshots.sh FIELDSYNC_BINARY   (e.g. build/cli/fieldsync)
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
digest=$root/tests/fixtures/icrtop-listserv-2013-01-11.txt
out=$root/docs/images
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "screenshots: chromium is not installed (scripts/install-deps.sh)" >&2; exit 1; }
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
home=$work/home
fs() { "$bin" --home "$home" --quiet "$@"; }
fs init --name "Goma office" --coordinator >/dev/null
fs import "$digest" >/dev/null
fs release create weekly --notes "The week's digest" >/dev/null
"$bin" --home "$home" web --listen 127.0.0.1:0 2>"$work/web.log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q 'http://' "$work/web.log" && break
  sleep 0.1
done
base=$(sed -n 's|.* on \(http://[^ ]*/\) .*|\1|p' "$work/web.log" | head -n 1)
[ -n "$base" ] || { cat "$work/web.log" >&2; exit 1; }
mali=$(fs search displaced urgent --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["objects"][0]["id"])')
mkdir -p "$out"
shot() {
  "$browser" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size=900,760 --screenshot="$2" "${base%/}$1" \
    >/dev/null 2>&1
  echo "screenshots: $2 ($(stat -c %s "$2") bytes)"
}
shot / "$out/web-front-page.png"
shot "/c/$mali" "$out/web-clipping.png"
