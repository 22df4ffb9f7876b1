#!/usr/bin/env bash
# csign digest, and signing a digest computed elsewhere (split hashing).
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

signing_key() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type "${1:-ec:p256}"
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Rel' --import \
        -o "$CASE/root.pem"
    expect_rc 0
}

t_digest_matches_coreutils() {
    head -c 300000 /dev/urandom >"$CASE/a"
    printf 'b' >"$CASE/b name"
    run csign digest "$CASE/a" "$CASE/b name"
    expect_rc 0
    expect_out "sha256:$(sha256sum "$CASE/a" | cut -d' ' -f1)  $CASE/a"
    expect_out "sha256:$(sha256sum "$CASE/b name" | cut -d' ' -f1)  $CASE/b name"
    run csign digest --digest sha512 "$CASE/a"
    expect_out "sha512:$(sha512sum "$CASE/a" | cut -d' ' -f1)  $CASE/a"
    "$CSIGN_BIN" digest --digest sha384 - <"$CASE/a" >"$CASE/out" 2>"$CASE/err"
    grep -qx "sha384:$(sha384sum "$CASE/a" | cut -d' ' -f1)  -" "$CASE/out" || fail "stdin"
}

t_digest_errors() {
    run csign digest
    expect_rc 2
    run csign digest --digest md5 x
    expect_rc 2
    expect_err "unknown digest 'md5'"
    echo a >"$CASE/a"
    run csign digest "$CASE/a" "$CASE/missing"
    expect_rc 4
    expect_out "sha256:"
    expect_err "cannot open"
}

t_split_signature_verifies_against_the_file() {
    for type in ec:p256 ec:p384 rsa:3072; do
        setup_case
        signing_key "$type"
        head -c 500000 /dev/urandom >"$CASE/big"
        alg=sha256
        [ "$type" = ec:p384 ] && alg=sha384
        run csign digest --digest "$alg" "$CASE/big"
        d=$(cut -d' ' -f1 "$CASE/out")
        # The key's side sees only the digest.
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest-hex "$d" -o "$CASE/big.sig"
        expect_rc 0
        run csign verify --trust "$CASE/root.pem" --sig "$CASE/big.sig" "$CASE/big"
        expect_rc 0
        openssl cms -verify -binary -inform DER -in "$CASE/big.sig" -content "$CASE/big" \
            -CAfile "$CASE/root.pem" -purpose any -out /dev/null 2>/dev/null || fail "$type: openssl"
        echo x >>"$CASE/big"
        run csign verify --trust "$CASE/root.pem" --sig "$CASE/big.sig" "$CASE/big"
        expect_rc 1
    done
}

t_bad_digest_hex_refused() {
    signing_key
    for bad in sha256:abcd "sha256:$(printf 'zz%.0s' $(seq 32))" sha256: md5:0123 \
        "$(printf 'ab%.0s' $(seq 32))" "sha512:$(printf 'ab%.0s' $(seq 32))"; do
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest-hex "$bad" -o "$CASE/x.sig"
        expect_rc 2
        expect_one_error_line sign
    done
    d="sha256:$(printf 'ab%.0s' $(seq 32))"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest-hex "$d"
    expect_rc 2
    expect_err "--digest-hex needs -o"
    echo a >"$CASE/a"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest-hex "$d" -o "$CASE/x.sig" "$CASE/a"
    expect_rc 2
    expect_err "signs a digest, not files"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest-hex "$d" --digest sha512 -o "$CASE/x.sig"
    expect_rc 2
    expect_err "differ"
    [ ! -e "$CASE/x.sig" ] || fail "a signature was written"
}

run_tests
