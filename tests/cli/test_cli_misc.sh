#!/usr/bin/env bash
# Everyday command-line use: typo suggestions, --help layout and examples,
# timestamp reruns, digest --json, init-token PIN dialogs, the built-in store.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=release'
# The local TSA must be reached directly, whatever proxy the machine uses.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

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

t_timestamp_twice_leaves_the_file_alone() {
    [ -n "${CSIGN_TSA_TOOL:-}" ] || fail "CSIGN_TSA_TOOL is not set"
    signing_key
    echo "release" >a.bin
    cp a.bin b.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --pem b.bin
    expect_rc 0
    start_tsa
    run csign timestamp --tsa "$TSA_URL" a.bin.p7s b.bin.p7s
    expect_rc 0
    expect_out "timestamped a.bin.p7s by $TSA_URL"
    cp a.bin.p7s a.first
    cp b.bin.p7s b.first
    asked=$(wc -l <"$TSA_LOG")
    run csign timestamp --tsa "$TSA_URL" a.bin.p7s b.bin.p7s
    expect_rc 0
    expect_out "a.bin.p7s: already time-stamped (at 20"
    expect_out "by CN=Test TSA); nothing to do"
    expect_out "b.bin.p7s: already time-stamped"
    cmp a.bin.p7s a.first || fail "a.bin.p7s changed on the second run"
    cmp b.bin.p7s b.first || fail "b.bin.p7s changed on the second run"
    [ "$(wc -l <"$TSA_LOG")" -eq "$asked" ] || fail "the TSA was asked again"
    run csign verify --trust root.pem --tsa-trust tsaca.pem --require-timestamp a.bin b.bin
    expect_rc 0
}

t_timestamp_force_replaces() {
    [ -n "${CSIGN_TSA_TOOL:-}" ] || fail "CSIGN_TSA_TOOL is not set"
    signing_key
    echo "release" >a.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --pem a.bin
    expect_rc 0
    start_tsa
    run csign timestamp --tsa "$TSA_URL" a.bin.p7s
    expect_rc 0
    cp a.bin.p7s a.first
    run csign timestamp --force --tsa "$TSA_URL" a.bin.p7s
    expect_rc 0
    expect_out "timestamped a.bin.p7s by $TSA_URL"
    ! cmp -s a.bin.p7s a.first || fail "--force kept the old timestamp"
    head -c 10 a.bin.p7s | grep -q -- '-----BEGIN' || fail "PEM became DER"
    # One timestamp, the new one: verify accepts no second one.
    run csign verify --trust root.pem --tsa-trust tsaca.pem --require-timestamp a.bin
    expect_rc 0
}

t_digest_json() {
    command -v jq >/dev/null || fail "jq is missing"
    printf 'abc' >a.bin
    printf 'hello\n' >b.bin
    run csign digest --json a.bin b.bin
    expect_rc 0
    jq -e '.schema == 1 and .command == "digest" and .exit_code == 0 and .error == null' \
        "$CASE/out" >/dev/null || fail "document header"
    jq -e '.files | length == 2' "$CASE/out" >/dev/null || fail "not two records"
    want=$(sha256sum a.bin | cut -d' ' -f1)
    jq -e --arg w "$want" '.files[0] | .path == "a.bin" and .status == "ok" and
        .digest_algorithm == "sha256" and .digest == $w and .reason == null and .exit_code == 0' \
        "$CASE/out" >/dev/null || fail "a.bin record"
    run csign digest --json --digest sha384 b.bin
    want=$(sha384sum b.bin | cut -d' ' -f1)
    jq -e --arg w "$want" '.files[0].digest_algorithm == "sha384" and .files[0].digest == $w' \
        "$CASE/out" >/dev/null || fail "sha384 record"
}

t_digest_json_errors() {
    command -v jq >/dev/null || fail "jq is missing"
    printf 'abc' >a.bin
    run csign digest --json a.bin missing.bin
    expect_rc 4
    expect_err "csign: digest: cannot open 'missing.bin'"
    jq -e '.exit_code == 4 and (.files | length == 2) and .files[0].status == "ok"' \
        "$CASE/out" >/dev/null || fail "document"
    jq -e '.files[1] | .path == "missing.bin" and .status == "error" and .digest == null and
        (.reason | contains("missing.bin")) and .exit_code == 4' "$CASE/out" >/dev/null ||
        fail "error record"
    # Failed before any file: still one document, with the error.
    run csign digest --json --files-from nolist.txt
    expect_rc 4
    jq -e '.files == [] and .exit_code == 4 and (.error | contains("nolist.txt"))' \
        "$CASE/out" >/dev/null || fail "document of a run that failed early"
    expect_err "csign: digest:"
}

t_init_token_mismatch_asks_again() {
    tty_dialog "'$CSIGN_BIN' init-token --label dev" "$SO_PIN" 11112222 "$SO_PIN" "$SO_PIN" \
        zqzq zqzr zqzq zqzq
    expect_rc 0
    [ "$(grep -c "the two PINs entered differ; try again." "$CASE/out")" -eq 2 ] ||
        fail "the mismatches were not both reported"
    [ "$(grep -o "New SO PIN for token 'dev':" "$CASE/out" | wc -l)" -eq 2 ] ||
        fail "SO PIN not asked twice"
    ! grep -q zqzq "$CASE/out" || fail "PIN echoed"
    # The token works with the PINs entered last.
    run CSIGN_PIN=zqzq csign keygen --key "$KEY"
    expect_rc 0
    # Re-initialising needs the SO PIN entered last.
    run CSIGN_SO_PIN=$SO_PIN CSIGN_PIN=7777 csign init-token --label dev --force
    expect_rc 0
}

t_init_token_short_so_pin_asked_again_at_once() {
    tty_dialog "'$CSIGN_BIN' init-token --label dev" 12 "$SO_PIN" "$SO_PIN" 7777 7777
    expect_rc 0
    # Refused right after it was typed: before any confirmation or user PIN.
    first=$(grep -n "the SO PIN must have 4 to 255 bytes for this token; try again." \
        "$CASE/out" | head -1 | cut -d: -f1)
    [ -n "$first" ] || fail "short SO PIN not reported"
    sed -n "1,${first}p" "$CASE/out" | grep -q "Repeat to confirm\|user PIN" &&
        fail "asked for more before reporting the short SO PIN"
    grep -q "New user PIN" "$CASE/out" || fail "user PIN never asked"
    run CSIGN_PIN=7777 csign list --login
    expect_rc 0
}

t_init_token_gives_up_after_three_short_pins() {
    tty_dialog "'$CSIGN_BIN' init-token --label dev" 12 12 12
    expect_rc 3
    expect_out "the SO PIN must have 4 to 255 bytes"
    grep -q "New user PIN" "$CASE/out" && fail "user PIN asked after a refused SO PIN"
    run csign list --json
    jq -e '.tokens == []' "$CASE/out" >/dev/null || fail "a token was made anyway"
}

t_init_token_short_so_pin_from_env_before_user_pin() {
    # Not a terminal: refused at once, before the user PIN is read (the
    # descriptor 3 is not touched).
    run CSIGN_SO_PIN=12 csign init-token --label dev --pin-source fd:3
    expect_rc 3
    expect_err "the SO PIN must have 4 to 255 bytes for this token"
}

t_softhsm_named_uses_builtin_store() {
    unset SOFTHSM2_CONF
    run CSIGN_SO_PIN=$SO_PIN CSIGN_PIN=$USER_PIN csign init-token --label dev
    expect_rc 0
    # The same module named by --module or CSIGN_MODULE: the same store.
    run csign list --module "$SOFTHSM_MODULE"
    expect_rc 0
    expect_out "token 'dev'"
    run CSIGN_MODULE=$SOFTHSM_MODULE csign list
    expect_rc 0
    expect_out "token 'dev'"
    ln -s "$SOFTHSM_MODULE" "$CASE/softhsm-link.so"
    run CSIGN_PIN=$USER_PIN csign keygen --module "$CASE/softhsm-link.so" --key "$KEY"
    expect_rc 0
    run USER_PIN_VAR=$USER_PIN csign list --login --pin-source env:USER_PIN_VAR
    expect_rc 0
    expect_out "object=release"
}

t_softhsm_named_with_user_conf_uses_it() {
    # SOFTHSM2_CONF set by the user (lib.sh): SoftHSM reads it, csign
    # makes no store of its own.
    new_token mine
    run csign list --module "$SOFTHSM_MODULE"
    expect_rc 0
    expect_out "token 'mine'"
    [ ! -e "$HOME/.local/share/csign" ] || fail "csign made its own store despite SOFTHSM2_CONF"
}

t_no_token_names_the_store() {
    unset SOFTHSM2_CONF
    conf=$HOME/.local/share/csign/softhsm2.conf
    echo x >a.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --module "$SOFTHSM_MODULE" a.bin
    expect_rc 3
    expect_one_error_line sign
    expect_err "has no initialised token; create one with 'csign init-token --label NAME'"
    expect_err "csign's built-in store, SOFTHSM2_CONF=$conf;"
    expect_err "for pkcs11-tool: SOFTHSM2_CONF=$conf pkcs11-tool --module $SOFTHSM_MODULE --list-slots"
    # What the message says works: pkcs11-tool sees csign's tokens.
    run CSIGN_SO_PIN=$SO_PIN CSIGN_PIN=$USER_PIN csign init-token --label dev
    expect_rc 0
    SOFTHSM2_CONF=$conf pkcs11-tool --module "$SOFTHSM_MODULE" --list-slots 2>&1 |
        grep -q "token label *: *dev" || fail "pkcs11-tool does not see csign's store"
    # A user's own SOFTHSM2_CONF is named as such.
    run SOFTHSM2_CONF=$CASE/softhsm2.conf CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin
    expect_rc 3
    expect_err "(SoftHSM with the SOFTHSM2_CONF=$CASE/softhsm2.conf set here)"
}

run_tests
