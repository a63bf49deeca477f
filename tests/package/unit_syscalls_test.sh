#!/usr/bin/env bash
# What the unit's sandbox allows is what serve uses: serve is traced (strace -f) while it dials
# a peer on loopback, syncs with it to "in step" and stops on SIGTERM, and every system call it
# made must pass the unit's SystemCallFilter= lines (expanded by systemd-analyze syscall-filter)
# and every socket it opened must be of a family in RestrictAddressFamilies=. A call outside
# them would be refused under systemd (EPERM), which ZeroMQ, for one, answers by aborting.
# The test machines have no systemd as PID 1 to run the unit itself; this is the next best.
# The LAN beacon stays off (--no-beacon): tests send nothing beyond loopback.
# Usage: unit_syscalls_test.sh FIELDSYNC_BIN UNIT_TEMPLATE
source "$(dirname "$0")/lib.sh"
BIN=$1
UNIT=$2
for tool in strace systemd-analyze; do
  command -v "$tool" >/dev/null || { fail "$tool is not installed (scripts/install-deps.sh)"; finish; }
done

# Two nodes: b answers on a free loopback port, a lists b and dials it when it starts.
"$BIN" --home "$TMP/a" init --name a >/dev/null
"$BIN" --home "$TMP/b" init --name b >/dev/null
"$BIN" --home "$TMP/b" peers add a tcp://127.0.0.1:1 "$("$BIN" --home "$TMP/a" id)" >/dev/null
"$BIN" --home "$TMP/b" serve --listen 'tcp://127.0.0.1:*' --no-dial --no-beacon 2>"$TMP/b.log" &
b_pid=$!
stop_b() { kill -TERM "$b_pid" 2>/dev/null || true; wait "$b_pid" 2>/dev/null || true; }
trap 'stop_b; rm -rf "$TMP"' EXIT
port=""
for _ in $(seq 300); do  # up to 30 s for b to say where it listens
  port=$(sed -n 's|.* on tcp://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$TMP/b.log" | head -1)
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { fail "b did not start: $(cat "$TMP/b.log")"; finish; }
"$BIN" --home "$TMP/a" peers add b "tcp://127.0.0.1:$port" "$("$BIN" --home "$TMP/b" id)" >/dev/null

strace -f -qq -o "$TMP/trace" "$BIN" --home "$TMP/a" serve --listen 'tcp://127.0.0.1:*' \
  --no-beacon 2>"$TMP/a.log" &
strace_pid=$!
for _ in $(seq 600); do  # up to 60 s for the first session (strace slows it down)
  grep -q 'in step' "$TMP/a.log" && break
  sleep 0.1
done
grep -q 'in step' "$TMP/a.log" || fail "a did not sync with b: $(cat "$TMP/a.log")"
a_pid=$(awk 'NR == 1 { print $1 }' "$TMP/trace")
kill -TERM "$a_pid"
wait "$strace_pid" || fail "serve under strace exited with status $?: $(cat "$TMP/a.log")"
grep -q 'stopping on SIGTERM' "$TMP/a.log" || fail "a did not stop on SIGTERM: $(cat "$TMP/a.log")"

# The calls made, by name.
sed -n 's/^[0-9][0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$TMP/trace" | sort -u >"$TMP/used"
(($(wc -l <"$TMP/used") > 30)) || fail "only $(wc -l <"$TMP/used") system calls traced"

# The unit's filter: allow-list lines and ~deny lines, groups expanded.
expand() {
  local name
  for name in "$@"; do
    if [[ $name == @* ]]; then
      # shellcheck disable=SC2046
      expand $(systemd-analyze syscall-filter "$name" | sed -n 's/^ \{4\}\([@a-z0-9_-]*\)$/\1/p')
    else
      echo "$name"
    fi
  done
}
allowed=$TMP/allowed
denied=$TMP/denied
: >"$allowed"
: >"$denied"
while IFS= read -r value; do
  if [[ $value == ~* ]]; then
    # shellcheck disable=SC2086
    expand ${value#\~} >>"$denied"
  else
    # shellcheck disable=SC2086
    expand $value >>"$allowed"
  fi
done < <(sed -n 's/^SystemCallFilter=//p' "$UNIT")
[[ -s $allowed ]] || fail "the unit has no SystemCallFilter= allow list"
sort -u -o "$allowed" "$allowed"
sort -u -o "$denied" "$denied"
outside=$(comm -23 "$TMP/used" "$allowed" | tr '\n' ' ')
[[ -z $outside ]] || fail "serve calls what the unit's allow list lacks: $outside"
refused=$(comm -12 "$TMP/used" "$denied" | tr '\n' ' ')
[[ -z $refused ]] || fail "serve calls what the unit denies: $refused"

# Socket families.
families=$(sed -n 's/^RestrictAddressFamilies=//p' "$UNIT")
[[ -n $families ]] || fail "the unit has no RestrictAddressFamilies="
for family in $(grep -o 'socket(AF_[A-Z0-9]*' "$TMP/trace" | sed 's/socket(//' | sort -u); do
  [[ " $families " == *" $family "* ]] || fail "serve opens $family sockets; the unit allows $families"
done

echo "serve made $(wc -l <"$TMP/used") different system calls"
finish
