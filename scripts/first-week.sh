#!/usr/bin/env bash
# A field office's and a coordinator's first week, run for real with two throwaway nodes on
# this machine, printed as markdown: the prose of each step, the command, what it printed.
# docs/user-guide.md section 8 is this script's output; a ctest runs it so every command in
# the guide keeps working (tests/CMakeLists.txt: Docs.FirstWeekWalkthroughRuns).
#
#   scripts/first-week.sh FIELDSYNC_BINARY WORK_DIR            markdown on stdout
#   scripts/first-week.sh FIELDSYNC_BINARY WORK_DIR --update docs/user-guide.md
#
# --update replaces what lies between the guide's "first-week:begin" and "first-week:end"
# marks. Ids, keys, times and ports differ on every run; the shape does not.
set -euo pipefail
bin=$(realpath "$1")
work=$(realpath -m "$2")
update=${4:-}
[ "${3:-}" = "--update" ] || update=
root=$(cd "$(dirname "$0")/.." && pwd)
digest=$(realpath -m "$root/tests/fixtures/icrtop-listserv-2013-01-11.txt")
[ -f "$digest" ] || { echo "first-week: the fixture digest is missing: $digest" >&2; exit 2; }

rm -rf "$work"
mkdir -p "$work/hq" "$work/goma"
out=$work/first-week.md
: >"$out"
# Each office's passphrase, in a file only it can read.
printf 'correct horse battery staple\n' >"$work/hq/passphrase.txt"
printf 'umoja ni nguvu, utengano ni udhaifu\n' >"$work/goma/passphrase.txt"
chmod 600 "$work"/*/passphrase.txt

say() { printf '%s\n\n' "$*" >>"$out"; }
day() { printf '### %s\n\n' "$*" >>"$out"; }
# run NODE WHO ARGS...: the command as the guide shows it (no --home: each office has its
# own laptop), run in that node's folder, then its output, indented as a code block. Fails
# the script when it fails.
run() {
  local node=$1 who=$2
  shift 2
  {
    printf '    %s$ fieldsync' "$who"
    local arg
    for arg in "$@"; do
      case $arg in
        *[[:space:]]*) printf ' "%s"' "$arg" ;;
        *) printf ' %s' "$arg" ;;
      esac
    done
    printf '\n'
  } >>"$out"
  local status=0
  (cd "$work/$node" && FIELDSYNC_HOME=$work/$node \
    FIELDSYNC_PASSPHRASE_FILE=$work/$node/passphrase.txt "$bin" "$@") >"$work/last" 2>&1 ||
    status=$?
  sed -e "s|$work/$node/||g; s|$work/||g" -e 's/^/    /' "$work/last" >>"$out"
  printf '\n' >>"$out"
  if [ "$status" -ne 0 ] && [ "${EXPECT_STATUS:-0}" -ne "$status" ]; then
    cat "$work/last" >&2
    echo "first-week: 'fieldsync $*' on $node exited $status" >&2
    exit 1
  fi
}
hq() { run hq "hq " "$@"; }
goma() { run goma "goma " "$@"; }
quiet() { FIELDSYNC_HOME=$work/$1 FIELDSYNC_PASSPHRASE_FILE=$work/$1/passphrase.txt "$bin" "${@:2}"; }

day "Monday: two nodes, and the trust between them"
say "Amina coordinates the network from HQ; Joseph runs the Goma office. Each sets up a node on" \
  "their own laptop, with a passphrase file only they can read (here \`FIELDSYNC_PASSPHRASE_FILE\`" \
  "points at it). In the listings, \`hq \$\` is Amina's laptop and \`goma \$\` is Joseph's."
hq init --name HQ --coordinator
goma init --name "Goma office"
hq_key=$(quiet hq id)
goma_key=$(quiet goma id)
say "They read their public keys to each other on a call (\`fieldsync id\` prints it):"
goma id
say "Amina certifies the Goma office's key for a year; Joseph makes HQ's key his anchor."
hq keys certify "$goma_key" --role field --name "Goma office" --until 2027-11-30
goma keys trust "$hq_key" --role coordinator --name HQ
say "Each lists the other as a peer: only listed keys may open a link, in either direction." \
  "HQ's node runs as a service, so Amina writes its settings, peers included, in the node's" \
  "\`config.toml\` (every key: [config.example.toml](config.example.toml)). On this one" \
  "machine the hub takes any free port and only answers; a real hub listens on" \
  "\`tcp://0.0.0.0:7420\` and dials its offices too."
cat >"$work/hq/config.toml" <<EOF
listen = "tcp://127.0.0.1:*"
dial = false
beacon = false
log_level = "info"

[peers.goma]
address = "tcp://goma.example.org:7420"
key = "$goma_key"
interval = "10m"
rate = "16k"
EOF
{
  printf '    hq $ cat config.toml\n'
  sed 's/^/    /' "$work/hq/config.toml"
  printf '\n'
} >>"$out"
hq config check
hq config show

# HQ's node runs as a service; here, in the background on a free loopback port.
serve_log=$work/hq/serve.log
FIELDSYNC_HOME=$work/hq FIELDSYNC_PASSPHRASE_FILE=$work/hq/passphrase.txt \
  "$bin" serve >/dev/null 2>"$serve_log" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true' EXIT
endpoint=
for _ in $(seq 150); do
  endpoint=$(sed -n 's/.* serving .* on \(tcp:[^ ]*\) as .*/\1/p' "$serve_log")
  [ -n "$endpoint" ] && break
  kill -0 "$serve_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$endpoint" ] || { cat "$serve_log" >&2; echo "first-week: HQ did not start serving" >&2; exit 1; }
say "HQ's node runs \`fieldsync serve\` as a service (see [install.md](install.md)); it logs" \
  "\`serving ... on $endpoint\`. Joseph has no config file: he lists the hub with \`peers\`."
goma peers add hub "$endpoint" "$hq_key"

day "Tuesday: Joseph imports and syncs"
cp "$digest" "$work/goma/"
goma import "$(basename "$digest")"
goma list --limit 5
say "\`UNTRUSTED\` at the start of each line: Joseph's node trusts HQ, but the certificate" \
  "HQ signed for his key is still on Amina's laptop, so nothing yet links his own key to" \
  "his anchor. The sync brings it."
goma sync hub
goma status
say "\`in step\` means both archives held the same objects when the session ended. The" \
  "certificate HQ signed on Monday came with the sync, so Goma's own clippings are now" \
  "trusted (\`status\` counts none that are not) and verify:"
goma list --limit 2
goma verify

day "Wednesday: Amina checks and signs a release"
hq verify
hq release create weekly --notes "Week 48: Great Lakes and Sahel"
hq release show weekly

day "Thursday: the link is down; a USB stick goes to HQ"
cat >"$work/goma/uvira-floods.md" <<'EOF'
---
title: Floods displace thousands in Uvira
source: Radio Okapi
date: 26 November 2026
tags: region:drc, topic:floods
---

Heavy rain on the Ruzizi plain displaced thousands of families in Uvira this week.
EOF
goma import uvira-floods.md
say "Joseph writes what the hub is not known to hold to a file; Amina imports it at HQ. Every" \
  "object is checked before it is stored."
goma bundle export stick.fsb --for hub
cp "$work/goma/stick.fsb" "$work/hq/stick.fsb"
hq bundle import stick.fsb

day "Friday: back in step"
goma sync hub
say "The release came back with the sync. Joseph checks it, and everything his node holds:"
goma release show weekly
goma verify --all
goma status

kill -TERM "$serve_pid"
wait "$serve_pid" || true
trap - EXIT

if [ -n "$update" ]; then
  grep -q 'first-week:begin' "$update" || { echo "first-week: no marks in $update" >&2; exit 2; }
  tmp=$(mktemp)
  awk -v body="$out" '
    /first-week:begin/ { print; while ((getline line < body) > 0) print line; skip = 1; next }
    /first-week:end/ { skip = 0 }
    !skip { print }' "$update" >"$tmp"
  mv "$tmp" "$update"
  echo "first-week: updated $update" >&2
else
  cat "$out"
fi
