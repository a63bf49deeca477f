#!/usr/bin/env bash
# The Debian package, built by cpack from this build folder into a temporary folder: its
# control fields, its contents and their owners and modes, its maintainer scripts, and the
# binary unpacked from it into a throwaway root (dpkg-deb -x), run against the system's
# libraries: --version, then a real node made and read with it.
# Usage: deb_test.sh BUILD_DIR FIELDSYNC_BIN
source "$(dirname "$0")/lib.sh"
BUILD=$1
BIN=$2
version=$("$BIN" --version | sed -n 's/^fieldsync //p')
arch=$(dpkg --print-architecture)

if ! cpack -G DEB -B "$TMP/out" --config "$BUILD/CPackConfig.cmake" >"$TMP/cpack.log" 2>&1; then
  cat "$TMP/cpack.log" >&2
  fail "cpack failed"
  finish
fi
shopt -s nullglob
debs=("$TMP"/out/*.deb)
[[ ${#debs[@]} -eq 1 ]] || { fail "cpack made ${#debs[@]} .deb files: ${debs[*]}"; finish; }
deb=${debs[0]}
[[ $(basename "$deb") == "fieldsync_${version}_${arch}.deb" ]] ||
  fail "package file is $(basename "$deb"), want fieldsync_${version}_${arch}.deb"

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == fieldsync ]] || fail "Package: $(field Package)"
[[ $(field Version) == "$version" ]] || fail "Version: $(field Version), binary says $version"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture: $(field Architecture)"
[[ $(field Section) == net ]] || fail "Section: $(field Section)"
[[ $(field Maintainer) == *@* ]] || fail "Maintainer: $(field Maintainer)"
[[ $(field Description) == *"signed archive"* ]] || fail "Description: $(field Description)"
depends=$(field Depends)
# dpkg-shlibdeps found every library the binary links, each with a version.
for lib in libc6 libstdc++6 libsodium23 libzmq5 liblmdb0 libzstd1; do
  [[ ", $depends," == *", $lib (>= "[0-9]*")",* ]] || fail "Depends lacks $lib (versioned): $depends"
done
# Cap'n Proto's library package is named for its exact version (libcapnp-0.9.2).
grep -qE "(^|, )libcapnp-[0-9.]+(,|$)" <<<"$depends" || fail "Depends lacks libcapnp-X.Y.Z: $depends"
grep -qE "(^|, )passwd(,|$| )" <<<"$depends" || fail "Depends lacks passwd: $depends"

# Contents: what an operator needs, where Debian puts it, owned by root, nothing else.
dpkg-deb -c "$deb" >"$TMP/contents"
want=(
  "-rwxr-xr-x root/root ./usr/bin/fieldsync"
  "-rw-r--r-- root/root ./usr/share/man/man1/fieldsync.1.gz"
  "-rw-r--r-- root/root ./usr/share/bash-completion/completions/fieldsync"
  "-rw-r--r-- root/root ./usr/lib/systemd/system/fieldsync.service"
  "-rw-r--r-- root/root ./usr/lib/sysusers.d/fieldsync.conf"
  "-rw-r--r-- root/root ./usr/share/doc/fieldsync/README.md"
  "-rw-r--r-- root/root ./usr/share/doc/fieldsync/user-guide.md"
  "-rw-r--r-- root/root ./usr/share/doc/fieldsync/cli.md"
  "-rw-r--r-- root/root ./usr/share/doc/fieldsync/install.md"
)
for w in "${want[@]}"; do
  read -r mode owner path <<<"$w"
  awk -v m="$mode" -v o="$owner" -v p="$path" '$1 == m && $2 == o && $6 == p { found = 1 }
      END { exit !found }' "$TMP/contents" || fail "package lacks $mode $owner $path"
done
awk '$2 != "root/root" { print; bad = 1 } END { exit bad }' "$TMP/contents" >/dev/null ||
  fail "files not owned by root: $(awk '$2 != "root/root"' "$TMP/contents")"
# No other file (test binaries, headers, libraries, build paths).
expected=" ${want[*]##* } ./usr/share/doc/fieldsync/network.md ./usr/share/doc/fieldsync/examples/config.example.toml "
while read -r path; do
  [[ $expected == *" $path "* ]] || fail "unexpected file in the package: $path"
done < <(awk '$1 !~ /^d/ { print $6 }' "$TMP/contents")

# Maintainer scripts: present, executable, valid sh.
dpkg-deb -e "$deb" "$TMP/control"
for script in postinst prerm postrm; do
  [[ -x $TMP/control/$script ]] || fail "no executable $script"
  sh -n "$TMP/control/$script" || fail "$script is not valid sh"
done
grep -q 'systemd-sysusers fieldsync.conf' "$TMP/control/postinst" || fail "postinst makes no user"

# Unpacked into a throwaway root: the binary runs on the system's libraries.
dpkg-deb -x "$deb" "$TMP/root"
file "$TMP/root/usr/bin/fieldsync" | grep -q 'not stripped' && fail "the packaged binary is not stripped"
got=$("$TMP/root/usr/bin/fieldsync" --version) || fail "the packaged binary does not run"
[[ $got == "fieldsync $version" ]] || fail "packaged --version says '$got', want 'fieldsync $version'"
missing=$(ldd "$TMP/root/usr/bin/fieldsync" | grep 'not found' || true)
[[ -z $missing ]] || fail "libraries not found: $missing"
home=$TMP/node
"$TMP/root/usr/bin/fieldsync" --home "$home" init --name "package test" >/dev/null ||
  fail "the packaged binary cannot init a node"
key=$("$TMP/root/usr/bin/fieldsync" --home "$home" id) || fail "id failed"
[[ $key =~ ^[0-9a-f]{64}$ ]] || fail "id printed '$key'"
unit=$TMP/root/usr/lib/systemd/system/fieldsync.service
grep -qx 'ExecStart=/usr/bin/fieldsync serve' "$unit" ||
  fail "unit's ExecStart is not the packaged binary: $(grep ExecStart "$unit")"
zcat "$TMP/root/usr/share/man/man1/fieldsync.1.gz" | grep -q "^\.TH FIELDSYNC 1 .*\"fieldsync $version\"" ||
  fail "packaged man page does not carry version $version"

echo "checked $(basename "$deb"): $(wc -l <"$TMP/contents") entries, Depends: $depends"
finish
