#!/usr/bin/env bash
# The reading room in a real browser: Debian's headless Chromium loads the pages of a real
# `fieldsync web` over a real archive (the fixture digest's 12 clippings, a release of them
# and one clipping with a hostile title) and the DOM it builds is checked.
# Usage: tests/browser/web_browser_test.sh FIELDSYNC_BINARY FIXTURES_DIR
# Exit 77 (skipped) only when no chromium is installed (scripts/install-deps.sh installs it).
set -euo pipefail
bin=$(realpath "$1")
digest=$(realpath "$2/icrtop-listserv-2013-01-11.txt")
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed (scripts/install-deps.sh installs it)" >&2
  exit 77
fi
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
home=$work/home
fs() { "$bin" --home "$home" --quiet "$@"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
failures=0

fs init --name "Goma office" --coordinator >/dev/null
fs import "$digest" >/dev/null
fs release create weekly --notes "The week's digest" >/dev/null
hostile='<img src=x onerror="document.title=1"><script>document.title=2</script> Hostile'
echo "nothing to see" | fs add --title "$hostile" --source "Unknown" --date 2012-01-01 - >/dev/null

log=$work/web.log
"$bin" --home "$home" web --listen 127.0.0.1:0 2>"$log" &
server_pid=$!
for _ in $(seq 100); do
  grep -q 'http://' "$log" && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
base=$(sed -n 's|.* on \(http://[^ ]*/\) .*|\1|p' "$log" | head -n 1)
[ -n "$base" ] || { cat "$log" >&2; echo "FAIL: fieldsync web did not start" >&2; exit 1; }
base=${base%/}

# One Chromium per page: the DOM after load, as a person's browser builds it.
dom() {
  "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --user-data-dir="$work/profile" --virtual-time-budget=2000 --dump-dom "$base$1" 2>/dev/null
}
text_of() { python3 -c 'import html,re,sys; print(html.unescape(re.sub(r"<[^>]*>", " ", sys.stdin.read())))'; }

front=$(dom /)
count=$(grep -o 'class="title"' <<<"$front" | wc -l)
[ "$count" -eq 13 ] || fail "the front page shows $count clippings, not 12 and the hostile one"
while IFS= read -r title; do
  grep -qF -- "$title" <<<"$(text_of <<<"$front")" || fail "the front page lacks the title: $title"
done < <(fs list --json | python3 -c '
import json, sys
for c in json.load(sys.stdin)["objects"]:
    if not c["title"].startswith("<img"): print(c["title"][:40])
')
# The hostile title is text: no element came of it and the title was not changed by a script.
grep -q '<img' <<<"$front" && fail "the hostile title made an <img> element"
grep -q '<script' <<<"$front" && fail "the hostile title made a <script> element"
grep -qF '&lt;img src=x onerror=' <<<"$front" || fail "the hostile title is not shown as text"
grep -q '<title>1</title>\|<title>2</title>' <<<"$front" && fail "a script of the hostile title ran"

search=$(dom "/?q=displaced+urgent")
hits=$(grep -o 'class="title"' <<<"$search" | wc -l)
[ "$hits" -eq 1 ] || fail "?q=displaced urgent shows $hits clippings, not 1"
grep -q 'Mali' <<<"$search" || fail "?q=displaced urgent does not show the Mali article"

mali=$(fs search displaced urgent --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["objects"][0]["id"])')
page=$(dom "/c/$mali")
page_text=$(text_of <<<"$page")
grep -q 'They require urgent attention' <<<"$page_text" || fail "/c/ID lacks the full text"
grep -q 'trusted' <<<"$page_text" || fail "/c/ID does not say trusted"
grep -q 'weekly@1' <<<"$page_text" || fail "/c/ID does not name the release that lists it"

releases=$(dom /releases)
grep -q 'weekly@1' <<<"$releases" || fail "/releases does not list weekly@1"

# The browser's own view of a POST: refused, nothing changed.
status=$(python3 -c '
import sys, urllib.request
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/", data=b"x", method="POST"))
    print(200)
except urllib.error.HTTPError as e:
    print(e.code)' "$base")
[ "$status" = 405 ] || fail "a POST got $status, not 405"

if [ "$failures" -gt 0 ]; then
  echo "$failures failed" >&2
  exit 1
fi
echo "browser: the reading room's pages passed in $("$browser" --version 2>/dev/null | head -n 1)"
