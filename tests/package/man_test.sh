#!/usr/bin/env bash
# The man page: formats without a warning (groff -ww, mandoc's lint, man -l), has the usual
# sections, names every command and option the real binary has (each in its command's own
# entry) and every exit status of cli/command.h, and the installed page carries the version
# the binary prints.
# Usage: man_test.sh FIELDSYNC_BIN SOURCE_DIR BUILT_MAN_GZ
source "$(dirname "$0")/lib.sh"
BIN=$1
SRC=$2
BUILT=$3
PAGE=$SRC/docs/fieldsync.1

# Formatting: no warnings at all.
if ! out=$(groff -man -Tutf8 -ww -z "$PAGE" 2>&1) || [[ -n $out ]]; then
  fail "groff -man -ww warns: $out"
fi
if ! command -v mandoc >/dev/null; then
  fail "mandoc is not installed (scripts/install-deps.sh installs it)"
elif ! out=$(mandoc -T lint -W warning "$PAGE" 2>&1) || [[ -n $out ]]; then
  fail "mandoc -T lint: $out"
fi
if ! out=$(MANWIDTH=80 man -l "$PAGE" 2>&1 >/dev/null) || [[ -n $out ]]; then
  fail "man -l: $out"
fi

# The page as text, one paragraph a line (no wrapping), no bold or underline.
text=$(groff -man -Tascii -rLL=5000n -P-cbou "$PAGE" 2>/dev/null)
section() {  # the text of one section: from its heading to the next
  awk -v name="$1" '/^[A-Z][A-Z ]*$/ { on = ($0 == name) ; next } on' <<<"$text"
}
for s in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS "EXIT STATUS" ENVIRONMENT FILES \
  EXAMPLES "SEE ALSO"; do
  grep -qx "$s" <<<"$text" || fail "no section $s"
done

has_word() {  # has_word TEXT OPTION: OPTION appears with no letter or dash touching it
  grep -qE -- "(^|[^-a-z])$(sed 's/[.[\*^$]/\\&/g' <<<"$2")([^-a-z]|$)" <<<"$1"
}

# Every command and option of the binary, documented in its own entry.
commands=$(section COMMANDS)
globals=$(section "GLOBAL OPTIONS")
checked=0
while IFS='|' read -r path options; do
  if [[ -z $path ]]; then
    for o in $options; do
      has_word "$globals" "$o" || fail "global option $o is not under GLOBAL OPTIONS"
      checked=$((checked + 1))
    done
    continue
  fi
  # The entry's heading: a line starting with the command path (subcommands of keys, peers,
  # release and bundle have entries; those four only group them).
  entry=$(grep -E "^ {7}$path( |$)" <<<"$commands" | head -1 || true)
  if [[ -z $entry ]]; then
    if [[ $options == "-h --help" ]] && grep -qE "^ {7}$path [a-z]" <<<"$commands"; then
      continue  # a group: its subcommands are checked one by one
    fi
    fail "no entry for \`fieldsync $path\` under COMMANDS"
    continue
  fi
  checked=$((checked + 1))
  for o in $options; do
    [[ $o == -h || $o == --help ]] && continue
    has_word "$entry" "$o" || fail "\`fieldsync $path\`: option $o is not in its entry: $entry"
    checked=$((checked + 1))
  done
done < <(command_surface "$BIN")
((checked > 60)) || fail "only $checked commands and options checked: is --help parsed?"

# Every exit status the code defines.
statuses=$(section "EXIT STATUS")
codes=$(sed -n 's/^ *EXIT_[A-Z]* = \([0-9]*\),.*/\1/p' "$SRC/cli/command.h")
[[ -n $codes ]] || fail "no EXIT_ values found in cli/command.h"
for c in $codes; do
  grep -qE "^ {7}$c( |$)" <<<"$statuses" || fail "exit status $c is not under EXIT STATUS"
done

# The installed page says the version the binary says.
version=$("$BIN" --version | sed -n 's/^fieldsync //p')
th=$(zcat "$BUILT" | grep '^\.TH ')
[[ $th == *"\"fieldsync $version\""* ]] || fail "built page's .TH is '$th', binary is $version"
diff <(zcat "$BUILT" | grep -v '^\.TH ') <(grep -v '^\.TH ' "$PAGE") >/dev/null ||
  fail "the built page differs from docs/fieldsync.1 beyond its .TH line (rebuild?)"

echo "checked $checked commands and options"
finish
