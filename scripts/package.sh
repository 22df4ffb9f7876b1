#!/usr/bin/env bash
# Builds the Debian package of csign (docs/install.md): a Release build
# with warnings as errors and without the tests, in BUILD_DIR (a new
# temporary folder when none is given), then `cpack -G DEB`. The build's
# output goes to stderr; stdout is one line, the path of the .deb.
#
# Usage: scripts/package.sh [BUILD_DIR]
#   sudo apt install "$(scripts/package.sh)"
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-}
if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/csign-package.XXXXXX")
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Files and folders as dpkg expects them, whatever the caller's umask.
umask 022
# The changelog's date: the last commit's, so that the same tree gives the
# same package (https://reproducible-builds.org/specs/source-date-epoch/).
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && epoch=$(git -C "$top" log -1 --format=%ct 2>/dev/null); then
    export SOURCE_DATE_EPOCH=$epoch
fi

{
    # Source paths (OpenSSL's macros pass __FILE__) are written relative to
    # the tree, so that where it is checked out does not change the binary.
    cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
        -DCMAKE_C_FLAGS="-ffile-prefix-map=$top/=" \
        -DCSIGN_WERROR=ON -DCSIGN_TESTS=OFF -DCSIGN_SANITIZE=OFF -DCSIGN_FUZZ=OFF
    cmake --build "$dir" -j "$jobs"
    rm -rf "$dir/deb"
    cpack --config "$dir/CPackConfig.cmake" -G DEB -B "$dir/deb"
} >&2

debs=("$dir"/deb/*.deb)
if [ "${#debs[@]}" -ne 1 ] || [ ! -f "${debs[0]}" ]; then
    echo "package.sh: expected one .deb in $dir/deb, found: ${debs[*]}" >&2
    exit 1
fi
echo "${debs[0]}"
