#!/usr/bin/env bash
# The layers' include paths let each layer see only itself and the layers
# below it: an include that points up must not compile. Compiles one
# include of each layer's header with each layer's include path.
# Usage: test_layers.sh CC LAYERS_DIR SRC_DIR
set -euo pipefail
cc=$1 layers=$2 src=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A header of each layer that compiles on its own.
declare -A header=([sys]=sys/err.h [hsm]=hsm/hsm.h [core]=core/cms.h [cli]=cli/cli.h)
# What each layer may include.
declare -A uses=([sys]="sys" [hsm]="hsm sys" [core]="core sys" [cli]="cli core hsm sys")
fails=0

for layer in sys hsm core cli; do
    for target in sys hsm core cli; do
        printf '#include "%s"\n' "${header[$target]}" >"$tmp/t.c"
        if "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -fsyntax-only -I "$layers/$layer" \
            "$tmp/t.c" 2>"$tmp/err"; then
            got=compiles
        else
            got=refused
        fi
        want=refused
        [[ " ${uses[$layer]} " == *" $target "* ]] && want=compiles
        if [[ $got != "$want" ]]; then
            echo "FAIL: $layer including ${header[$target]} $got, expected $want" >&2
            cat "$tmp/err" >&2
            fails=$((fails + 1))
        fi
    done
done

# A relative include would walk around the include paths.
if grep -rn '#include "\.\./' "$src"; then
    echo "FAIL: relative includes under $src" >&2
    fails=$((fails + 1))
fi

[[ $fails == 0 ]] && echo "layers: every upward include refused, every allowed one compiles"
exit $((fails > 0))
