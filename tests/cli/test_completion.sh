#!/usr/bin/env bash
# Shell completion (completion/, docs/completion.md): bash's completion
# function driven as bash drives it, zsh and fish checked for syntax and one
# case each.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
# CSIGN_COMPLETION_DIR: the folder of the completion files (an installed
# copy, say); default: the source tree's.
COMPLETION_DIR=${CSIGN_COMPLETION_DIR:-$SRC/completion}
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
KEY='pkcs11:token=dev;object=rel'
# In a sanitized build, no leak check for the csign runs the shells make:
# LeakSanitizer's tracer can stall a csign started from zsh's command
# substitution, and csign's memory is the other tests' subject, not the
# completion scripts'.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

# csign on PATH for the completing shells: a wrapper that records what
# environment and standard input each run had, then runs the binary.
csign_on_path() {
    mkdir -p "$CASE/bin"
    cat >"$CASE/bin/csign" <<EOF
#!/usr/bin/env bash
{ printf 'args:'; printf ' %s' "\$@"; echo
  [ -n "\${CSIGN_PIN+set}" ] && echo "CSIGN_PIN is set"
  [ -n "\${CSIGN_SO_PIN+set}" ] && echo "CSIGN_SO_PIN is set"
  [ "\$(readlink -f /proc/self/fd/0)" = /dev/null ] || echo "stdin is not /dev/null"
} >>"$CASE/runs.log"
exec "$CSIGN_BIN" "\$@"
EOF
    chmod +x "$CASE/bin/csign"
}

# complete_line LINE...: what bash's completion offers when Tab is pressed at
# the end of each LINE (in one shell, one after the other), one per line in
# $CASE/out. LINE is split into COMP_WORDS the way bash splits it (blanks,
# then runs of the break characters = and :).
complete_line() {
    [ -r "$BASH_COMPLETION" ] || fail "bash-completion is not installed"
    csign_on_path
    cat >"$CASE/drive.sh" <<'EOF'
. "$1"
. "$2"
shift 2
for line in "$@"; do
    COMP_LINE=$line
    COMP_POINT=${#line}
    COMP_WORDS=()
    for w in $line; do
        while [ -n "$w" ]; do
            if [[ $w =~ ^[=:]+ ]] || [[ $w =~ ^[^=:]+ ]]; then
                COMP_WORDS+=("${BASH_REMATCH[0]}")
                w=${w:${#BASH_REMATCH[0]}}
            fi
        done
    done
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _csign csign
    [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}"
done
EOF
    PATH=$CASE/bin:$PATH bash --norc --noprofile "$CASE/drive.sh" "$BASH_COMPLETION" \
        "$COMPLETION_DIR/csign.bash" "$@" >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 0
}

# offers WORD...: each WORD is one of the completions.
offers() {
    local w
    for w in "$@"; do grep -qxF -- "$w" "$CASE/out" || fail "completion lacks '$w'"; done
}
offers_nothing_else_than() {
    local w
    while IFS= read -r w; do
        printf '%s\n' "$@" | grep -qxF -- "$w" || fail "completion offers '$w'"
    done <"$CASE/out"
}

# The commands of the command table in src/cli/main.c.
table_commands() {
    sed -n '/commands\[\] = {/,/};/p' "$SRC/src/cli/main.c" | grep -o '&cmd_[a-z_]*' |
        sed 's/^&cmd_//; s/_/-/g'
}

t_commands() {
    local names
    names=$(table_commands)
    [ "$(wc -l <<<"$names")" -ge 10 ] || fail "could not read the command table"
    complete_line "csign "
    # shellcheck disable=SC2086
    offers $names help
    # shellcheck disable=SC2086
    offers_nothing_else_than $names help
    complete_line "csign si"
    [ "$(cat "$CASE/out")" = sign ] || fail "'si' does not complete to sign"
    complete_line "csign help ver"
    offers verify
}

t_help_is_read_once_per_shell() {
    complete_line "csign sign --" "csign sign --di" "csign sign --digest " "csign " "csign v"
    offers --key --digest --digest-hex sha256 verify
    [ "$(grep -cx 'args: sign --help' "$CASE/runs.log")" -eq 1 ] ||
        fail "csign sign --help ran more than once: $(cat "$CASE/runs.log")"
    [ "$(grep -cx 'args: --help' "$CASE/runs.log")" -eq 1 ] ||
        fail "csign --help ran more than once: $(cat "$CASE/runs.log")"
}

t_global_options() {
    complete_line "csign -"
    offers --help --version --verbose --quiet -V
}

t_sign_options() {
    complete_line "csign sign --"
    offers --key --cert --chain --digest --out --out-dir --pin-source --module --json \
        --tsa --manifest --files-from
    # Every long option of `csign sign --help`, so new options complete too.
    local o
    for o in $("$CSIGN_BIN" sign --help | grep -oE '^  (-., |    )--[a-z0-9-]+' |
        grep -oE -- '--[a-z0-9-]+'); do
        offers "$o"
    done
    complete_line "csign sign -"
    offers -o -j --key
    # verify has its own options, sign's are not offered there.
    complete_line "csign verify --"
    offers --trust --expect-signer
    ! grep -qx -- --out-dir "$CASE/out" || fail "verify offers sign's --out-dir"
}

t_key_types() {
    complete_line "csign keygen --type "
    offers ec:p256 ec:p384 ec:p521 rsa:2048 rsa:3072 rsa:4096
    offers_nothing_else_than ec:p256 ec:p384 ec:p521 rsa:2048 rsa:3072 rsa:4096
    # After "rsa:" bash replaces only what follows the colon.
    complete_line "csign keygen --type rsa:3"
    [ "$(cat "$CASE/out")" = 3072 ] || fail "'rsa:3' does not complete to 3072"
}

t_digests() {
    complete_line "csign sign --digest "
    offers sha256 sha384 sha512
    offers_nothing_else_than sha256 sha384 sha512
    complete_line "csign digest --digest=sha3"
    offers sha384
    complete_line "csign sign --tsa-digest sha5"
    offers sha512
}

t_pin_source_kinds() {
    complete_line "csign sign --pin-source "
    offers env: fd: file: prompt
    offers_nothing_else_than env: fd: file: prompt
    complete_line "csign init-token --so-pin-source pr"
    offers prompt
    : >"$CASE/pin.txt"
    complete_line "csign sign --pin-source file:$CASE/pin"
    offers "$CASE/pin.txt"
}

t_files() {
    mkdir "$CASE/outdir"
    : >"$CASE/release.tar"
    complete_line "csign sign -o $CASE/rel"
    offers "$CASE/release.tar"
    complete_line "csign sign --out-dir $CASE/out"
    offers "$CASE/outdir"
    ! grep -q "out$" "$CASE/out" || fail "--out-dir offers a file"
    complete_line "csign verify --trust $CASE/rel"
    offers "$CASE/release.tar"
    complete_line "csign sign $CASE/rel"
    offers "$CASE/release.tar"
    mkdir "$CASE/mods"
    : >"$CASE/mods/libp11.so"
    : >"$CASE/mods/readme.txt"
    complete_line "csign sign --module $CASE/mods/"
    offers "$CASE/mods/libp11.so"
    ! grep -q readme "$CASE/out" || fail "--module offers a file that is not a .so"
}

t_key_uri_only_when_asked() {
    signing_key
    complete_line "csign sign --key "
    [ "$(cat "$CASE/out")" = pkcs11: ] || fail "an empty --key offers more than pkcs11:"
    [ ! -e "$CASE/runs.log" ] || ! grep -q "args: list" "$CASE/runs.log" ||
        fail "listed the tokens before pkcs11: was typed"
}

t_key_uri_from_token() {
    signing_key
    # The listing must not run into the time limit on a loaded machine.
    export CSIGN_COMPLETE_TIMEOUT=300
    local uri
    uri=$("$CSIGN_BIN" list --json </dev/null | grep -o '"uri": *"pkcs11:[^"]*type=private"' |
        head -1 | sed 's/^"uri": *"//; s/"$//')
    [ -n "$uri" ] || fail "csign list --json shows no key URI"
    complete_line "csign sign --key pkcs11:"
    # bash replaces what follows "pkcs11:", and ";" is escaped for the shell.
    local want=${uri#pkcs11:}
    offers "${want//;/\\;}"
    ! grep -q "type=cert" "$CASE/out" || fail "--key offers a certificate URI"
    complete_line "csign sign --key=pkcs11:"
    offers "${want//;/\\;}"
    complete_line "csign sign --cert pkcs11:"
    grep -q "type=cert" "$CASE/out" || fail "--cert offers no certificate URI"
    # keygen --key names a token; its URIs are offered.
    complete_line "csign keygen --key pkcs11:"
    grep -q "token=dev$" "$CASE/out" || fail "keygen --key offers no token URI"
}

t_uri_listing_never_reads_a_pin() {
    [ -n "$CSIGN_SHIM" ] || fail "CSIGN_SHIM is not set"
    signing_key
    # A PIN in the completing shell's environment is neither used nor passed.
    export CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN
    export CSIGN_SHIM_LOG=$CASE/shim.log CSIGN_COMPLETE_TIMEOUT=300
    complete_line "csign sign --module $CSIGN_SHIM --key pkcs11:"
    grep -q 'object=rel' "$CASE/out" || fail "no key URI completed without a PIN"
    grep -q "args: list --json --module $CSIGN_SHIM" "$CASE/runs.log" ||
        fail "the listing did not use the line's --module"
    ! grep -q "is set" "$CASE/runs.log" || fail "the listing saw a PIN variable"
    ! grep -q "stdin" "$CASE/runs.log" || fail "the listing could read standard input"
    [ "$(grep -c '^C_Login' "$CASE/shim.log")" -eq 0 ] || fail "the listing logged in"
}

t_uri_listing_gives_up() {
    [ -n "$CSIGN_SHIM" ] || fail "CSIGN_SHIM is not set"
    new_token dev
    # A module that never answers: completion ends with nothing to offer.
    export CSIGN_SHIM_HANG=C_GetSlotList CSIGN_COMPLETE_TIMEOUT=1
    complete_line "csign sign --module $CSIGN_SHIM --key pkcs11:"
    [ ! -s "$CASE/out" ] || fail "offers URIs from a hung module"
}

t_zsh() {
    command -v zsh >/dev/null || fail "zsh is not installed"
    zsh -n "$COMPLETION_DIR/_csign" 2>"$CASE/err" || fail "zsh -n: $(cat "$CASE/err")"
    csign_on_path
    # One case through the function, with stand-ins for the completion
    # builtins that print what would be offered.
    cat >"$CASE/drive.zsh" <<'EOF'
fpath=($1 $fpath); shift
compadd() {
  while [[ $1 == -* && $1 != -- ]]; do [[ $1 == -[SPJVXx] ]] && shift; shift; done
  [[ $1 == -- ]] && shift; print -rl -- "$@"
}
_describe() { local n; for n in ${(P)2}; do print -r -- ${n%%:*}; done; }
_values() { shift; print -rl -- "$@"; }
_files() { print -r -- "<files $*>"; }
_message() { :; }
autoload -Uz _csign
words=("$@"); CURRENT=$#; PREFIX=${words[-1]}
_csign
_csign >/dev/null # a second Tab: --help is not run again
EOF
    PATH=$CASE/bin:$PATH zsh -f "$CASE/drive.zsh" "$COMPLETION_DIR" csign keygen --type '' \
        >"$CASE/out" 2>"$CASE/err" </dev/null || fail "zsh completion failed"
    offers ec:p256 rsa:4096
    [ "$(grep -cx 'args: keygen --help' "$CASE/runs.log")" -eq 1 ] ||
        fail "zsh ran csign keygen --help more than once"
    PATH=$CASE/bin:$PATH zsh -f "$CASE/drive.zsh" "$COMPLETION_DIR" csign '' \
        >"$CASE/out" 2>"$CASE/err" </dev/null || fail "zsh completion failed"
    # shellcheck disable=SC2046
    offers $(table_commands)
}

t_fish() {
    command -v fish >/dev/null || fail "fish is not installed"
    fish --no-execute "$COMPLETION_DIR/csign.fish" 2>"$CASE/err" ||
        fail "fish --no-execute: $(cat "$CASE/err")"
    csign_on_path
    PATH=$CASE/bin:$PATH fish --no-config -c "source '$COMPLETION_DIR/csign.fish'
        complete -C 'csign sign --digest '; complete -C 'csign '" \
        >"$CASE/out" 2>"$CASE/err" </dev/null || fail "fish completion failed"
    sed -i 's/\t.*//' "$CASE/out"
    offers sha256 sha384 sha512
    # shellcheck disable=SC2046
    offers $(table_commands)
    # env: offers what csign would inherit: exported variables, not the shell's own.
    PATH=$CASE/bin:$PATH fish --no-config -c "source '$COMPLETION_DIR/csign.fish'
        set -gx CSIGN_EXPORTED 1; set -g csign_not_exported 1
        complete -C 'csign sign --pin-source env:'" >"$CASE/out" 2>"$CASE/err" </dev/null ||
        fail "fish completion failed"
    offers env:CSIGN_EXPORTED
    ! grep -q 'env:csign_not_exported' "$CASE/out" || fail "an unexported variable is offered"
    # Without a csign program, nothing is run in its place.
    mkdir "$CASE/nocsign"
    printf '#!/bin/sh\ntouch "%s/ran"\n' "$CASE" >"$CASE/nocsign/sign"
    chmod +x "$CASE/nocsign/sign"
    PATH=$CASE/nocsign:/usr/bin:/bin fish --no-config -c "source '$COMPLETION_DIR/csign.fish'
        complete -C 'csign sign --'" >"$CASE/out" 2>"$CASE/err" </dev/null
    [ ! -e "$CASE/ran" ] || fail "another program ran in csign's place"
}

# cmake --install puts each file where its shell looks under the prefix:
# bash-completion, zsh and fish find csign's completion there.
t_installed_where_shells_look() {
    local build=${CSIGN_BUILD_DIR:-$(dirname "$CSIGN_BIN")} p=$CASE/prefix
    [ -f "$build/cmake_install.cmake" ] ||
        fail "no CMake build folder at $build (set CSIGN_BUILD_DIR)"
    cmake --install "$build" --prefix "$p" >"$CASE/out" 2>"$CASE/err" || fail "cmake --install failed"
    cmp -s "$p/share/bash-completion/completions/csign" "$SRC/completion/csign.bash" ||
        fail "bash completion not installed as share/bash-completion/completions/csign"
    cmp -s "$p/share/zsh/vendor-completions/_csign" "$SRC/completion/_csign" ||
        fail "zsh completion not installed as share/zsh/vendor-completions/_csign"
    cmp -s "$p/share/fish/vendor_completions.d/csign.fish" "$SRC/completion/csign.fish" ||
        fail "fish completion not installed as share/fish/vendor_completions.d/csign.fish"
    csign_on_path
    # bash-completion loads completions on demand from XDG_DATA_DIRS.
    XDG_DATA_DIRS=$p/share bash --norc --noprofile -c ". '$BASH_COMPLETION'
        __load_completion csign && complete -p csign" >"$CASE/out" 2>"$CASE/err" </dev/null
    grep -q -- "-F _csign csign" "$CASE/out" || fail "bash-completion does not find the file"
    XDG_DATA_DIRS=$p/share XDG_CONFIG_HOME=$CASE/config PATH=$CASE/bin:$PATH \
        fish -c 'complete -C "csign keygen --type "' >"$CASE/out" 2>"$CASE/err" </dev/null
    offers ec:p256
}

run_tests
