#!/usr/bin/env bash
# scripts/quickstart.sh in a fresh HOME, with the binary under test.
. "$(dirname "$0")/lib.sh"

quickstart="$CSIGN_TESTS/../scripts/quickstart.sh"

t_quickstart_in_fresh_home() {
    unset SOFTHSM2_CONF
    CSIGN_BIN="$CSIGN_BIN" bash "$quickstart" >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    expect_out "creating software token 'quickstart'"
    expect_out "+ csign 'keygen'"
    expect_out "+ csign 'sign'"
    expect_out "+ csign 'verify'"
    expect_out "OK $HOME/.local/share/csign/quickstart-demo.txt signed by CN=csign quickstart"
    expect_out "token 'quickstart'"
    expect_out "logged in"
    expect_out "certificate 'signing'"
    [ "$(stat -c %a "$HOME/.local/share/csign/quickstart.pin")" = 600 ] || fail "PIN file mode"
    # Running it again reuses the token.
    CSIGN_BIN="$CSIGN_BIN" bash "$quickstart" >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    expect_out "already exists"
    expect_no_out "+ csign 'keygen'"
    expect_out "+ csign 'sign'"
    expect_out "OK $HOME/.local/share/csign/quickstart-demo.txt signed by"
    expect_secret_absent "$(cat "$HOME/.local/share/csign/quickstart.pin")"
}

run_tests
