#!/usr/bin/env bash
# csr, selfsign and import-cert, checked with the openssl CLI and pkcs11-tool.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# A token with a csign key (or pass a pkcs11-tool option to make one there).
with_key() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type "${1:-ec:p256}"
    expect_rc 0
}

# make_ca DIR: a test CA made by the openssl CLI.
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" \
        -subj "/CN=Test CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign -out "$1/ca.pem" 2>/dev/null ||
        fail "openssl CA"
}

# issue CSR OUT: the test CA signs a request, keeping its extensions.
issue() {
    openssl x509 -req -in "$1" -CA "$CASE/ca.pem" -CAkey "$CASE/ca.key" -days 30 \
        -copy_extensions copy -out "$2" 2>/dev/null || fail "openssl x509 -req"
}

t_csr_verifies_with_openssl() {
    for type in ec:p256 ec:p384 ec:p521 rsa:3072; do
        setup_case
        with_key "$type"
        run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" \
            --subject 'CN=Example Release Signing,O=Example\, Ltd,C=DE' --email rel@example.com
        expect_rc 0
        cp "$CASE/out" "$CASE/req.pem"
        openssl req -in "$CASE/req.pem" -verify -noout 2>&1 | grep -q "verify OK" ||
            fail "$type: openssl req -verify"
        openssl req -in "$CASE/req.pem" -noout -text >"$CASE/text"
        grep -q 'Subject: C = DE, O = "Example, Ltd", CN = Example Release Signing' \
            "$CASE/text" || fail "$type: subject: $(grep Subject: "$CASE/text")"
        grep -A1 "Key Usage: critical" "$CASE/text" | grep -q "Digital Signature" ||
            fail "$type: keyUsage"
        grep -A1 "Extended Key Usage" "$CASE/text" | grep -q "Code Signing" || fail "$type: EKU"
        grep -q "email:rel@example.com" "$CASE/text" || fail "$type: SAN"
        case $type in
        ec:p384) grep -q "ecdsa-with-SHA384" "$CASE/text" || fail "P-384 not SHA-384" ;;
        ec:p521) grep -q "ecdsa-with-SHA512" "$CASE/text" || fail "P-521 not SHA-512" ;;
        rsa:*) grep -q "sha256WithRSAEncryption" "$CASE/text" || fail "RSA not PKCS#1 SHA-256" ;;
        *) grep -q "ecdsa-with-SHA256" "$CASE/text" || fail "P-256 not SHA-256" ;;
        esac
    done
}

t_csr_der_to_file_and_openssl_form() {
    with_key
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject '/C=DE/O=Example/CN=Rel' --der \
        -o "$CASE/req.der"
    expect_rc 0
    [ ! -s "$CASE/out" ] || fail "stdout not empty with -o"
    openssl req -inform DER -in "$CASE/req.der" -noout -subject | grep -q "C = DE, O = Example, CN = Rel" ||
        fail "subject"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=x' -o "$CASE/req.der"
    expect_rc 2
    expect_err "exists; use --force"
}

t_csr_no_email_no_san() {
    with_key
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Rel'
    expect_rc 0
    ! openssl req -in "$CASE/out" -noout -text | grep -q "Subject Alternative Name" ||
        fail "SAN without --email"
}

t_malformed_dn_refused_before_login() {
    with_key
    for dn in 'CN' 'CN=' 'FOO=bar' 'C=Germany' 'CN=a,,O=b' 'CN=#0102'; do
        run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign csr --key "$KEY" \
            --subject "$dn" --module "$CSIGN_SHIM"
        expect_rc 2
        expect_one_error_line csr
        expect_err "malformed DN"
    done
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in for a bad DN"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'FOO=bar'
    expect_err "unknown attribute type 'FOO'"
}

t_bad_email_refused() {
    with_key
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=x' --email 'not an address'
    expect_rc 2
    expect_err "is not an e-mail address"
}

t_key_not_found_lists_keys() {
    with_key
    run CSIGN_PIN=$USER_PIN csign csr --key 'pkcs11:token=dev;object=nope' --subject 'CN=x'
    expect_rc 3
    expect_one_error_line csr
    expect_err "no private key matches"
    expect_err "object=rel"
}

t_faulty_token_signature_caught() {
    with_key
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_CORRUPT_SIGNATURE=1 csign csr --key "$KEY" \
        --subject 'CN=x' --module "$CSIGN_SHIM"
    expect_rc 5
    expect_err "does not verify"
    [ ! -s "$CASE/out" ] || fail "a request was printed"
}

t_selfsign_extensions_and_signature() {
    for type in ec:p256 rsa:3072; do
        setup_case
        with_key "$type"
        run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Dev Signing,O=Example' \
            --days 10 -o "$CASE/cert.pem"
        expect_rc 0
        openssl x509 -in "$CASE/cert.pem" -noout -text >"$CASE/text"
        grep -q "Version: 3" "$CASE/text" || fail "not v3"
        grep -A1 "Basic Constraints: critical" "$CASE/text" | grep -q "CA:FALSE" || fail "BC"
        grep -A1 "Key Usage: critical" "$CASE/text" | grep -q "Digital Signature" || fail "KU"
        grep -A1 "Extended Key Usage" "$CASE/text" | grep -q "Code Signing" || fail "EKU"
        ski=$(grep -A1 "Subject Key Identifier" "$CASE/text" | tail -n 1 | tr -d ' ')
        aki=$(grep -A1 "Authority Key Identifier" "$CASE/text" | tail -n 1 | tr -d ' ' |
            sed 's/^keyid://')
        [ -n "$ski" ] && [ "$ski" = "$aki" ] || fail "SKI '$ski' AKI '$aki'"
        serial=$(openssl x509 -in "$CASE/cert.pem" -noout -serial | cut -d= -f2)
        [ "${#serial}" -eq 32 ] || fail "serial is not 16 bytes: $serial"
        # The signature verifies against its own key.
        openssl verify -check_ss_sig -CAfile "$CASE/cert.pem" "$CASE/cert.pem" >/dev/null ||
            fail "$type: signature does not verify"
        start=$(date -d "$(openssl x509 -in "$CASE/cert.pem" -noout -startdate | cut -d= -f2)" +%s)
        end=$(date -d "$(openssl x509 -in "$CASE/cert.pem" -noout -enddate | cut -d= -f2)" +%s)
        [ $((end - start)) -eq 864000 ] || fail "validity is not 10 days"
    done
}

t_selfsign_faulty_token_caught() {
    with_key
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_CORRUPT_SIGNATURE=1 csign selfsign --key "$KEY" \
        --subject 'CN=x' --import --module "$CSIGN_SHIM"
    expect_rc 5
    expect_err "does not verify"
    run csign list --json
    jq -e '.tokens[0].certificates == []' "$CASE/out" >/dev/null || fail "stored anyway"
}

t_selfsign_output_failure_leaves_token_unchanged() {
    with_key
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=x' --import \
        -o "$CASE/nodir/x.pem"
    expect_rc 4
    run csign list --json
    jq -e '.tokens[0].certificates == []' "$CASE/out" >/dev/null || fail "stored anyway"
}

t_selfsign_import_then_list() {
    with_key
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Dev Signing' --import
    expect_rc 0
    expect_out "BEGIN CERTIFICATE"
    expect_err "stored the certificate of key 'rel'"
    run csign list --json
    jq -e '.tokens[0].certificates[0] | .subject == "CN=Dev Signing" and .authority == false
        and (.key_uri | contains("object=rel"))' "$CASE/out" >/dev/null || fail "not listed"
    p11 -O --type cert 2>/dev/null | grep -q "label: *rel" || fail "pkcs11-tool sees no cert"
}

t_selfsign_bad_days() {
    run csign selfsign --key "$KEY" --subject 'CN=x' --days 0
    expect_rc 2
    expect_err "--days needs a number"
}

t_import_ca_issued_with_chain() {
    with_key
    make_ca "$CASE"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Release,O=Example' -o "$CASE/req.pem"
    expect_rc 0
    issue "$CASE/req.pem" "$CASE/cert.pem"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --chain "$CASE/ca.pem" "$CASE/cert.pem"
    expect_rc 0
    expect_err "stored the certificate of key 'rel'"
    expect_err "stored CA certificate 'Test CA'"
    run csign list --json
    jq -e '.tokens[0].certificates | length == 2' "$CASE/out" >/dev/null || fail "two certs"
    jq -e '.tokens[0].certificates | map(select(.authority)) | .[0].subject == "CN=Test CA"' \
        "$CASE/out" >/dev/null || fail "CA not stored as authority"
    jq -e '.tokens[0].certificates | map(select(.authority | not)) | .[0].subject ==
        "CN=Release,O=Example"' "$CASE/out" >/dev/null || fail "leaf"
    # pkcs11-tool sees both; the leaf has the key's id.
    p11 -O --type cert 2>/dev/null >"$CASE/p11"
    grep -q "label: *Test CA" "$CASE/p11" || fail "pkcs11-tool: no CA"
    keyid=$(jq -r '.tokens[0].keys[0].id' "$CASE/out")
    grep -A4 "label: *rel" "$CASE/p11" | grep -qi "ID: *$keyid" || fail "leaf id"
    # The stored leaf is byte for byte the one imported.
    p11 --read-object --type cert --label rel -o "$CASE/back.der" >/dev/null 2>&1
    openssl x509 -in "$CASE/cert.pem" -outform DER | cmp -s - "$CASE/back.der" ||
        fail "stored certificate differs"
}

t_import_same_again_is_noop_and_chain_not_duplicated() {
    with_key
    make_ca "$CASE"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Rel' -o "$CASE/req.pem"
    issue "$CASE/req.pem" "$CASE/cert.pem"
    openssl x509 -in "$CASE/cert.pem" -outform DER -out "$CASE/cert.der"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --chain "$CASE/ca.pem" "$CASE/cert.der"
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --chain "$CASE/ca.pem" "$CASE/cert.pem"
    expect_rc 0
    expect_err "already on the token; nothing to do"
    run csign list --json
    jq -e '.tokens[0].certificates | length == 2' "$CASE/out" >/dev/null || fail "duplicates"
}

t_import_different_needs_force() {
    with_key
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=One' --import
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Two' -o "$CASE/two.pem"
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" "$CASE/two.pem"
    expect_rc 2
    expect_err "already has a different certificate; use --force"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" "$CASE/two.pem" --force
    expect_rc 0
    expect_err "replacing the old one"
    run csign list --json
    jq -e '[.tokens[0].certificates[].subject] == ["CN=Two"]' "$CASE/out" >/dev/null ||
        fail "old certificate not replaced"
}

t_failed_import_leaves_nothing() {
    with_key
    make_ca "$CASE"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Rel' -o "$CASE/req.pem"
    issue "$CASE/req.pem" "$CASE/cert.pem"
    # The chain goes first; storing the certificate itself fails.
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_CreateObject@2=0x30 csign import-cert \
        --key "$KEY" --chain "$CASE/ca.pem" "$CASE/cert.pem" --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "what this import had stored was removed again"
    run csign list --json
    jq -e '.tokens[0].certificates == []' "$CASE/out" >/dev/null || fail "partial import left"
}

t_failed_replacement_is_repaired_by_force() {
    with_key
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=One' --import
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Two' -o "$CASE/two.pem"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_DestroyObject=0x30 csign import-cert \
        --key "$KEY" --force "$CASE/two.pem" --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "an old one remains"
    # Both are there now; the same import without --force is refused, not a no-op.
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" "$CASE/two.pem"
    expect_rc 2
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --force "$CASE/two.pem"
    expect_rc 0
    run csign list --json
    jq -e '[.tokens[0].certificates[].subject] == ["CN=Two"]' "$CASE/out" >/dev/null ||
        fail "not repaired"
}

t_chain_duplicates_stored_once() {
    with_key
    make_ca "$CASE"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Rel' -o "$CASE/req.pem"
    issue "$CASE/req.pem" "$CASE/cert.pem"
    cat "$CASE/ca.pem" "$CASE/ca.pem" >"$CASE/twice.pem"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --chain "$CASE/twice.pem" "$CASE/cert.pem"
    expect_rc 0
    run csign list --json
    jq -e '.tokens[0].certificates | length == 2' "$CASE/out" >/dev/null || fail "CA stored twice"
}

t_import_certificate_of_other_key_refused() {
    with_key
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$CASE/other.key" -subj "/CN=Other" -days 3 -out "$CASE/other.pem" 2>/dev/null
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" "$CASE/other.pem"
    expect_rc 5
    expect_one_error_line import-cert
    expect_err "is not that of key 'rel'"
    expect_err "nothing was stored"
    run csign list --json
    jq -e '.tokens[0].certificates == []' "$CASE/out" >/dev/null || fail "something stored"
}

t_broken_chain_block_refused() {
    with_key
    make_ca "$CASE"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Rel' -o "$CASE/req.pem"
    issue "$CASE/req.pem" "$CASE/cert.pem"
    { cat "$CASE/ca.pem"; printf -- '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'; } \
        >"$CASE/broken.pem"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --chain "$CASE/broken.pem" "$CASE/cert.pem"
    expect_rc 5
    expect_err "certificate 2 does not parse"
}

t_token_signing_failure_is_exit_3() {
    with_key
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_Sign=0x30 csign csr --key "$KEY" --subject 'CN=x' \
        --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "could not sign the request"
}

t_import_bad_inputs() {
    with_key
    echo "not a certificate" >"$CASE/junk"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" "$CASE/junk"
    expect_rc 5
    expect_err "holds no PEM or DER certificate"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" "$CASE/missing.pem"
    expect_rc 4
    make_ca "$CASE"
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Leaf' -o "$CASE/leaf.pem"
    # A leaf given as chain is refused before anything is stored.
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --chain "$CASE/leaf.pem" "$CASE/leaf.pem"
    expect_rc 5
    expect_err "is not a CA certificate"
    cat "$CASE/leaf.pem" "$CASE/ca.pem" >"$CASE/both.pem"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" "$CASE/both.pem"
    expect_rc 2
    expect_err "holds 2 certificates"
    run csign list --json
    jq -e '.tokens[0].certificates == []' "$CASE/out" >/dev/null || fail "something stored"
}

t_pkcs11_tool_key_works_with_all_commands() {
    new_token dev
    p11 --login --pin "$USER_PIN" --keypairgen --key-type EC:prime256v1 --label ext --id 42 \
        --sensitive >/dev/null 2>&1 || fail "pkcs11-tool keygen"
    local k='pkcs11:token=dev;object=ext'
    run CSIGN_PIN=$USER_PIN csign csr --key "$k" --subject 'CN=Ext' -o "$CASE/req.pem"
    expect_rc 0
    openssl req -in "$CASE/req.pem" -verify -noout 2>/dev/null || fail "csr"
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$k" --subject 'CN=Ext' -o "$CASE/self.pem"
    expect_rc 0
    openssl verify -check_ss_sig -CAfile "$CASE/self.pem" "$CASE/self.pem" >/dev/null || fail "selfsign"
    make_ca "$CASE"
    issue "$CASE/req.pem" "$CASE/cert.pem"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$k" --chain "$CASE/ca.pem" "$CASE/cert.pem"
    expect_rc 0
    run csign list --json
    jq -e '.tokens[0].certificates | map(select(.authority | not))[0].key_uri | contains("id=%42")' \
        "$CASE/out" >/dev/null || fail "certificate not stored with the key's id"
}

# Keys without a CKA_ID, as pkcs11-tool makes them without --id: each key's
# certificate is found by its public key, and replacing one key's
# certificate never touches another's.
t_keys_without_id_keep_their_own_certificates() {
    new_token dev
    for k in k1 k2; do
        p11 --token-label dev --login --pin "$USER_PIN" --keypairgen --key-type EC:prime256v1 \
            --label "$k" >/dev/null 2>&1 || fail "pkcs11-tool --keypairgen $k"
    done
    p11 --token-label dev --list-objects --type pubkey 2>/dev/null | grep -q "ID:" &&
        fail "pkcs11-tool gave the keys an id"
    for k in k1 k2; do
        run CSIGN_PIN=$USER_PIN csign selfsign --key "pkcs11:token=dev;object=$k" \
            --subject "CN=$k" --import -o "$CASE/$k.pem"
        expect_rc 0
    done
    run CSIGN_PIN=$USER_PIN csign selfsign --key 'pkcs11:token=dev;object=k1' \
        --subject 'CN=k1 renewed' -o "$CASE/k1new.pem"
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign import-cert --key 'pkcs11:token=dev;object=k1' --force \
        "$CASE/k1new.pem"
    expect_rc 0
    p11 --token-label dev --list-objects --type cert >"$CASE/certs" 2>/dev/null
    [ "$(grep -c '^Certificate Object' "$CASE/certs")" -eq 2 ] || fail "not two certificates left"
    # Each key signs with its own certificate; openssl checks the signer.
    echo data >"$CASE/f"
    for k in k1 k2; do
        run CSIGN_PIN=$USER_PIN csign sign --key "pkcs11:token=dev;object=$k" -o "$CASE/f.$k.p7s" \
            "$CASE/f"
        expect_rc 0
    done
    openssl cms -cmsout -print -inform DER -in "$CASE/f.k2.p7s" | grep -q "CN=k2" ||
        fail "k2 signed without its own certificate"
    openssl cms -cmsout -print -inform DER -in "$CASE/f.k1.p7s" | grep -q "CN=k1 renewed" ||
        fail "k1 signed without its new certificate"
    run csign list
    expect_rc 0
    expect_out "CN=k2"
}

run_tests
