# Shared by the packaging tests (sourced): a temporary folder removed on exit, failures that
# say what was expected, and the command surface of the real binary as its --help tells it.

set -euo pipefail

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fieldsync-package-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

FAILURES=0
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
# Ends the test: status 1 when anything failed.
finish() {
  if ((FAILURES > 0)); then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

# The options a --help text lists (first column of its Options: section), one a line.
help_options() {
  sed -n '/^Options:/,/^$/p' | sed -n 's/^  \(-[^ ]*\).*/\1/p' | tr ',' '\n' | grep -v '^$' || true
}
# The subcommands a --help text lists, one a line.
help_subcommands() {
  sed -n '/^Subcommands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' || true
}

# Every command path of BIN with its options: "PATH|OPT OPT ..." one a line, depth first
# ("|--home ..." for the program itself, "peers set|--interval ...").
command_surface() {
  local bin=$1
  shift
  local help
  help=$("$bin" "$@" --help)
  echo "$*|$(help_options <<<"$help" | tr '\n' ' ' | sed 's/ $//')"
  local sub
  for sub in $(help_subcommands <<<"$help"); do
    command_surface "$bin" "$@" "$sub"
  done
}
