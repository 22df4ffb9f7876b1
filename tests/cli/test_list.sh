#!/usr/bin/env bash
# csign list against real SoftHSM tokens populated with pkcs11-tool.
. "$(dirname "$0")/lib.sh"

# populate: an EC and an RSA key pair and a certificate for the EC key,
# all made by pkcs11-tool and openssl (csign's own keygen is not used).
populate() {
    p11 --login --pin "$USER_PIN" --keypairgen --key-type EC:prime256v1 --label eckey \
        --id 01 --sensitive >/dev/null 2>&1 || fail "pkcs11-tool EC keygen"
    p11 --login --pin "$USER_PIN" --keypairgen --key-type rsa:2048 --label rsakey \
        --id 02 --sensitive >/dev/null 2>&1 || fail "pkcs11-tool RSA keygen"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CASE/k.pem" \
        -subj "/CN=List Test/O=Example" -days 30 -addext extendedKeyUsage=codeSigning -addext basicConstraints=critical,CA:FALSE \
        -outform DER -out "$CASE/c.der" 2>/dev/null || fail "openssl req"
    p11 --login --pin "$USER_PIN" --write-object "$CASE/c.der" --type cert --id 01 \
        --label eckey >/dev/null 2>&1 || fail "pkcs11-tool write cert"
}

t_no_token_is_not_an_error() {
    run csign list
    expect_rc 0
    expect_err "no initialised token"
}

t_empty_token() {
    new_token dev
    run csign list
    expect_rc 0
    expect_out "token 'dev'"
    expect_out "software token"
    expect_out "uri:          pkcs11:"
    expect_out "token=dev"
    expect_out "(no public objects)"
}

t_populated_public_view() {
    new_token dev
    populate
    run csign list
    expect_rc 0
    expect_out "key 'eckey'"
    expect_out "key 'rsakey'"
    expect_out "EC P-256"
    expect_out "RSA 2048 bits"
    expect_out "id:         01"
    expect_out "not visible (use --login)"
    expect_out "certificate 'eckey'"
    expect_out "subject:    O=Example,CN=List Test"
    expect_out "ext. usage: codeSigning"
    # The certificate points at the key with its CKA_ID.
    grep -A6 "certificate 'eckey'" "$CASE/out" | grep "key:" | grep -q "id=%01" ||
        fail "certificate not linked to key id 01"
}

t_login_shows_private_attributes() {
    new_token dev
    populate
    run CSIGN_PIN=$USER_PIN csign list --login
    expect_rc 0
    expect_out "logged in"
    expect_out "sensitive, never extractable, generated on the token, can sign"
    expect_no_out "not visible"
}

t_key_uri_finds_the_key_with_pkcs11_tool() {
    new_token dev
    populate
    run csign list --json
    expect_rc 0
    uri=$(jq -r '.tokens[0].keys[] | select(.label=="eckey") | .uri' "$CASE/out")
    [[ $uri == pkcs11:*type=private* ]] || fail "key URI '$uri'"
    [[ $uri == *id=%01* ]] || fail "key URI lacks id: '$uri'"
    # Listing with the key's own URI shows that key only.
    run csign list "$uri"
    expect_rc 0
    expect_out "key 'eckey'"
    expect_no_out "key 'rsakey'"
}

t_json_parses_and_matches_schema() {
    new_token dev
    populate
    run CSIGN_PIN=$USER_PIN csign list --login --json
    expect_rc 0
    jq -e . "$CASE/out" >/dev/null || fail "not JSON"
    jq -e '.module.path | endswith("libsofthsm2.so")' "$CASE/out" >/dev/null || fail "module"
    jq -e '.tokens | length == 1' "$CASE/out" >/dev/null || fail "tokens"
    jq -e '.tokens[0] | .label == "dev" and .software == true and .logged_in == true
        and .pin_state == "ok" and .login_required == true' "$CASE/out" >/dev/null ||
        fail "token fields"
    jq -e '.tokens[0].keys | map(select(.label=="eckey"))[0] | .algorithm == "ec"
        and .curve == "P-256" and .bits == 256 and .id == "01" and .sensitive == true
        and .never_extractable == true and .extractable == false and .local == true
        and .sign == true and .has_private_key == true' "$CASE/out" >/dev/null ||
        fail "EC key fields"
    jq -e '.tokens[0].keys | map(select(.label=="rsakey"))[0] | .algorithm == "rsa"
        and .bits == 2048 and .curve == null' "$CASE/out" >/dev/null || fail "RSA key fields"
    jq -e '.tokens[0].certificates[0] | .subject == "O=Example,CN=List Test"
        and .extended_key_usage == ["codeSigning"] and .ca == false
        and (.key_uri | contains("id=%01")) and (.not_after | test("^[0-9-]+T[0-9:]+Z$"))
        and (.sha256 | length == 64)' "$CASE/out" >/dev/null || fail "certificate fields"
    # The fingerprint agrees with openssl's.
    want=$(openssl x509 -inform DER -in "$CASE/c.der" -noout -fingerprint -sha256 |
        sed 's/.*=//; s/://g' | tr A-F a-f)
    jq -e --arg f "$want" '.tokens[0].certificates[0].sha256 == $f' "$CASE/out" >/dev/null ||
        fail "fingerprint differs from openssl's"
}

t_json_without_login_has_nulls_for_private_attributes() {
    new_token dev
    populate
    run csign list --json
    expect_rc 0
    jq -e '.tokens[0].keys[0] | .sensitive == null and .has_private_key == false
        and .has_public_key == true' "$CASE/out" >/dev/null || fail "unknown attributes"
    jq -e '.tokens[0].logged_in == false' "$CASE/out" >/dev/null || fail "logged_in"
}

t_uri_matching_no_token_lists_candidates() {
    new_token dev
    run csign list 'pkcs11:token=nope'
    expect_rc 3
    expect_one_error_line list
    expect_err "no token matches 'pkcs11:token=nope'"
    expect_err "token=dev"
}

t_two_tokens_same_label() {
    new_token dup
    new_token dup
    # Listing may show both.
    run csign list 'pkcs11:token=dup'
    expect_rc 0
    [ "$(grep -c "^token 'dup'" "$CASE/out")" -eq 2 ] || fail "expected two tokens"
    # Logging in needs one token: the error lists both candidates.
    run CSIGN_PIN=$USER_PIN csign list --login 'pkcs11:token=dup'
    expect_rc 2
    expect_one_error_line list
    expect_err "matches 2 tokens"
    [ "$(grep -o '(slot-id=' "$CASE/err" | wc -l)" -eq 2 ] || fail "candidates not listed"
    # A serial picks one.
    serial=$(softhsm2-util --show-slots | awk '/Serial number:/ && $3 != "" {print $3}' |
        head -n 1)
    run CSIGN_PIN=$USER_PIN csign list --login "pkcs11:token=dup;serial=$serial"
    expect_rc 0
    [ "$(grep -c "^token 'dup'" "$CASE/out")" -eq 1 ] || fail "expected one token"
}

t_pin_value_in_uri_refused() {
    new_token dev
    for uri in 'pkcs11:token=dev?pin-value=secret77' 'pkcs11:token=dev?pin-value=se;cret77' \
        'pkcs11:token=dev?PIN-VALUE=secret77' 'pkcs11:pin-value=secret77' \
        'pkcs11:token=dev?module-path=/x&pin-value=secret77'; do
        run csign list "$uri"
        expect_rc 2
        expect_one_error_line list
        expect_err "pin-value"
        expect_err "process list"
        expect_secret_absent cret77
    done
}

t_unknown_uri_attribute_refused() {
    new_token dev
    run csign list 'pkcs11:tokn=dev'
    expect_rc 2
    expect_err "attribute csign does not know"
}

t_not_a_uri() {
    run csign list 'token=dev'
    expect_rc 2
    expect_err "is not a PKCS#11 URI"
}

t_two_uris_refused() {
    run csign list pkcs11:token=a pkcs11:token=b
    expect_rc 2
    expect_err "at most one"
}

t_label_with_control_characters_is_escaped() {
    new_token dev
    p11 --login --pin "$USER_PIN" --keypairgen --key-type EC:prime256v1 \
        --label "$(printf 'evil\nkey')" --id 03 >/dev/null 2>&1 || fail "keygen"
    run csign list
    expect_rc 0
    expect_out "key 'evil\\x0akey'"
    run csign list --json
    jq -e '.tokens[0].keys[0].label == "evil\nkey"' "$CASE/out" >/dev/null || fail "json label"
}

t_invalid_utf8_label_kept_in_json() {
    new_token dev
    p11 --login --pin "$USER_PIN" --keypairgen --key-type EC:prime256v1 \
        --label "$(printf 'bad\xffkey')" --id 04 >/dev/null 2>&1 || fail "keygen"
    run csign list --json
    expect_rc 0
    jq -e '.tokens[0].keys[0].label == "bad\\xffkey"' "$CASE/out" >/dev/null ||
        fail "label missing or not escaped"
    run csign list
    expect_out "key 'bad\xffkey'"
}

t_certificate_linked_when_filtered_by_type() {
    new_token dev
    populate
    run csign list --json 'pkcs11:token=dev;type=cert'
    expect_rc 0
    jq -e '.tokens[0].keys == [] and (.tokens[0].certificates[0].key_uri | contains("id=%01"))' \
        "$CASE/out" >/dev/null || fail "certificate not linked to its key"
}

t_uninitialised_store_token_not_listed() {
    new_token dev
    run csign list --json
    expect_rc 0
    jq -e '[.tokens[].label] == ["dev"]' "$CASE/out" >/dev/null || fail "uninitialised listed"
}

run_tests
