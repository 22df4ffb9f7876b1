#!/usr/bin/env bash
# Checks that every tracked C file (*.c, *.h) is formatted as .clang-format
# says, with clang-format 14: other major versions format some constructs
# differently. Changes nothing; to fix a file: clang-format-14 -i FILE.
set -euo pipefail
cd "$(dirname "$0")/.."

fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$fmt" ]; then
    echo "format-check.sh: clang-format 14 is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
fi
if ! "$fmt" --version | grep -q 'version 14\.'; then
    echo "format-check.sh: $fmt is not clang-format 14: $("$fmt" --version)" >&2
    exit 1
fi

mapfile -t files < <(git ls-files -- '*.c' '*.h')
if [ "${#files[@]}" -eq 0 ]; then
    echo "format-check.sh: no C files found (not a git work tree?)" >&2
    exit 1
fi
if "$fmt" --dry-run -Werror --style=file "${files[@]}" 2>/dev/null; then
    echo "format-check.sh: ${#files[@]} files formatted"
    exit 0
fi
# Which ones, and what clang-format would change in them.
bad=()
for f in "${files[@]}"; do
    if ! "$fmt" --dry-run -Werror --style=file "$f" 2>/dev/null; then
        bad+=("$f")
    fi
done
if [ "${#bad[@]}" -gt 0 ]; then
    for f in "${bad[@]}"; do
        "$fmt" --style=file "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - || true
    done
    echo "format-check.sh: ${#bad[@]} of ${#files[@]} files are not formatted:" \
        "${bad[*]} (fix: $fmt -i FILE)" >&2
else
    echo "format-check.sh: $fmt failed:" >&2
    "$fmt" --dry-run -Werror --style=file "${files[@]}" >&2 || true
fi
exit 1
