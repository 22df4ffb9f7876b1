#!/usr/bin/env bash
# Choosing and loading the PKCS#11 module, and module failures.
. "$(dirname "$0")/lib.sh"

t_missing_module() {
    run csign list --module "$CASE/nope.so"
    expect_rc 3
    expect_one_error_line list
    expect_err "cannot load PKCS#11 module '$CASE/nope.so'"
}

t_not_a_pkcs11_module() {
    lib=$(ldconfig -p | awk '/libjansson.so.4 /{print $NF; exit}')
    [ -n "$lib" ] || fail "no libjansson to test with"
    run csign list --module "$lib"
    expect_rc 3
    expect_err "is not a PKCS#11 module"
}

t_initialize_failure() {
    run CSIGN_SHIM_FAIL=C_Initialize=0x6 csign list --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "failed to initialise: C_Initialize failed: CKR_FUNCTION_FAILED"
}

t_initialize_already_done_is_not_finalised() {
    new_token dev
    # The shim answers CKR_CRYPTOKI_ALREADY_INITIALIZED without initialising
    # SoftHSM behind it: csign must go on (the slot list then fails) and must
    # not finalise a module it did not initialise.
    run CSIGN_SHIM_FAIL=C_Initialize=0x191 CSIGN_SHIM_LOG="$CASE/shim.log" csign list \
        --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "C_GetSlotList in module '$CSIGN_SHIM' failed: CKR_CRYPTOKI_NOT_INITIALIZED"
    [ "$(count_calls C_Finalize)" -eq 0 ] || fail "finalised a module csign did not initialise"
    run CSIGN_SHIM_LOG="$CASE/shim2.log" csign list --module "$CSIGN_SHIM"
    expect_rc 0
    [ "$(grep -cx C_Finalize "$CASE/shim2.log")" -eq 1 ] || fail "own module not finalised"
}

t_empty_module_path_refused() {
    run csign list --module ''
    expect_rc 2
    expect_err "the module path is empty"
    run csign list 'pkcs11:token=dev?module-path='
    expect_rc 2
    expect_err "the module path is empty"
}

t_slot_list_failure() {
    run CSIGN_SHIM_FAIL=C_GetSlotList=0x30 csign list --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "C_GetSlotList in module '$CSIGN_SHIM' failed: CKR_DEVICE_ERROR"
}

t_csign_module_env() {
    new_token dev
    run CSIGN_MODULE="$CSIGN_SHIM" CSIGN_SHIM_LOG="$CASE/shim.log" csign list
    expect_rc 0
    [ "$(count_calls C_Initialize)" -eq 1 ] || fail "CSIGN_MODULE not used"
}

t_option_beats_env() {
    new_token dev
    run CSIGN_MODULE="$CASE/nope.so" csign list --module "$SOFTHSM_MODULE"
    expect_rc 0
    expect_out "token 'dev'"
}

t_uri_module_path() {
    new_token dev
    run CSIGN_MODULE="$CASE/nope.so" csign list "pkcs11:token=dev?module-path=$SOFTHSM_MODULE"
    expect_rc 0
    expect_out "token 'dev'"
    run csign list --module "$CSIGN_SHIM" "pkcs11:token=dev?module-path=$SOFTHSM_MODULE"
    expect_rc 2
    expect_err "differ"
}

t_hardware_slot_shown() {
    new_token dev
    run CSIGN_SHIM_SLOT_FLAGS=0x4 csign list --module "$CSIGN_SHIM"
    expect_rc 0
    expect_out "kind:         hardware token"
    run CSIGN_SHIM_SLOT_FLAGS=0x4 csign list --json --module "$CSIGN_SHIM"
    jq -e '.tokens[0].software == false' "$CASE/out" >/dev/null || fail "json software"
}

t_token_info_failure() {
    new_token dev
    run CSIGN_SHIM_FAIL=C_GetTokenInfo=0x30 csign list --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "C_GetTokenInfo failed: CKR_DEVICE_ERROR"
}

t_removed_token_is_skipped() {
    new_token dev
    run CSIGN_SHIM_FAIL=C_GetTokenInfo=0xe0 csign list --module "$CSIGN_SHIM"
    expect_rc 0
    expect_no_out "token 'dev'"
}

t_session_failure() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_OpenSession=0x32 csign list --login \
        --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "no longer present"
}

t_session_retried_when_token_not_recognized() {
    new_token dev
    # SoftHSM's transient answer while another process writes the token.
    run CSIGN_SHIM_FAIL=C_OpenSession@1=0xe1 csign list --module "$CSIGN_SHIM"
    expect_rc 0
    expect_out "token 'dev'"
}

t_default_store_is_used_without_configuration() {
    unset SOFTHSM2_CONF
    run csign list
    expect_rc 0
    [ -f "$HOME/.local/share/csign/softhsm2.conf" ] || fail "no config written"
    [ "$(stat -c %a "$HOME/.local/share/csign")" = 700 ] || fail "store folder not 0700"
    grep -qx "directories.tokendir = $HOME/.local/share/csign/tokens" \
        "$HOME/.local/share/csign/softhsm2.conf" || fail "config does not point at the store"
}

t_default_store_follows_xdg_data_home() {
    unset SOFTHSM2_CONF
    run XDG_DATA_HOME="$CASE/xdg" csign list
    expect_rc 0
    [ -f "$CASE/xdg/csign/softhsm2.conf" ] || fail "XDG_DATA_HOME ignored"
    [ ! -e "$HOME/.local/share/csign" ] || fail "store also made under HOME"
}

t_user_softhsm_conf_respected() {
    new_token mine
    run csign list
    expect_rc 0
    expect_out "token 'mine'"
    [ ! -e "$HOME/.local/share/csign" ] || fail "csign made its own store despite SOFTHSM2_CONF"
}

# A store whose configuration cannot be flushed: a clear I/O error, no
# half-written or temporary file left (and, under the sanitizers, nothing
# leaked on the way out).
t_default_store_config_flush_failure() {
    unset SOFTHSM2_CONF
    run_fsfault 'fsync=EIO:softhsm2.conf' csign list
    expect_rc 4
    expect_one_error_line list
    expect_err "cannot write '$HOME/.local/share/csign/softhsm2.conf': Input/output error"
    [ -z "$(ls -A "$HOME/.local/share/csign" | grep -v '^tokens$')" ] || fail "file left behind"
    run csign list
    expect_rc 0
}

run_tests
