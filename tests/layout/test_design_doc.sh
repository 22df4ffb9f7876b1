#!/usr/bin/env bash
# docs/design.md names every source file in its layer's row, and names no
# source file that does not exist, so the map cannot drift from the tree.
# Usage: test_design_doc.sh SOURCE_DIR
set -euo pipefail
root=$1
doc=$root/docs/design.md
fails=0

for f in "$root"/src/*/*.c; do
    layer=$(basename "$(dirname "$f")")
    name=$(basename "$f")
    pattern="\`$name\`"
    [[ $name == cmd_*.c ]] && pattern='`cmd_*.c`'
    if ! grep -E "^\| \`src/$layer\` \|" "$doc" | grep -qF "$pattern"; then
        echo "FAIL: src/$layer/$name is not in the src/$layer row of docs/design.md" >&2
        fails=$((fails + 1))
    fi
done
while read -r layer names; do
    for name in $names; do
        if [[ ! -f $root/src/$layer/$name ]]; then
            echo "FAIL: docs/design.md names src/$layer/$name, which does not exist" >&2
            fails=$((fails + 1))
        fi
    done
done < <(grep -E '^\| `src/[a-z]+` \|' "$doc" |
    sed -E 's/^\| `src\/([a-z]+)` \|(.*)$/\1 \2/' |
    awk '{layer=$1; out=""; for (i=2;i<=NF;i++) if (match($i, /^`[a-z_0-9]+\.c`/)) out=out" "substr($i,2,RLENGTH-2); print layer out}')

[[ $fails == 0 ]] && echo "design.md: every source file is on the map, and only those"
exit $((fails > 0))
