#!/bin/sh
# Build zlib-ng as a zlib-compatible libz.so.1: `zlib-ng.sh PYTHON DEST` writes DEST/libz.so.1.
# The sources come from the sdist pinned in requirements-zlib-ng.txt (fetched with PYTHON's pip,
# hash checked); configure and make need a C compiler, nothing else. zlib-ng picks its SIMD code
# by the CPU it runs on, so the library built here runs on any x86-64 or arm64 machine.
set -eu
python=$1
mkdir -p "$2"
dest=$(cd "$2" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/zlib-ng-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$python" -m pip download -q --no-deps --no-binary zlib-ng --require-hashes \
    -r "$root/requirements-zlib-ng.txt" -d "$work"
tar -xzf "$work"/zlib_ng-*.tar.gz -C "$work"
cd "$work"/zlib_ng-*/src/zlib_ng/zlib-ng
./configure --zlib-compat >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
target=$(sed -n 's/^SHAREDTARGET=//p' Makefile)
make -s -j"$(nproc 2>/dev/null || echo 2)" "$target" >"$work/make.log" 2>&1 \
    || { tail -30 "$work/make.log" >&2; exit 1; }
# Into place in one rename: a run that reads the folder meanwhile sees the old file or the new.
cp "$target" "$dest/.libz.so.1.$$"
mv -f "$dest/.libz.so.1.$$" "$dest/libz.so.1"
echo "built $dest/libz.so.1 ($target)"
