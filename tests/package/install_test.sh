#!/usr/bin/env bash
# `cmake --install BUILD --prefix DIR`: every file in its GNUInstallDirs place, the unit
# configured for that prefix and accepted by systemd-analyze verify (the man page it names
# found), its hardening scored by systemd-analyze security, and the installed binary run.
# Usage: install_test.sh BUILD_DIR FIELDSYNC_BIN
source "$(dirname "$0")/lib.sh"
BUILD=$1
BIN=$2
version=$("$BIN" --version | sed -n 's/^fieldsync //p')
prefix=$TMP/prefix

cmake --install "$BUILD" --prefix "$prefix" --strip >"$TMP/install.log" 2>&1 ||
  { cat "$TMP/install.log" >&2; fail "cmake --install failed"; finish; }

for f in bin/fieldsync share/man/man1/fieldsync.1.gz share/bash-completion/completions/fieldsync \
  lib/systemd/system/fieldsync.service lib/sysusers.d/fieldsync.conf \
  share/doc/fieldsync/README.md share/doc/fieldsync/user-guide.md share/doc/fieldsync/cli.md \
  share/doc/fieldsync/install.md share/doc/fieldsync/network.md; do
  [[ -f $prefix/$f ]] || fail "not installed: $f"
done
[[ -x $prefix/bin/fieldsync ]] || fail "bin/fieldsync is not executable"
got=$("$prefix/bin/fieldsync" --version) || fail "the installed binary does not run"
[[ $got == "fieldsync $version" ]] || fail "installed --version says '$got'"
# Everything installed is in the manifest (so it can be listed and removed).
while read -r f; do
  grep -qx "$f" "$BUILD/install_manifest.txt" 2>/dev/null || fail "not in install_manifest.txt: $f"
done < <(find "$prefix" -type f)
# The completion script is valid bash and registers _fieldsync for fieldsync.
bash -c "source '$prefix/share/bash-completion/completions/fieldsync' && complete -p fieldsync" |
  grep -q -- '-F _fieldsync fieldsync' || fail "the installed completion does not register"

unit=$prefix/lib/systemd/system/fieldsync.service
grep -qx "ExecStart=$prefix/bin/fieldsync serve" "$unit" ||
  fail "unit's ExecStart is not the installed binary: $(grep ExecStart "$unit")"
grep -q "file:$prefix/share/doc/fieldsync/install.md" "$unit" || fail "unit's Documentation= is wrong"
grep -qE '@[A-Z_]+@' "$unit" && fail "unconfigured @VAR@ left in the unit"
for setting in User=fieldsync StateDirectory=fieldsync Environment=FIELDSYNC_HOME=/var/lib/fieldsync \
  Restart=on-failure RestartPreventExitStatus=2 NoNewPrivileges=yes ProtectSystem=strict \
  ProtectHome=yes PrivateTmp=yes PrivateDevices=yes CapabilityBoundingSet= UMask=0077 \
  MemoryDenyWriteExecute=yes SystemCallFilter=@system-service; do
  grep -qx -- "$setting" "$unit" || fail "unit lacks $setting"
done

if ! command -v systemd-analyze >/dev/null; then
  fail "systemd-analyze is not installed (scripts/install-deps.sh installs systemd)"
else
  # verify runs `man fieldsync(1)` for Documentation=: the installed page must be found.
  (cd "$TMP" && MANPATH=$prefix/share/man systemd-analyze verify "$unit") >"$TMP/verify.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$TMP/verify.log")"
  [[ -s $TMP/verify.log ]] && fail "systemd-analyze verify warns: $(cat "$TMP/verify.log")"
  # Exposure 0 (locked down) to 10 (none); this unit scores 1.2. Fail above 2.0.
  if ! systemd-analyze security --offline=true --threshold=20 "$unit" >"$TMP/security.log" 2>&1; then
    fail "systemd-analyze security: $(tail -1 "$TMP/security.log")"
  fi
  tail -1 "$TMP/security.log"
fi
finish
