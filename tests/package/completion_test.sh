#!/usr/bin/env bash
# Bash completion, as bash runs it: the script sourced into a shell without the
# bash-completion package, COMP_WORDS and COMP_CWORD set as bash sets them, _fieldsync called,
# COMPREPLY read. Checked against the real binary: every command, subcommand and option its
# --help lists is offered where it belongs (and nothing else but the few planned ones below),
# peer and release names come from a real node, paths from real files.
# With a third argument, the bash-completion package's own functions are loaded first (as in
# a user's shell where it is installed): paths then go through its _filedir.
# Usage: completion_test.sh FIELDSYNC_BIN COMPLETION_SCRIPT [BASH_COMPLETION]
source "$(dirname "$0")/lib.sh"
BIN=$(realpath "$1")
relaxed=""  # set -u stays on for our script alone; bash-completion is not written for it
if [[ -n ${3-} ]]; then
  set +u
  # shellcheck source=/dev/null
  source "$3"
  set -u
  declare -F _filedir >/dev/null || fail "$3 defines no _filedir"
  relaxed=u
fi
# shellcheck source=/dev/null
source "$2"

# Offered by the completion but not listed by --help.
PLANNED=""
# Hidden from --help, documented in cli.md and the man page.
PLANNED+=" sync:--connect-timeout "

# complete WORD... : the completions of the last word (empty string: a new word), sorted.
complete() {
  COMP_WORDS=("$BIN" "$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="${COMP_WORDS[*]}"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  # As in an interactive shell: no -e (a completion function may end on a false test).
  set +e${relaxed}
  _fieldsync
  local status=$?
  set -e${relaxed}
  ((status == 0)) || fail "_fieldsync returned $status for \`fieldsync $*\`"
  if ((${#COMPREPLY[@]})); then printf '%s\n' "${COMPREPLY[@]}" | sort; fi
}
expect() {  # expect "WANT (sorted, space-separated)" WORD...
  local want=$1
  shift
  local got
  got=$(complete "$@" | tr '\n' ' ' | sed 's/ $//')
  [[ $got == "$want" ]] || fail "completing \`fieldsync $*\`: want '$want', got '$got'"
}
planned() { [[ $PLANNED == *" $1 "* || $PLANNED == *" $1"$'\n'* ]]; }

# Commands, subcommands and options against the binary's --help, both ways.
checked=0
surface=$(command_surface "$BIN")
global_options=$(sed -n 's/^|//p' <<<"$surface")
while IFS='|' read -r path options; do
  read -ra words <<<"$path"
  # Options: what the binary has is offered; what is offered, the binary has.
  offered=$(complete "${words[@]}" -)
  for o in $options; do
    [[ $o == --version && -n $path ]] && continue
    grep -qx -- "$o" <<<"$offered" || fail "\`fieldsync $path -<TAB>\` does not offer $o"
    checked=$((checked + 1))
  done
  binary_options=" $options $global_options "
  for o in $offered; do
    key=$(tr ' ' '_' <<<"$path"):$o
    [[ $binary_options == *" $o "* ]] || planned "$o" || planned "$key" ||
      fail "\`fieldsync $path -<TAB>\` offers $o, which the binary does not have"
  done
  # Subcommands likewise.
  subs=$("$BIN" "${words[@]}" --help | help_subcommands)
  if [[ -n $subs ]]; then
    offered=$(complete "${words[@]}" "")
    for s in $subs; do
      grep -qx -- "$s" <<<"$offered" || fail "\`fieldsync $path <TAB>\` does not offer $s"
      checked=$((checked + 1))
    done
    for s in $offered; do
      grep -qx -- "$s" <<<"$subs" || planned "${path:+${path// /_}:}$s" ||
        fail "\`fieldsync $path <TAB>\` offers $s, which the binary does not have"
    done
  fi
done <<<"$surface"
((checked > 100)) || fail "only $checked completions checked: is --help parsed?"

# Partial words, and global options before or after the command.
expect "peers" pe
expect "search serve show status sync" s
expect "status" --home /nowhere st
expect "list" --passphrase-file = /nowhere l  # --passphrase-file=/nowhere, as bash splits it
expect "--json" status --js
expect "--since-release" release create weekly --si
expect "--since" keys revoke 043bca25 --si
expect "--home" status --hom

# Values with a fixed set, also after "=" (bash splits --format=x at the "=").
expect "digest email feed html jsonl markdown pdf" import --format ""
expect "markdown" import --format m
expect "markdown" import --format = m
expect "coordinator" keys trust 043bca25 --role c
expect "field" keys certify 043bca25 --name x --role f
expect "debug" serve --log-level d
expect "" keys trust --name ""  # free text: nothing to offer

# Paths: files for import and bundles, folders only for --home and --out.
mkdir -p "$TMP/files/archive-dir"
touch "$TMP/files/digest.txt" "$TMP/files/digest 2.md" "$TMP/files/weekly.fsb"
expect "$TMP/files/digest 2.md $TMP/files/digest.txt" import "$TMP/files/dig"
expect "$TMP/files/weekly.fsb" bundle import "$TMP/files/w"
expect "$TMP/files/archive-dir" --home "$TMP/files/a"
expect "$TMP/files/archive-dir" release export weekly --out "$TMP/files/"
expect "$TMP/files/digest.txt" --passphrase-file "$TMP/files/digest."

# Peer and release names from a real node, the one --home names.
home=$TMP/node
"$BIN" --home "$home" init --name "test hub" --coordinator >/dev/null
for peer in hub:1 harare:2 goma:3; do  # NAME:N, each a real node's key
  "$BIN" --home "$TMP/k${peer#*:}" init >/dev/null
  "$BIN" --home "$home" peers add "${peer%:*}" "tcp://192.0.2.${peer#*:}:7420" \
    "$("$BIN" --home "$TMP/k${peer#*:}" id)" >/dev/null
done
expect "goma harare hub" --home "$home" sync ""
expect "harare hub" --home "$home" peers remove h
expect "harare hub" peers set --home "$home" h  # global option after the command
expect "goma" --home "$home" bundle export stick.fsb --for g
expect "" --home "$home" sync hub ""  # one peer only
"$BIN" --home "$home" add --title "Floods" --source "Radio Okapi" >/dev/null
"$BIN" --home "$home" release create weekly >/dev/null
"$BIN" --home "$home" release create monthly >/dev/null
expect "monthly weekly" --home "$home" release show ""
expect "weekly" --home "$home" bundle export x.fsb --since-release w
# No node there: no names, no error on the terminal.
expect "" --home "$TMP/none" sync ""

echo "checked $checked commands, subcommands and options"
finish
