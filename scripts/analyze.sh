#!/usr/bin/env bash
# Static analysis of src/ with cppcheck and clang's static analyzer, over the
# compile commands of a build folder this script configures itself (first
# argument, relative to the repository, build-analyze by default; nothing is
# built in it). Fails on any finding of either tool. docs/checks.md tells
# how to deal with a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=$(realpath -m -- "${1:-build-analyze}")
jobs=$(nproc 2>/dev/null || echo 2)

clang=$(command -v clang-14 || command -v clang || true)
for tool in cppcheck jq "$clang"; do
    if [ -z "$tool" ] || ! command -v "$tool" >/dev/null; then
        echo "analyze.sh: ${tool:-clang} is missing (scripts/install-deps.sh installs it)" >&2
        exit 1
    fi
done

# Debug: assert() stays in, and is one more thing the analyzers know.
# clang: its compile commands are the ones its analyzer is given.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER="$clang" -DCSIGN_TESTS=OFF \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cdb=$dir/compile_commands.json
mkdir -p "$dir/cppcheck" "$dir/analyzer"
found=0

# cppcheck. Checks: warning (likely bugs), style (dead or redundant code),
# performance, portability. Not "information": it only reports how
# cppcheck itself was set up (system headers it does not read, ...).
# The libraries tell it how POSIX, GNU, OpenSSL and libcurl functions
# allocate, free and fail. Suppressions: inline ones in src/, each with its
# reason, and tests/cppcheck.supp for the checks not run at all.
echo "== cppcheck $(cppcheck --version | awk '{print $2}')"
cppcheck --project="$cdb" --file-filter="$root/src/*" -j "$jobs" --quiet \
    --enable=warning,style,performance,portability \
    --library=posix,gnu,openssl,libcurl \
    --inline-suppr --suppressions-list=tests/cppcheck.supp \
    --cppcheck-build-dir="$dir/cppcheck" \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
    2>"$dir/cppcheck.log" || {
    echo "analyze.sh: cppcheck could not run" >&2
    cat "$dir/cppcheck.log" >&2
    exit 1
}
if [ -s "$dir/cppcheck.log" ]; then
    sed "s|^$root/||" "$dir/cppcheck.log"
    echo "cppcheck: $(grep -c '^[^ ].*\]$' "$dir/cppcheck.log") finding(s)"
    found=1
else
    echo "cppcheck: no findings"
fi

# clang's analyzer with its default checkers (those scan-build runs), one
# file at a time on every core, findings as text with the path that leads
# to them. Compiler warnings clang gives on the way count too.
echo "== clang analyzer ($("$clang" --version | head -1))"
rm -f "$dir"/analyzer/*.log
jq -j --arg src "$root/src/" --arg logs "$dir/analyzer/" '.[] |
    select(.file | startswith($src)) |
    "cd \(.directory | @sh) && \(.command) --analyze -Xclang -analyzer-output=text" +
    " -o /dev/null >\($logs + (.file | ltrimstr($src) | gsub("/"; "_")) + ".log" | @sh) 2>&1\u0000"' \
    "$cdb" | xargs -0 -P "$jobs" -n 1 sh -c
warnings=0
for log in "$dir"/analyzer/*.log; do
    if grep -q -e 'warning:' -e 'error:' "$log"; then
        sed "s|$root/||g" "$log"
        warnings=$((warnings + $(grep -c -e 'warning:' -e 'error:' "$log")))
    fi
done
if [ "$warnings" -gt 0 ]; then
    echo "clang analyzer: $warnings finding(s)"
    found=1
else
    echo "clang analyzer: no findings"
fi

if [ "$found" -ne 0 ]; then
    echo "analyze.sh: static analysis has findings (see docs/checks.md)" >&2
    exit 1
fi
echo "analyze.sh: no findings"
