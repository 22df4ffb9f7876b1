#!/usr/bin/env bash
# Module calls that never return: --token-timeout (and CSIGN_TOKEN_TIMEOUT)
# ends the run with exit status 3 and a message naming the call and the
# token; SIGTERM and SIGINT end it at once, as the signal asks. Either way
# no signature and no temporary file stays behind. The fault-injecting
# module (tests/shim) hangs the calls; every run is bounded by timeout(1),
# with SIGKILL after SIGTERM (csign catches SIGTERM),
# so that a broken build fails instead of hanging, and the tests wait for
# the module's log, never for a fixed time.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=release'
SHIM_TIMEOUT_FILES="a b c d e"

# The files to sign, and a key (through the real module) to sign them with.
prepare() {
    [ -n "$CSIGN_SHIM" ] || fail "CSIGN_SHIM is not set"
    signing_key
    for f in $SHIM_TIMEOUT_FILES; do echo "$f" >"$CASE/$f"; done
}

# Neither a signature nor a temporary file is left.
expect_no_leftovers() {
    local left
    left=$(ls "$CASE" | grep -E '\.p7s|csign-tmp' || true)
    [ -z "$left" ] || fail "left behind: $left"
}

# wait_log LINE: waits until the shim logged LINE (a whole line); fails
# after 20 s.
wait_log() {
    for _ in $(seq 400); do
        grep -qx -- "$1" "$CASE/shim.log" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "the module never saw '$1'"
}

# sign_hung [VAR=value...] [csign options...]: signs the files through the
# shim, in the foreground; sets RC.
sign_hung() {
    local envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    local files=()
    for f in $SHIM_TIMEOUT_FILES; do files+=("$CASE/$f"); done
    env CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" "${envs[@]}" \
        timeout -k 5 30 "$CSIGN_BIN" sign --key "$KEY" --module "$CSIGN_SHIM" "$@" "${files[@]}" \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
}

# The message for CALL (shim log name) hanging, on token 'dev' or, before
# there is one, in the module.
where_of() {
    case $1 in
    C_Initialize) echo "in module '$CSIGN_SHIM'" ;;
    *) echo "on token 'dev'" ;;
    esac
}

t_timeout_ends_each_hung_call() {
    prepare
    for call in C_Initialize C_Login C_FindObjects C_Sign; do
        rm -f "$CASE/shim.log"
        sign_hung CSIGN_SHIM_HANG=$call --token-timeout 2
        expect_rc 3
        expect_err "csign: sign: $call $(where_of $call) did not return within 2 s; giving up"
        expect_one_error_line sign
        expect_no_leftovers
    done
}

t_timeout_removes_batch_temporaries() {
    # The third signature hangs while those of a and b wait, written, for
    # the batch to be committed.
    prepare
    local files=()
    for f in $SHIM_TIMEOUT_FILES; do files+=("$CASE/$f"); done
    CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_GATE="C_Sign@3:$CASE/never" \
        timeout -k 5 30 "$CSIGN_BIN" sign --key "$KEY" --module "$CSIGN_SHIM" --token-timeout 5 \
        "${files[@]}" >"$CASE/out" 2>"$CASE/err" </dev/null &
    local pid=$!
    # Until the third signature has started and the main thread has put
    # the first two aside.
    for _ in $(seq 400); do
        [ "$(count_calls C_Sign)" -ge 3 ] && [ "$(ls "$CASE" | grep -c csign-tmp)" -ge 2 ] && break
        sleep 0.05
    done
    [ "$(ls "$CASE" | grep -c csign-tmp)" -eq 2 ] || fail "expected 2 temporary files: $(ls "$CASE")"
    wait "$pid"
    RC=$?
    expect_rc 3
    expect_err "C_Sign on token 'dev' did not return within 5 s"
    expect_no_leftovers
}

t_signals_end_each_hung_call() {
    prepare
    local files=()
    for f in $SHIM_TIMEOUT_FILES; do files+=("$CASE/$f"); done
    for call in C_Initialize C_Login C_FindObjects C_Sign; do
        for sig in TERM INT; do
            local line=$call want=143
            [ "$call" = C_Login ] && line='C_Login user'
            [ "$sig" = INT ] && want=130
            rm -f "$CASE/shim.log"
            CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_HANG=$call \
                timeout -k 5 30 "$CSIGN_BIN" sign --key "$KEY" --module "$CSIGN_SHIM" \
                "${files[@]}" >"$CASE/out" 2>"$CASE/err" </dev/null &
            local runner=$!
            wait_log "$line"
            local pid
            pid=$(descendant_named "$runner" csign) || fail "csign is not running"
            kill -"$sig" "$pid"
            wait "$runner"
            RC=$?
            [ "$RC" -eq "$want" ] || fail "$call, SIG$sig: exit code $RC, expected $want"
            expect_err "interrupted while $call $(where_of $call) had not returned"
            expect_no_leftovers
        done
    done
}

t_signal_removes_batch_temporaries() {
    prepare
    local files=()
    for f in $SHIM_TIMEOUT_FILES; do files+=("$CASE/$f"); done
    CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_GATE="C_Sign@3:$CASE/never" \
        timeout -k 5 30 "$CSIGN_BIN" sign --key "$KEY" --module "$CSIGN_SHIM" \
        "${files[@]}" >"$CASE/out" 2>"$CASE/err" </dev/null &
    local runner=$!
    for _ in $(seq 400); do
        [ "$(count_calls C_Sign)" -ge 3 ] && break
        sleep 0.05
    done
    [ "$(ls "$CASE" | grep -c csign-tmp)" -eq 2 ] || fail "expected 2 temporary files: $(ls "$CASE")"
    local pid
    pid=$(descendant_named "$runner" csign) || fail "csign is not running"
    kill -TERM "$pid"
    wait "$runner"
    RC=$?
    expect_rc 143
    expect_err "interrupted while C_Sign on token 'dev' had not returned"
    expect_no_leftovers
}

t_timeout_from_environment() {
    prepare
    sign_hung CSIGN_SHIM_HANG=C_FindObjects CSIGN_TOKEN_TIMEOUT=1
    expect_rc 3
    expect_err "C_FindObjects on token 'dev' did not return within 1 s; giving up"
    # The option wins over the environment.
    sign_hung CSIGN_SHIM_HANG=C_FindObjects CSIGN_TOKEN_TIMEOUT=abc --token-timeout 2
    expect_rc 3
    expect_err "within 2 s"
    expect_no_leftovers
}

t_bad_timeout_is_a_usage_error() {
    prepare
    for v in 0 abc -1 1.5 '' 2s 86401 99999999999999999999; do
        run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
            --module "$CSIGN_SHIM" --token-timeout "$v" "$CASE/a"
        expect_rc 2
        expect_err "--token-timeout needs a whole number of seconds from 1 to 86400, not '$v'"
    done
    for v in 0 abc; do
        run CSIGN_TOKEN_TIMEOUT=$v CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign \
            list --module "$CSIGN_SHIM"
        expect_rc 2
        expect_err "CSIGN_TOKEN_TIMEOUT needs a whole number of seconds from 1 to 86400"
    done
    [ ! -e "$CASE/shim.log" ] || fail "the module was loaded"
    expect_no_leftovers
}

t_healthy_token_within_a_short_timeout() {
    prepare
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --module "$CSIGN_SHIM" --token-timeout 1 \
        "$CASE/a" "$CASE/b"
    expect_rc 0
    [ -s "$CASE/a.p7s" ] && [ -s "$CASE/b.p7s" ] || fail "not signed"
}

t_every_token_command_is_bounded() {
    prepare
    run CSIGN_SHIM_HANG=C_GetSlotList csign list --module "$CSIGN_SHIM" --token-timeout 1
    expect_rc 3
    expect_err "csign: list: C_GetSlotList in module '$CSIGN_SHIM' did not return within 1 s"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_HANG=C_GenerateKeyPair csign keygen \
        --key 'pkcs11:token=dev;object=new' --module "$CSIGN_SHIM" --token-timeout 1
    expect_rc 3
    expect_err "csign: keygen: C_GenerateKeyPair on token 'dev' did not return within 1 s"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_HANG=C_Sign csign csr --key "$KEY" \
        --subject CN=x -o "$CASE/x.csr" --module "$CSIGN_SHIM" --token-timeout 1
    expect_rc 3
    expect_err "csign: csr: C_Sign on token 'dev' did not return within 1 s"
    [ ! -e "$CASE/x.csr" ] || fail "request written"
    for cmd in list init-token keygen csr selfsign import-cert sign; do
        run csign "$cmd" --help
        expect_rc 0
        expect_out "--token-timeout SECONDS"
    done
}

t_pin_pad_login_is_bounded_and_says_so() {
    # CKF_PROTECTED_AUTHENTICATION_PATH: the reader takes the PIN; csign
    # says how long it waits.
    prepare
    sign_hung CSIGN_SHIM_TOKEN_FLAGS=0x100 CSIGN_SHIM_HANG=C_Login --token-timeout 2
    expect_rc 3
    expect_err "on the reader's PIN pad (csign waits 2 s at most)"
    expect_err "C_Login (PIN pad) on token 'dev' did not return within 2 s; giving up"
    expect_no_leftovers
}

run_tests
