#!/usr/bin/env bash
# csign init-token, checked with pkcs11-tool as an independent client.
. "$(dirname "$0")/lib.sh"

t_fresh_home_init_then_list() {
    unset SOFTHSM2_CONF
    # Letters no serial can hold: the PINs are looked for in the output.
    local pin=home-Pin-q so=home-So-Pin-q
    run CSIGN_PIN=$pin CSIGN_SO_PIN=$so csign init-token --label dev
    expect_rc 0
    expect_out "pkcs11:"
    expect_out "token=dev"
    expect_err "initialised software token 'dev'"
    expect_secret_absent "$pin"
    expect_secret_absent "$so"
    run CSIGN_PIN=$pin csign list --login
    expect_rc 0
    expect_out "token 'dev'"
    expect_out "logged in"
    # The token lives in csign's store, where pkcs11-tool sees it too.
    export SOFTHSM2_CONF=$HOME/.local/share/csign/softhsm2.conf
    p11 -L >"$CASE/p11" 2>&1 || fail "pkcs11-tool -L"
    grep -q "token label *: dev" "$CASE/p11" || fail "pkcs11-tool does not see the token"
    grep -q "PIN initialized" "$CASE/p11" || fail "user PIN not initialised"
    p11 --login --pin "$pin" --token-label dev -O >/dev/null 2>&1 ||
        fail "pkcs11-tool cannot log in with the new user PIN"
    # The SO PIN works: pkcs11-tool resets the user PIN with it.
    p11 --login --login-type so --so-pin "$so" --token-label dev --init-pin \
        --new-pin 4321 >/dev/null 2>&1 || fail "pkcs11-tool cannot log in with the new SO PIN"
    p11 --login --pin 4321 --token-label dev -O >/dev/null 2>&1 || fail "reset user PIN"
}

t_existing_label_needs_force() {
    new_token dev
    p11 --login --pin "$USER_PIN" --keypairgen --key-type EC:prime256v1 --label k --id 01 \
        >/dev/null 2>&1 || fail "keygen"
    run CSIGN_PIN=4321 CSIGN_SO_PIN=$SO_PIN csign init-token --label dev
    expect_rc 2
    expect_one_error_line init-token
    expect_err "token 'dev' already exists"
    expect_err "--force"
    run CSIGN_PIN=4321 CSIGN_SO_PIN=$SO_PIN csign init-token --label dev --force
    expect_rc 0
    run CSIGN_PIN=4321 csign list --login
    expect_rc 0
    expect_out "token 'dev'"
    expect_no_out "key 'k'"
}

t_force_with_wrong_so_pin() {
    new_token dev
    run CSIGN_PIN=4321 CSIGN_SO_PIN=87654321 csign init-token --label dev --force
    expect_rc 3
    expect_err "SO PIN rejected"
    expect_secret_absent 87654321
}

t_force_refused_when_so_pin_locked_or_final() {
    new_token dev
    run CSIGN_PIN=4321 CSIGN_SO_PIN=$SO_PIN CSIGN_SHIM_TOKEN_FLAGS=0x400000 \
        CSIGN_SHIM_LOG="$CASE/shim.log" csign init-token --label dev --force --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "SO PIN of token 'dev' is locked"
    run CSIGN_PIN=4321 CSIGN_SO_PIN=$SO_PIN CSIGN_SHIM_TOKEN_FLAGS=0x200000 \
        CSIGN_SHIM_LOG="$CASE/shim.log" csign init-token --label dev --force --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "one more SO PIN try"
    [ "$(count_calls C_InitToken)" -eq 0 ] || fail "tried the SO PIN"
    run CSIGN_PIN=4321 CSIGN_SO_PIN=$SO_PIN CSIGN_SHIM_TOKEN_FLAGS=0x200000 \
        csign init-token --label dev --force --pin-final-try --module "$CSIGN_SHIM"
    expect_rc 0
}

t_user_pin_failure_after_init_is_explained() {
    run CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN CSIGN_SHIM_FAIL=C_InitPIN=0x5 \
        csign init-token --label dev --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "was initialised but has no user PIN"
    expect_err "--force"
}

t_second_token_goes_to_free_slot() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN csign init-token --label ci
    expect_rc 0
    run csign list --json
    jq -e '[.tokens[].label] | sort == ["ci","dev"]' "$CASE/out" >/dev/null || fail "tokens"
}

t_pin_sources_for_both_pins() {
    printf '%s\n' "$SO_PIN" >"$CASE/so"
    chmod 600 "$CASE/so"
    run NEWPIN=5555 csign init-token --label dev --so-pin-source "file:$CASE/so" \
        --pin-source env:NEWPIN
    expect_rc 0
    p11 --login --pin 5555 --token-label dev -O >/dev/null 2>&1 || fail "user PIN"
}

t_label_too_long() {
    run CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN csign init-token \
        --label "$(printf 'x%.0s' $(seq 33))"
    expect_rc 2
    expect_err "1 to 32 bytes"
}

t_label_required() {
    run csign init-token
    expect_rc 2
    expect_err "--label is required"
}

t_no_so_pin_source_without_terminal() {
    CSIGN_PIN=$USER_PIN setsid -w "$CSIGN_BIN" init-token --label dev \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 2
    expect_err "no SO PIN source"
    expect_err "--so-pin-source"
}

t_short_pin_refused() {
    run CSIGN_PIN=12 CSIGN_SO_PIN=$SO_PIN csign init-token --label dev
    expect_rc 3
    expect_err "user PIN must have"
    run csign list --json
    jq -e '.tokens == []' "$CASE/out" >/dev/null || fail "a token was made anyway"
}

t_init_failure_reported() {
    run CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN CSIGN_SHIM_FAIL=C_InitToken=0x5 \
        csign init-token --label dev --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "cannot initialise the token"
}

t_prompted_pins_confirmed() {
    tty_dialog "'$CSIGN_BIN' init-token --label dev" "$SO_PIN" "$SO_PIN" zqzq zqzq
    expect_rc 0
    expect_out "New SO PIN for token 'dev':"
    expect_out "Repeat to confirm:"
    ! grep -q zqzq "$CASE/out" || fail "PIN echoed"
    ! grep -q "$SO_PIN" "$CASE/out" || fail "SO PIN echoed"
    p11 --login --pin zqzq --token-label dev -O >/dev/null 2>&1 || fail "user PIN"
}

# While init-token waits for a person to type, other csign processes on the
# module are not held up: each prompt, another process lists the module.
t_prompts_let_go_of_the_turn() {
    TTY_HOOK="'$CSIGN_BIN' list --token-timeout 5 >/dev/null 2>>'$CASE/list.err'; \
        echo \$? >>'$CASE/list.rc'" \
        tty_dialog "'$CSIGN_BIN' init-token --label dev" "$SO_PIN" "$SO_PIN" 7777 7777
    expect_rc 0
    [ "$(wc -l <"$CASE/list.rc")" -eq 4 ] || fail "list ran $(wc -l <"$CASE/list.rc") times, not 4"
    ! grep -qv '^0$' "$CASE/list.rc" || fail "list waited for init-token: $(cat "$CASE/list.err")"
}

t_prompted_pins_must_match() {
    # Asked three times, then refused.
    tty_dialog "'$CSIGN_BIN' init-token --label dev" "$SO_PIN" 11112222 "$SO_PIN" 11112222 \
        "$SO_PIN" 11112222
    expect_rc 3
    expect_out "the two PINs entered differ"
}

run_tests
