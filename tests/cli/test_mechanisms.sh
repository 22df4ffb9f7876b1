#!/usr/bin/env bash
# Login modes (CKA_ALWAYS_AUTHENTICATE, PIN pads), the token's signing
# mechanisms and raw CKA_EC_POINT values, through the fault-injecting shim.
. "$(dirname "$0")/lib.sh"

[ -n "$CSIGN_SHIM" ] && [ -r "$CSIGN_SHIM" ] || { echo "CSIGN_SHIM not built"; exit 1; }

KEY='pkcs11:token=dev;object=rel'

ossl_verify() {
    openssl cms -verify -binary -inform DER -in "$2" -content "$1" \
        -CAfile "$CASE/root.pem" -purpose any -out /dev/null 2>"$CASE/ossl.err"
}

files() { # files N: $CASE/f1..fN
    for i in $(seq 1 "$1"); do echo "file $i" >"$CASE/f$i"; done
}

logins() { grep '^C_Login' "$CASE/shim.log" | tr '\n' ',' ; }

# The PIN comes through a pipe on fd 3: it can be read once only.
t_always_auth_context_login_per_signature() {
    signing_key
    files 3
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_ALWAYS_AUTH=1 csign sign --module "$CSIGN_SHIM" \
        --pin-source fd:3 --key "$KEY" "$CASE/f1" "$CASE/f2" "$CASE/f3" 3< <(echo "$USER_PIN")
    expect_rc 0
    [ "$(logins)" = "C_Login user,C_Login context,C_Login context,C_Login context," ] ||
        fail "logins: $(logins)"
    for i in 1 2 3; do ossl_verify "$CASE/f$i" "$CASE/f$i.p7s" || fail "openssl rejects f$i"; done
}

t_always_auth_100_files_one_pin() {
    signing_key
    files 100
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_ALWAYS_AUTH=1 csign sign --module "$CSIGN_SHIM" \
        --pin-source fd:3 --key "$KEY" "$CASE"/f{1..100} 3< <(echo "$USER_PIN")
    expect_rc 0
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "user logins: $(count_calls 'C_Login user')"
    [ "$(count_calls 'C_Login context')" -eq 100 ] || fail "context logins"
}

t_always_auth_refused_context_login_not_retried() {
    signing_key
    files 3
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_ALWAYS_AUTH=1 CSIGN_SHIM_FAIL='C_Login@2=0xa0' \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --key "$KEY" \
        "$CASE/f1" "$CASE/f2" "$CASE/f3"
    expect_rc 3
    expect_err "the token could not sign"
    [ "$(count_calls 'C_Login context')" -eq 1 ] || fail "context login retried: $(logins)"
    [ ! -e "$CASE/f1.p7s" ] || fail "a signature was written"
}

t_pinpad_reads_no_pin_source() {
    signing_key
    files 2
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_TOKEN_FLAGS=0x100 CSIGN_SHIM_PINPAD_PIN=$USER_PIN \
        CSIGN_SHIM_ALWAYS_AUTH=1 csign sign --module "$CSIGN_SHIM" \
        --pin-source file:"$CASE/no-such-pin" --key "$KEY" "$CASE/f1" "$CASE/f2"
    expect_rc 0
    expect_err "on the reader's PIN pad"
    [ "$(logins)" = "C_Login user,C_Login context,C_Login context," ] || fail "logins: $(logins)"
}

# The mechanisms that hash on the token, CKM_SHA256_RSA_PKCS and its kin,
# come first: they get the whole signed attributes, not their hash, and
# work on tokens (tpm2-pkcs11) that sign a hash only with keys that may
# also decrypt.
t_rsa_through_hashing_mechanism() {
    signing_key rsa:2048
    files 1
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" \
        --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(grep -c '^C_SignInit' "$CASE/shim.log")" -eq 1 ] || fail "calls: $(grep C_SignInit "$CASE/shim.log")"
    [ "$(count_calls 'C_SignInit CKM_SHA256_RSA_PKCS')" -eq 1 ] || fail "not CKM_SHA256_RSA_PKCS"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
    run csign verify --trust "$CASE/root.pem" "$CASE/f1"
    expect_rc 0
}

# A token that offers nothing but the hashing mechanism passes the check.
t_rsa_token_with_only_hashing_mechanisms() {
    signing_key rsa:2048
    files 1
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_SHA256_RSA_PKCS CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_SHA256_RSA_PKCS')" -eq 1 ] || fail "not CKM_SHA256_RSA_PKCS"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
    # Certificates and requests too: the token gets the to-be-signed part.
    : >"$CASE/shim.log"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_SHA256_RSA_PKCS CSIGN_PIN=$USER_PIN \
        csign selfsign --module "$CSIGN_SHIM" --key "$KEY" --subject 'CN=Again' -o "$CASE/again.pem"
    expect_rc 0
    openssl verify -CAfile "$CASE/again.pem" "$CASE/again.pem" >/dev/null 2>&1 ||
        fail "openssl rejects the certificate"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_SHA256_RSA_PKCS CSIGN_PIN=$USER_PIN \
        csign csr --module "$CSIGN_SHIM" --key "$KEY" --subject 'CN=Req' -o "$CASE/req.pem"
    expect_rc 0
    openssl req -in "$CASE/req.pem" -verify -noout >/dev/null 2>&1 || fail "openssl rejects the CSR"
    [ "$(count_calls 'C_SignInit CKM_SHA256_RSA_PKCS')" -eq 2 ] || fail "$(cat "$CASE/shim.log")"
}

# Without a hashing mechanism, the hash goes to CKM_RSA_PKCS as a DigestInfo.
t_rsa_without_hashing_mechanism_signs_the_hash() {
    signing_key rsa:2048
    files 1
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_RSA_PKCS CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_RSA_PKCS')" -eq 1 ] || fail "not CKM_RSA_PKCS"
    [ "$(count_calls 'C_SignInit CKM_SHA256_RSA_PKCS')" -eq 0 ] || fail "used CKM_SHA256_RSA_PKCS"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

# The mechanism follows the digest: SHA-384 and SHA-512, given by
# --digest or with --digest-hex; a token without the one for the digest
# gets the hash.
t_rsa_hashing_mechanism_follows_the_digest() {
    signing_key rsa:3072
    files 3
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" \
        --digest sha384 --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_SHA384_RSA_PKCS')" -eq 1 ] || fail "not CKM_SHA384_RSA_PKCS"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
    run csign digest --digest sha512 "$CASE/f2"
    expect_rc 0
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" \
        --pss --digest-hex "$(cut -d' ' -f1 "$CASE/out")" --key "$KEY" -o "$CASE/f2.p7s"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_SHA512_RSA_PKCS_PSS')" -eq 1 ] || fail "not CKM_SHA512_RSA_PKCS_PSS"
    ossl_verify "$CASE/f2" "$CASE/f2.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
    : >"$CASE/shim.log"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_SHA256_RSA_PKCS,CKM_RSA_PKCS \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --digest sha384 --key "$KEY" "$CASE/f3"
    expect_rc 0
    [ "$(cat "$CASE/shim.log" | grep '^C_SignInit')" = "C_SignInit CKM_RSA_PKCS" ] ||
        fail "$(grep C_SignInit "$CASE/shim.log")"
    ossl_verify "$CASE/f3" "$CASE/f3.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

t_pss_through_hashing_mechanism() {
    signing_key rsa:2048
    files 1
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_SHA256_RSA_PKCS_PSS CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --pss --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_SHA256_RSA_PKCS_PSS')" -eq 1 ] || fail "not CKM_SHA256_RSA_PKCS_PSS"
    # RSASSA-PSS with SHA-256, MGF1 with SHA-256, a salt of 32 bytes.
    openssl cms -cmsout -print -inform DER -in "$CASE/f1.p7s" >"$CASE/print" || fail "cms -print"
    grep -q 'algorithm: rsassaPss' "$CASE/print" || fail "not RSASSA-PSS: $(cat "$CASE/print")"
    grep -A12 'algorithm: rsassaPss' "$CASE/print" | grep -q 'INTEGER *:20' ||
        fail "salt length is not 32: $(cat "$CASE/print")"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
    run csign verify --trust "$CASE/root.pem" "$CASE/f1"
    expect_rc 0
}

t_pss_through_token_pss() {
    signing_key rsa:2048
    files 1
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_RSA_PKCS,CKM_RSA_PKCS_PSS,CKM_RSA_X_509 \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --pss --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_RSA_PKCS_PSS')" -eq 1 ] || fail "not CKM_RSA_PKCS_PSS"
    [ "$(count_calls 'C_SignInit CKM_RSA_X_509')" -eq 0 ] || fail "used CKM_RSA_X_509"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

t_pss_falls_back_to_raw_rsa() {
    signing_key rsa:2048
    files 1
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_RSA_PKCS,CKM_RSA_X_509 \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --pss --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_RSA_X_509')" -eq 1 ] || fail "not CKM_RSA_X_509"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

# A key that needs the PIN before each signature, with the message
# going to the token, and a C_Sign that fails once and is tried again.
t_rsa_hashing_mechanism_context_login_and_retry() {
    signing_key rsa:2048
    files 2
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_ALWAYS_AUTH=1 csign sign --module "$CSIGN_SHIM" \
        --pin-source fd:3 --key "$KEY" "$CASE/f1" "$CASE/f2" 3< <(echo "$USER_PIN")
    expect_rc 0
    [ "$(logins)" = "C_Login user,C_Login context,C_Login context," ] || fail "logins: $(logins)"
    [ "$(count_calls 'C_SignInit CKM_SHA256_RSA_PKCS')" -eq 2 ] || fail "not CKM_SHA256_RSA_PKCS"
    for i in 1 2; do ossl_verify "$CASE/f$i" "$CASE/f$i.p7s" || fail "openssl rejects f$i"; done
    : >"$CASE/shim.log"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL="C_Sign@1=0x5" CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --force --key "$KEY" "$CASE/f1"
    expect_rc 0
    [ "$(count_calls 'C_SignInit CKM_SHA256_RSA_PKCS')" -eq 2 ] || fail "not retried: $(cat "$CASE/shim.log")"
    [ "$(count_calls C_OpenSession)" -eq 2 ] || fail "no new session for the retry"
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

# A token that refuses to sign a certificate or a request: exit 3 naming
# the call, and no file.
t_rsa_hashing_mechanism_failure_is_exit_3() {
    signing_key rsa:2048
    for cmd in selfsign csr; do
        run CSIGN_SHIM_FAIL="C_Sign=0x68" CSIGN_PIN=$USER_PIN csign "$cmd" --module "$CSIGN_SHIM" \
            --key "$KEY" --subject 'CN=x' -o "$CASE/$cmd.pem"
        expect_rc 3
        expect_one_error_line "$cmd"
        expect_err "C_Sign on token 'dev' failed: CKR_KEY_FUNCTION_NOT_PERMITTED"
        [ ! -e "$CASE/$cmd.pem" ] || fail "$cmd wrote a file"
    done
}

t_no_mechanism_refused_before_pin() {
    signing_key rsa:2048
    files 1
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MECHS=CKM_RSA_PKCS csign sign \
        --module "$CSIGN_SHIM" --pss --pin-source file:/nonexistent --key "$KEY" "$CASE/f1"
    expect_rc 3
    expect_one_error_line sign
    expect_err "token 'dev' offers no mechanism for RSASSA-PSS signing with SHA-256 (needs CKM_SHA256_RSA_PKCS_PSS, CKM_RSA_PKCS_PSS or CKM_RSA_X_509)"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in"
    run CSIGN_SHIM_MECHS=CKM_RSA_PKCS_PSS,CKM_SHA256_RSA_PKCS_PSS csign sign --module "$CSIGN_SHIM" \
        --pin-source file:/nonexistent --key "$KEY" "$CASE/f1"
    expect_rc 3
    expect_err "offers no mechanism for RSA PKCS#1 v1.5 signing with SHA-256 (needs CKM_SHA256_RSA_PKCS or CKM_RSA_PKCS)"
    run CSIGN_SHIM_MECHS=CKM_SHA256_RSA_PKCS csign sign --module "$CSIGN_SHIM" --digest sha512 \
        --pin-source file:/nonexistent --key "$KEY" "$CASE/f1"
    expect_rc 3
    expect_err "offers no mechanism for RSA PKCS#1 v1.5 signing with SHA-512 (needs CKM_SHA512_RSA_PKCS or CKM_RSA_PKCS)"
    # csr and selfsign check too (after the login they need to find the key).
    run CSIGN_SHIM_MECHS=CKM_ECDSA CSIGN_PIN=$USER_PIN csign csr --module "$CSIGN_SHIM" \
        --key "$KEY" --subject 'CN=x'
    expect_rc 3
    expect_one_error_line csr
    expect_err "offers no mechanism for RSA PKCS#1 v1.5 signing with SHA-256 (needs CKM_SHA256_RSA_PKCS or CKM_RSA_PKCS)"
}

t_no_ecdsa_refused_before_pin() {
    signing_key
    files 1
    run CSIGN_SHIM_MECHS=CKM_RSA_PKCS csign sign --module "$CSIGN_SHIM" \
        --pin-source file:/nonexistent --key "$KEY" "$CASE/f1"
    expect_rc 3
    expect_err "token 'dev' offers no mechanism for ECDSA signing (needs CKM_ECDSA)"
}

# A P-256 key whose X starts with 0x3f: raw, its point 04 3f ... looks like
# a DER OCTET STRING of 63 bytes.
TRICKY_KEY='-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgujuyZ1ORi9/SRo/T
mYcjhYVda/kG4kYM0R2shZYkbHyhRANCAAQ/hHsa2ZrK3msS4eMYPZRAi1EosqeE
PKXHdQoO1DiYY8rNDoJzB7eX9bBtSwpTsASgkjSQkFk1aAtGCg0uAi67
-----END PRIVATE KEY-----'

t_raw_ec_point_that_looks_like_der() {
    new_token dev
    printf '%s\n' "$TRICKY_KEY" >"$CASE/k.pem"
    openssl pkey -in "$CASE/k.pem" -pubout -out "$CASE/pub.pem" || fail "openssl pkey"
    for t in privkey:k pubkey:pub; do
        p11 --login --pin "$USER_PIN" --token-label dev --write-object "$CASE/${t#*:}.pem" \
            --type "${t%:*}" --id 01 --label rel >/dev/null 2>&1 || fail "pkcs11-tool $t"
    done
    run CSIGN_SHIM_RAW_EC_POINT=1 CSIGN_PIN=$USER_PIN csign selfsign --module "$CSIGN_SHIM" \
        --key "$KEY" --subject 'CN=Raw' --import -o "$CASE/root.pem"
    expect_rc 0
    files 1
    run CSIGN_SHIM_RAW_EC_POINT=1 CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" \
        --key "$KEY" "$CASE/f1"
    expect_rc 0
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

t_raw_ec_point_p521() {
    signing_key ec:p521
    files 1
    run CSIGN_SHIM_RAW_EC_POINT=1 CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" \
        --key "$KEY" "$CASE/f1"
    expect_rc 0
    ossl_verify "$CASE/f1" "$CASE/f1.p7s" || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

run_tests
