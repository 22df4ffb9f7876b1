#!/usr/bin/env bash
# The whole test suite: installs dependencies; checks formatting and runs
# the static analyzers; builds csign with warnings as errors and runs every
# test, then the main command-line cases under valgrind; builds Release
# without a warning; runs every test again with AddressSanitizer and
# UndefinedBehaviorSanitizer; runs each fuzz target for a short while.
# Fails on any failure, any finding and any skipped test (docs/checks.md).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)

suite() {
    local dir=$1
    shift
    echo "== $dir: configure and build"
    cmake -S . -B "$dir" -DCSIGN_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    echo "== $dir: tests"
    ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 600 2>&1 |
        tee "$dir/ctest.log"
    # ctest counts a skipped test as passed; token tests must never skip.
    if grep -q -e "Skipped" -e "did not run" "$dir/ctest.log"; then
        echo "test.sh: a test was skipped; token tests must run (see $dir/ctest.log)" >&2
        exit 1
    fi
}

echo "== format"
bash scripts/format-check.sh
echo "== static analysis"
bash scripts/analyze.sh

suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== valgrind: the main command-line cases under memcheck"
bash scripts/valgrind.sh build
echo "== Release build"
bash scripts/release-build.sh

suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCSIGN_SANITIZE=ON

echo "== fuzz: every target for 15 s"
bash scripts/fuzz.sh 15

echo "test.sh: all tests and checks passed: sanitizers, valgrind, fuzzing, analysis, format"
