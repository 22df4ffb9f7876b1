#!/usr/bin/env bash
# The layers' include paths let each layer see only itself and the public
# headers of the layers below it: an include that points up, or into
# another layer's private header, must not compile. Compiles one include
# at a time with each layer's include path (as CMakeLists.txt gives it).
# Usage: test_layers.sh CC LAYERS_DIR SRC_DIR
set -euo pipefail
cc=$1 layers=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# compiles LAYER INCLUDE-LINE...: whether the lines compile with LAYER's path.
compiles() {
    local layer=$1
    shift
    printf '%s\n' "$@" >"$tmp/t.c"
    "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -fsyntax-only -iquote "$layers/$layer" \
        "$tmp/t.c" 2>"$tmp/err"
}

# included '#include "a/b.h"': a/b.h
included() {
    sed -E 's/^#include ["<]([^">]*)[">].*/\1/' <<<"$1"
}

# expect WANT LAYER INCLUDE-LINE...: WANT is "compiles" or "refused".
expect() {
    local want=$1 layer=$2 got=refused
    shift 2
    compiles "$layer" "$@" && got=compiles
    if [[ $got != "$want" ]]; then
        echo "FAIL: in $layer, '$*' $got, expected $want" >&2
        cat "$tmp/err" >&2
        fails=$((fails + 1))
    elif [[ $want == refused ]] && ! grep -qF "$(included "$1"): No such file" "$tmp/err"; then
        echo "FAIL: in $layer, '$*' failed, but not for want of the header:" >&2
        cat "$tmp/err" >&2
        fails=$((fails + 1))
    fi
}

# A public header of each layer that compiles on its own.
declare -A header=([sys]=sys/err.h [hsm]=hsm/hsm.h [core]=core/cms.h [cli]=cli/cli.h)
# What each layer may include.
declare -A uses=([sys]="sys" [hsm]="hsm sys" [core]="core sys" [cli]="cli core hsm sys")

for layer in sys hsm core cli; do
    for target in sys hsm core cli; do
        want=refused
        [[ " ${uses[$layer]} " == *" $target "* ]] && want=compiles
        expect "$want" "$layer" "#include \"${header[$target]}\""
    done
done

# A private header is its own layer's alone.
expect compiles sys '#include "sys/io_internal.h"'
for layer in hsm core cli; do
    expect refused "$layer" '#include "sys/io_internal.h"'
done
for layer in core cli; do
    expect refused "$layer" '#include "hsm/internal.h"'
done

# No way around through "..": the include path holds links to headers, not
# to folders.
expect refused core '#include "core/../cli/opt.h"'
expect refused hsm '#include "sys/../core/cms.h"'
if grep -rnE '#[[:space:]]*include[[:space:]]*["<][^">]*\.\.' "$src"; then
    echo "FAIL: includes with '..' under $src" >&2
    fails=$((fails + 1))
fi

# <sys/...> is the system's: csign's sys folder does not hide it.
expect compiles sys '#include <sys/stat.h>' '#include "sys/io.h"' \
    '#if defined(CSIGN_IO_H) != 1' '#error csign io.h missing' '#endif'
if [[ -e /usr/include/x86_64-linux-gnu/sys/io.h || -e /usr/include/sys/io.h ]]; then
    expect compiles cli '#include <sys/io.h>' '#ifdef CSIGN_IO_H' \
        '#error <sys/io.h> gave csign io.h' '#endif'
fi

[[ $fails == 0 ]] && echo "layers: every upward or private include refused, every allowed one compiles"
exit $((fails > 0))
