#!/usr/bin/env bash
# Builds csign and its tests as released (CMAKE_BUILD_TYPE=Release: -O3,
# which warns of things -O2 does not see) with warnings as errors, in the
# folder given (build-release by default), and fails on any warning at all,
# the compiler's or the linker's.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-release}
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCSIGN_WERROR=ON >/dev/null
# Everything again, so that a warning cannot hide in an object built before.
cmake --build "$dir" -j "$jobs" --clean-first 2>&1 | tee "$dir/build.log"
if grep -qi 'warning' "$dir/build.log"; then
    echo "release-build.sh: the Release build gave warnings (see $dir/build.log)" >&2
    exit 1
fi
echo "release-build.sh: Release build without warnings"
