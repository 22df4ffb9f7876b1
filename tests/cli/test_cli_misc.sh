#!/usr/bin/env bash
# Everyday command-line use: typo suggestions, --help layout and examples,
# timestamp reruns, digest --json, init-token PIN dialogs, the built-in store.
. "$(dirname "$0")/lib.sh"

COMMANDS="init-token list keygen csr selfsign import-cert sign verify digest timestamp"

t_unknown_command_suggests() {
    run csign sgin a.bin
    expect_rc 2
    expect_err "csign: unknown command 'sgin'; did you mean 'sign'? Try 'csign --help'."
    run csign help verfy
    expect_rc 2
    expect_err "unknown command 'verfy'; did you mean 'verify'?"
}

t_unknown_command_far_has_no_suggestion() {
    run csign frobnicate
    expect_rc 2
    expect_err "csign: unknown command 'frobnicate'. Try 'csign --help'."
    expect_no_err "did you mean"
}

t_unknown_option_suggests() {
    run csign sign --kye 'pkcs11:token=dev;object=k' a.bin
    expect_rc 2
    expect_err "csign: sign: unknown option '--kye'; did you mean '--key'? Try 'csign sign --help'."
    expect_one_error_line sign
    # A glued value is not repeated (it may be a secret).
    run csign verify --trsut=s3cret a.bin
    expect_rc 2
    expect_err "unknown option '--trsut'; did you mean '--trust'?"
    expect_secret_absent s3cret
    # Before the command too.
    run csign --verbsoe list
    expect_rc 2
    expect_err "unknown option '--verbsoe'; did you mean '--verbose'? Try 'csign --help'."
}

t_unknown_option_far_has_no_suggestion() {
    run csign list --frobnicate
    expect_rc 2
    expect_err "unknown option '--frobnicate'. Try 'csign list --help'."
    expect_no_err "did you mean"
}

# examples CMD: the commands of CMD's --help "Examples:" section, one a
# line (continuation lines joined).
examples() {
    "$CSIGN_BIN" "$1" --help | awk '/^Examples:/ {on = 1; next} on' |
        sed -e ':a' -e '/\\$/N; s/ *\\\n */ /; ta' -e 's/^  //'
}

t_help_fits_80_columns_off_a_terminal() {
    local c long
    for c in "" $COMMANDS; do
        # shellcheck disable=SC2086
        long=$("$CSIGN_BIN" $c --help | awk 'length > 80')
        [ -z "$long" ] || fail "csign $c --help has lines over 80 columns: $long"
    done
    # Wrapped descriptions stay in their column.
    run csign sign --help
    grep -qE '^ {33}[a-z(]' "$CASE/out" || fail "no continued description at column 34"
    # COLUMNS is for terminals only.
    run COLUMNS=200 csign verify --help
    [ -z "$(awk 'length > 80' "$CASE/out")" ] || fail "COLUMNS used off a terminal"
}

t_help_wraps_to_terminal_width() {
    local c long
    command -v script >/dev/null || fail "script(1) is missing"
    for c in "" $COMMANDS; do
        COLUMNS=60 script -qefc "$CSIGN_BIN $c --help" /dev/null | tr -d '\r' >"$CASE/out"
        grep -q "Usage: csign" "$CASE/out" || fail "no help on the terminal"
        long=$(awk 'length > 60' "$CASE/out")
        [ -z "$long" ] || fail "csign $c --help has lines over 60 columns: $long"
    done
    # A wide terminal gets long lines (the description is not cut at 80).
    COLUMNS=200 script -qefc "$CSIGN_BIN sign --help" /dev/null | tr -d '\r' >"$CASE/out"
    [ -n "$(awk 'length > 80' "$CASE/out")" ] || fail "COLUMNS=200 still wraps at 80"
}

t_help_has_examples() {
    local c n
    for c in $COMMANDS; do
        n=$(examples "$c" | grep -c "^csign $c ")
        [ "$n" -ge 2 ] && [ "$n" -le 3 ] || fail "csign $c --help: $n examples"
    done
    run csign help sign
    expect_out "Examples:"
}

# The examples of the token and file commands work as written, in the
# order a new user would run them.
t_help_examples_run() {
    local c line ran=0
    new_token dev
    export CSIGN_PIN=$USER_PIN
    echo content >app.tar.gz
    csign() { "$CSIGN_BIN" "$@"; }
    for c in keygen selfsign csr list sign verify digest; do
        while IFS= read -r line; do
            # Examples that need a CA's files or a time-stamping authority.
            [[ $line == *tsa* || $line == *ca.pem* || $line == *legacy* ]] && continue
            [[ $line == *"--json"* ]] && line="$line >/dev/null"
            eval "$line" >"$CASE/out" 2>"$CASE/err" || fail "example failed: $line"
            ran=$((ran + 1))
        done < <(examples "$c")
    done
    [ -s app.tar.gz.p7s ] && [ -s SHA256SUMS.p7s ] && [ -s release.csr ] && [ -s release.der ] && [ -s dev-30.pem ] ||
        fail "the examples did not write their files"
    [ "$ran" -ge 10 ] || fail "only $ran examples ran"
}

run_tests
