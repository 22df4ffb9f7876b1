#!/usr/bin/env bash
# Runs the shell blocks of docs/guide.md, in order, in a fresh HOME with only
# the PINs given (on standard input, as a person would type them).
. "$(dirname "$0")/lib.sh"

guide="$CSIGN_TESTS/../docs/guide.md"

t_guide_runs_as_written() {
    unset SOFTHSM2_CONF
    mkdir -p "$CASE/bin"
    ln -s "$CSIGN_BIN" "$CASE/bin/csign"
    awk '/^```sh$/{on=1; next} /^```$/{on=0} on' "$guide" >"$CASE/guide.sh"
    [ "$(grep -c '^csign ' "$CASE/guide.sh")" -ge 6 ] || fail "guide blocks not found"
    local pin=qzPIN-guide
    printf '%s\n%s\n' "$SO_PIN" "$pin" |
        PATH="$CASE/bin:$PATH" bash -euo pipefail "$CASE/guide.sh" >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    expect_secret_absent "$pin"
    expect_out "token 'release'"
    expect_out "key 'signing'"
    expect_out "sensitive, never extractable, generated on the token, can sign"
    expect_out "certificate 'signing'"
    expect_out "subject:    CN=Example Release Signing,O=Example Ltd,C=DE"
    expect_out "certificate 'Example Test CA' (authority)"
    expect_out "ext. usage: codeSigning"
    # The self-signed certificate of the development key is on the token too.
    run CSIGN_PIN=$pin csign list --json
    jq -e '[.tokens[0].certificates[].subject] | sort ==
        ["CN=Development Signing","CN=Example Release Signing,O=Example Ltd,C=DE",
         "CN=Example Test CA"]' "$CASE/out" >/dev/null || fail "certificates on the token"
    openssl verify -CAfile "$CASE/test-ca.pem" "$CASE/signing.pem" >/dev/null ||
        fail "the issued certificate does not chain to the test CA"
}

run_tests
