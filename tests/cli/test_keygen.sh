#!/usr/bin/env bash
# csign keygen, checked with pkcs11-tool as an independent client.
. "$(dirname "$0")/lib.sh"

# key_attrs LABEL: pkcs11-tool's view of the private key LABEL.
key_attrs() {
    p11 --login --pin "$USER_PIN" -O --type privkey --label "$1" 2>/dev/null
}

check_key() { # check_key LABEL TYPE-WORDS
    local label=$1 want=$2
    key_attrs "$label" >"$CASE/attrs"
    grep -q "$want" "$CASE/attrs" || fail "$label: pkcs11-tool does not show '$want'"
    grep -q "Access: *sensitive, always sensitive, never extractable, local" "$CASE/attrs" ||
        fail "$label: access flags: $(grep Access "$CASE/attrs")"
    grep -q "Usage: *sign$" "$CASE/attrs" || fail "$label: usage: $(grep Usage "$CASE/attrs")"
    # The private value cannot be read: CKA_VALUE (0x11) for EC keys,
    # CKA_PRIVATE_EXPONENT (0x123) for RSA keys.
    local attr=0x11
    [ "$2" = RSA ] && attr=0x123
    [ "$("$CSIGN_P11PROBE" "$SOFTHSM_MODULE" "$USER_PIN" "$label" $attr)" = \
        CKR_ATTRIBUTE_SENSITIVE ] || fail "$label: private value readable"
}

t_keygen_each_type() {
    new_token dev
    for spec in "ec:p256 EC_POINT 256" "ec:p384 EC_POINT 384" "ec:p521 EC_POINT 521" \
        "rsa:2048 RSA 2048" "rsa:3072 RSA 3072"; do
        set -- $spec
        run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=k$2$3" --type "$1"
        expect_rc 0
        expect_out "type=private"
        check_key "k$2$3" "$([ "$2" = RSA ] && echo "RSA" || echo "EC")"
    done
    run csign list --json
    jq -e '[.tokens[0].keys[] | {l: .label, b: .bits}] | sort_by(.l) ==
        [{l:"kEC_POINT256",b:256},{l:"kEC_POINT384",b:384},{l:"kEC_POINT521",b:521},
         {l:"kRSA2048",b:2048},{l:"kRSA3072",b:3072}]' "$CASE/out" >/dev/null ||
        fail "list does not show the keys"
}

t_keygen_rsa4096() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=big" --type rsa:4096
    expect_rc 0
    check_key big RSA
    p11 -O --type pubkey --label big 2>/dev/null | grep -q "RSA 4096" || fail "not 4096 bits"
}

t_default_type_and_id_is_key_identifier() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=rel" \
        --pubout "$CASE/pub.pem"
    expect_rc 0
    openssl pkey -pubin -in "$CASE/pub.pem" -noout -text 2>/dev/null | grep -q "P-256" ||
        fail "default type is not P-256"
    # CKA_ID is the SHA-1 of the subjectPublicKey bits (RFC 5280), computed
    # here with openssl: the DER BIT STRING is at the end of the SPKI.
    openssl pkey -pubin -in "$CASE/pub.pem" -outform DER -out "$CASE/pub.der" 2>/dev/null
    want=$(tail -c 65 "$CASE/pub.der" | openssl sha1 -r | cut -d' ' -f1)
    run csign list --json
    jq -e --arg id "$want" '.tokens[0].keys[0].id == $id' "$CASE/out" >/dev/null ||
        fail "CKA_ID is not the key identifier $want"
    p11 -O --type pubkey 2>/dev/null | grep -qi "ID: *$want" || fail "pkcs11-tool ID differs"
}

t_explicit_id() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=a" --id 0a0b
    expect_rc 0
    expect_out "id=%0A%0B"
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=b;id=%0c"
    expect_rc 0
    expect_out "id=%0C"
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=c;id=%0c" --id 0d
    expect_rc 2
    expect_err "differ"
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=c" --id xyz
    expect_rc 2
    expect_err "hex digits"
}

t_duplicate_label_or_id_refused() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=rel" --id 01
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=rel" --id 02
    expect_rc 2
    expect_one_error_line keygen
    expect_err "already has an object with this label or id"
    expect_err "object=rel"
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=other" --id 01
    expect_rc 2
    expect_err "id=%01"
    [ "$(p11 -O --type pubkey 2>/dev/null | grep -c 'Public Key Object')" -eq 1 ] ||
        fail "a second key was made"
}

t_label_from_another_tool_refused() {
    new_token dev
    p11 --login --pin "$USER_PIN" --keypairgen --key-type EC:prime256v1 --label taken \
        --id 09 >/dev/null 2>&1 || fail "pkcs11-tool keygen"
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=taken"
    expect_rc 2
    expect_err "object=taken"
}

t_token_ignoring_template_is_caught() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_IGNORE_TEMPLATE=1 csign keygen \
        --key "pkcs11:token=dev;object=weak" --module "$CSIGN_SHIM"
    expect_rc 3
    expect_one_error_line keygen
    expect_err "did not honour the key template: CKA_SENSITIVE is false"
    expect_err "the key pair was deleted"
    # Nothing is left behind.
    [ -z "$(p11 --login --pin "$USER_PIN" -O 2>/dev/null)" ] || fail "objects left behind"
}

t_failed_delete_is_reported() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_IGNORE_TEMPLATE=1 CSIGN_SHIM_FAIL=C_DestroyObject=0x30 \
        csign keygen --key "pkcs11:token=dev;object=weak" --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "deleting the key pair failed (CKR_DEVICE_ERROR), so it is still on the token"
    expect_no_err "was deleted"
}

t_failed_id_update_leaves_nothing() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_SetAttributeValue=0x10 csign keygen \
        --key "pkcs11:token=dev;object=k" --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "does not let csign set the key's id"
    [ -z "$(p11 --login --pin "$USER_PIN" -O 2>/dev/null)" ] || fail "objects left behind"
}

t_generation_failure() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_GenerateKeyPair=0x30 csign keygen \
        --key "pkcs11:token=dev;object=k" --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "C_GenerateKeyPair on token 'dev' failed: CKR_DEVICE_ERROR"
}

t_rsa2048_warns() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=k" --type rsa:2048
    expect_rc 0
    expect_err "at least 3072 bits"
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=k2" --type rsa:3072
    expect_no_err "3072 bits"
}

t_label_with_nul_refused() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=a%00b"
    expect_rc 2
    expect_err "cannot contain a NUL byte"
}

t_bad_type_and_missing_label() {
    run csign keygen --key "pkcs11:token=dev;object=k" --type dsa:1024
    expect_rc 2
    expect_err "unknown key type 'dsa:1024'"
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev"
    expect_rc 2
    expect_err "needs object=LABEL"
    run csign keygen
    expect_rc 2
    expect_err "--key is required"
}

t_pubout_existing_refused_before_login() {
    new_token dev
    echo keep >"$CASE/pub.pem"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign keygen \
        --key "pkcs11:token=dev;object=k" --pubout "$CASE/pub.pem" --module "$CSIGN_SHIM"
    expect_rc 2
    expect_err "exists; use --force"
    [ "$(cat "$CASE/pub.pem")" = keep ] || fail "file replaced"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in before checking the output"
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=k" \
        --pubout "$CASE/pub.pem" --force
    expect_rc 0
    openssl pkey -pubin -in "$CASE/pub.pem" -noout || fail "not a public key"
}

t_software_token_noted() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=dev;object=k"
    expect_rc 0
    expect_err "software token"
}

# The read-back covers what the key must not do as well as what it must.
t_token_leaving_decrypt_on_is_caught() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_IGNORE_TEMPLATE=decrypt csign keygen \
        --key "pkcs11:token=dev;object=k" --module "$CSIGN_SHIM"
    expect_rc 3
    expect_one_error_line keygen
    expect_err "did not honour the key template: CKA_DECRYPT is true, expected false"
    expect_err "the key pair was deleted"
    [ -z "$(p11 --login --pin "$USER_PIN" -O 2>/dev/null)" ] || fail "objects left behind"
}

# A token without the key-pair mechanism is refused before anything is made.
t_token_without_keypair_mechanism() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG=$CASE/shim.log CSIGN_SHIM_FAIL=C_GetMechanismInfo=0x70 \
        csign keygen --key "pkcs11:token=dev;object=k" --type rsa:3072 --module "$CSIGN_SHIM"
    expect_rc 3
    expect_one_error_line keygen
    expect_err "token 'dev' cannot make rsa:3072 keys: it offers no RSA key-pair generation (CKM_RSA_PKCS_KEY_PAIR_GEN)"
    [ "$(count_calls C_GenerateKeyPair)" -eq 0 ] || fail "C_GenerateKeyPair was called"
}

t_curve_refused_by_token() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_GenerateKeyPair=0x140 csign keygen \
        --key "pkcs11:token=dev;object=k" --type ec:p384 --module "$CSIGN_SHIM"
    expect_rc 3
    expect_one_error_line keygen
    expect_err "token 'dev' cannot make ec:p384 keys: it does not offer the curve P-384 (CKR_CURVE_NOT_SUPPORTED)"
}

run_tests
