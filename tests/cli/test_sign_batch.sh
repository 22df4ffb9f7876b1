#!/usr/bin/env bash
# csign sign with several outputs: what happens before the PIN is used when
# some or all of them cannot be written, counted at the token through the
# PKCS#11 shim.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'
WRONG_PIN=9999

# shim_sign PIN ARGS...: csign sign through the logging shim.
shim_sign() {
    local pin=$1
    shift
    run CSIGN_PIN="$pin" CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" "$@"
}

logins() {
    count_calls 'C_Login user'
}

ossl_verify() {
    openssl cms -verify -binary -inform DER -in "$2" -content "$1" -CAfile "$CASE/root.pem" \
        -purpose any -out /dev/null 2>/dev/null
}

t_no_output_writable_no_login() {
    signing_key
    for f in a b c; do
        echo "$f" >"$CASE/$f"
        echo "old $f" >"$CASE/$f.p7s"
    done
    # A wrong PIN would use up a try: it must not even be read.
    shim_sign $WRONG_PIN "$CASE/a" "$CASE/b" "$CASE/c"
    expect_rc 2
    [ "$(logins)" -eq 0 ] || fail "logged in $(logins) times"
    [ "$(count_calls C_OpenSession)" -eq 0 ] || fail "the token was opened"
    [ "$(grep -c 'exists; use --force' "$CASE/err")" -eq 3 ] || fail "not 3 files reported"
    expect_err "3 of 3 files failed"
    expect_no_err "PIN"
    for f in a b c; do
        [ "$(cat "$CASE/$f.p7s")" = "old $f" ] || fail "$f.p7s replaced"
    done
    # A PIN source that cannot be read is not read either.
    run CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" --module "$CSIGN_SHIM" \
        --pin-source "file:$CASE/no-such-pin" "$CASE/a" "$CASE/b"
    expect_rc 2
    expect_no_err "no-such-pin"
    # An output folder that is missing: exit 4, still no login.
    shim_sign $WRONG_PIN --out-dir "$CASE/nope" "$CASE/a" "$CASE/b"
    expect_rc 4
    expect_err "cannot write"
    # --json: one error record per file, no signer.
    shim_sign $WRONG_PIN --json "$CASE/a" "$CASE/b"
    expect_rc 2
    jq -e '(.files | length) == 2 and all(.files[]; .status == "error" and .exit_code == 2 and
        .signature == null and .signer_subject == null and .signer_sha256 == null)' \
        "$CASE/out" >/dev/null || fail "json: $(cat "$CASE/out")"
    # A given digest whose -o exists.
    shim_sign $WRONG_PIN --digest-hex "sha256:$(sha256sum <"$CASE/a" | cut -d' ' -f1)" \
        -o "$CASE/a.p7s"
    expect_rc 2
    expect_err "exists; use --force"
    [ "$(logins)" -eq 0 ] || fail "logged in $(logins) times"
    # The token still has all its tries: the right PIN works at once.
    shim_sign $USER_PIN --force "$CASE/a"
    expect_rc 0
    ossl_verify "$CASE/a" "$CASE/a.p7s" || fail "not signed with --force"
}

t_some_outputs_writable() {
    signing_key
    for f in a b c; do echo "$f" >"$CASE/$f"; done
    echo old >"$CASE/b.p7s"
    # The others are signed with one login; the one that exists fails alone.
    shim_sign $USER_PIN "$CASE/a" "$CASE/b" "$CASE/c"
    expect_rc 2
    [ "$(logins)" -eq 1 ] || fail "logged in $(logins) times"
    expect_out "signed $CASE/a -> $CASE/a.p7s"
    expect_out "signed $CASE/c -> $CASE/c.p7s"
    expect_err "b.p7s' exists; use --force"
    expect_err "1 of 3 files failed"
    [ "$(cat "$CASE/b.p7s")" = old ] || fail "b.p7s replaced"
    ossl_verify "$CASE/a" "$CASE/a.p7s" && ossl_verify "$CASE/c" "$CASE/c.p7s" ||
        fail "a or c not signed"
    # With something to sign the PIN is used: a wrong one is a token error.
    rm "$CASE/a.p7s" "$CASE/c.p7s" "$CASE/shim.log"
    shim_sign $WRONG_PIN "$CASE/a" "$CASE/b" "$CASE/c"
    expect_rc 3
    [ "$(logins)" -eq 1 ] || fail "logged in $(logins) times"
    [ ! -e "$CASE/a.p7s" ] && [ ! -e "$CASE/c.p7s" ] || fail "signed with a wrong PIN"
    # --fail-fast stops at the first output that exists, before the PIN.
    rm "$CASE/shim.log"
    shim_sign $WRONG_PIN --fail-fast "$CASE/a" "$CASE/b" "$CASE/c"
    expect_rc 2
    [ "$(logins)" -eq 0 ] || fail "logged in $(logins) times"
    [ ! -e "$CASE/a.p7s" ] || fail "signed before the failure"
}

t_manifest_outputs_exist_no_login() {
    signing_key
    mkdir "$CASE/rel"
    echo a >"$CASE/rel/a"
    for existing in SHA256SUMS SHA256SUMS.p7s; do
        rm -f "$CASE/rel/SHA256SUMS" "$CASE/rel/SHA256SUMS.p7s" "$CASE/shim.log"
        echo old >"$CASE/rel/$existing"
        shim_sign $WRONG_PIN --manifest "$CASE/rel/SHA256SUMS" "$CASE/rel/a"
        expect_rc 2
        expect_err "exists; use --force"
        [ "$(logins)" -eq 0 ] || fail "logged in for an existing $existing"
        [ "$(cat "$CASE/rel/$existing")" = old ] || fail "$existing replaced"
    done
}

run_tests
