#!/usr/bin/env bash
# csign sign --sessions N: one login, N sessions signing at once, the same
# outputs as one session; sessions counted at the token through the shim.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# shim_sign ARGS...: csign sign through the logging shim over SoftHSM.
shim_sign() {
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" "$@"
}

# files N: N small files f1..fN in $CASE/in.
files() {
    mkdir -p "$CASE/in"
    for i in $(seq "$1"); do echo "file $i" >"$CASE/in/f$i"; done
}

ossl_verify() {
    openssl cms -verify -binary -inform DER -in "$2" -content "$1" -CAfile "$CASE/root.pem" \
        -purpose any -out /dev/null 2>/dev/null
}

# What a signature says, less its signing time and signature value.
content() {
    openssl cms -inform DER -in "$1" -cmsout -print |
        sed '/UTCTIME/d; /^        signature: $/,/unsignedAttrs/d'
}

t_same_outputs_as_one_session() {
    signing_key rsa:2048
    files 40
    mkdir "$CASE/one" "$CASE/four"
    shim_sign --json --out-dir "$CASE/one" "$CASE"/in/f*
    expect_rc 0
    jq 'del(.files[].signature)' "$CASE/out" >"$CASE/one.json"
    shim_sign --json --sessions 4 --out-dir "$CASE/four" "$CASE"/in/f*
    expect_rc 0
    jq 'del(.files[].signature)' "$CASE/out" >"$CASE/four.json"
    # The report: the same records in the same order.
    cmp -s "$CASE/one.json" "$CASE/four.json" || fail "the reports differ"
    [ "$(jq '.files | length' "$CASE/four.json")" -eq 40 ] || fail "not 40 records"
    for i in $(seq 40); do
        ossl_verify "$CASE/in/f$i" "$CASE/four/f$i.p7s" || fail "f$i.p7s does not verify"
        [ "$(content "$CASE/one/f$i.p7s")" = "$(content "$CASE/four/f$i.p7s")" ] ||
            fail "f$i.p7s differs from the one-session signature"
    done
    # The text report too, in the files' order.
    shim_sign --force --sessions 3 --out-dir "$CASE/four" "$CASE"/in/f*
    expect_rc 0
    for f in "$CASE"/in/f*; do echo "signed $f -> $CASE/four/$(basename "$f").p7s"; done \
        >"$CASE/want"
    cmp -s "$CASE/want" "$CASE/out" || fail "text report not in the files' order"
}

t_sessions_opened_and_one_login() {
    signing_key
    files 20
    shim_sign --sessions 4 "$CASE"/in/f*
    expect_rc 0
    [ "$(count_calls C_OpenSession)" -eq 4 ] || fail "$(count_calls C_OpenSession) sessions opened"
    [ "$(count_calls C_CloseSession)" -eq 4 ] || fail "not every session closed"
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "not one login"
    [ "$(count_calls C_Sign)" -eq 20 ] || fail "$(count_calls C_Sign) signatures"
    for i in $(seq 20); do ossl_verify "$CASE/in/f$i" "$CASE/in/f$i.p7s" || fail "f$i"; done
    # One session by default; never more sessions than files.
    rm "$CASE/shim.log"
    shim_sign --force "$CASE"/in/f*
    expect_rc 0
    [ "$(count_calls C_OpenSession)" -eq 1 ] || fail "default: $(count_calls C_OpenSession)"
    rm "$CASE/shim.log"
    shim_sign --force --sessions 8 "$CASE"/in/f1 "$CASE"/in/f2
    expect_rc 0
    [ "$(count_calls C_OpenSession)" -eq 2 ] || fail "2 files: $(count_calls C_OpenSession)"
}

t_signatures_overlap() {
    signing_key
    files 8
    # The first signature waits at the token until the test lets it go:
    # with 8 sessions the other 7 reach the token meanwhile; with one
    # session none would.
    CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_GATE="C_Sign@1:$CASE/go" \
        "$CSIGN_BIN" sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 8 "$CASE"/in/f* \
        >"$CASE/out" 2>"$CASE/err" </dev/null &
    local pid=$! n=0
    for _ in $(seq 600); do
        n=$(count_calls C_Sign)
        [ "$n" -ge 8 ] && break
        sleep 0.1
    done
    touch "$CASE/go"
    wait "$pid"
    RC=$?
    expect_rc 0
    [ "$n" -eq 8 ] || fail "only $n signatures under way at once"
    for i in $(seq 8); do ossl_verify "$CASE/in/f$i" "$CASE/in/f$i.p7s" || fail "f$i"; done
}

t_token_allows_fewer_sessions() {
    signing_key
    files 10
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_MAX_SESSIONS=3 \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 8 "$CASE"/in/f*
    expect_rc 0
    expect_err "signing on 3 sessions, not 8: token 'dev' allows 2 more sessions"
    [ "$(count_calls C_OpenSession)" -eq 3 ] || fail "$(count_calls C_OpenSession) opened"
    [ "$(ls "$CASE"/in/*.p7s | wc -l)" -eq 10 ] || fail "not all signed"
    # A token that refuses the third session: two, with a note.
    rm "$CASE/shim.log" "$CASE"/in/*.p7s
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL='C_OpenSession@3=0xB1' \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 4 "$CASE"/in/f*
    expect_rc 0
    expect_err "signing on 2 sessions, not 4: token 'dev' refused session 3: CKR_SESSION_COUNT"
    for i in $(seq 10); do ossl_verify "$CASE/in/f$i" "$CASE/in/f$i.p7s" || fail "f$i"; done
}

t_failed_session_retried_on_another() {
    signing_key
    files 12
    # The 5th signature fails on its session (not a failure worth a retry
    # there): that session is closed and the file signed on another.
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL='C_Sign@5=0xB3' \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 3 "$CASE"/in/f*
    expect_rc 0
    [ "$(count_calls C_Sign)" -eq 13 ] || fail "$(count_calls C_Sign) C_Sign calls"
    [ "$(count_calls C_CloseSession)" -eq 3 ] || fail "sessions not all closed once"
    for i in $(seq 12); do ossl_verify "$CASE/in/f$i" "$CASE/in/f$i.p7s" || fail "f$i"; done
    # A token that fails every signature: each file is tried on a second
    # session once at most, then fails; nothing is written.
    rm "$CASE"/in/*.p7s "$CASE/shim.log"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL='C_Sign=0xB3' \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 3 "$CASE"/in/f*
    expect_rc 3
    expect_err "12 of 12 files failed"
    expect_err "CKR_SESSION_HANDLE_INVALID"
    [ "$(count_calls C_Sign)" -le 14 ] || fail "$(count_calls C_Sign) C_Sign calls"
    ! ls "$CASE"/in/ | grep -q p7s || fail "a signature was written"
}

t_fail_fast_stops_all_sessions() {
    signing_key
    files 30
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL='C_Sign@3=0xB3' \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 1 --fail-fast "$CASE"/in/f*
    expect_rc 3
    local one
    one=$(ls "$CASE"/in/*.p7s 2>/dev/null | wc -l)
    rm -f "$CASE"/in/*.p7s
    # With 4 sessions and every signature failing: the first file, tried
    # on a second session, stops the run; what other sessions signed
    # meanwhile is neither written nor reported.
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL='C_Sign=0xB3' \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 4 --fail-fast "$CASE"/in/f*
    expect_rc 3
    # (The shim's injected failure leaves the operation open, so the second
    # session may answer CKR_OPERATION_ACTIVE instead: either way, one file.)
    [ "$(grep -c ': the token could not sign: ' "$CASE/err")" -eq 1 ] || fail "not one file reported"
    expect_err "1 of 30 files failed"
    ! ls "$CASE"/in/ | grep -q p7s || fail "a signature was written"
    [ "$one" -eq 2 ] || fail "one session: $one signatures before the failure"
    [ -z "$(find "$CASE/in" -name '.*' -type f)" ] || fail "temporary files left"
}

t_context_login_on_each_session() {
    signing_key
    files 9
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_ALWAYS_AUTH=1 \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" --sessions 3 "$CASE"/in/f*
    expect_rc 0
    [ "$(count_calls 'C_Login context')" -eq 9 ] || fail "$(count_calls 'C_Login context') logins"
    [ "$(count_calls C_OpenSession)" -eq 3 ] || fail "not 3 sessions"
    for i in $(seq 9); do ossl_verify "$CASE/in/f$i" "$CASE/in/f$i.p7s" || fail "f$i"; done
}

t_sessions_option_and_setting() {
    for bad in 0 65 x ""; do
        run csign sign --key "$KEY" --sessions "$bad" a
        expect_rc 2
        expect_err "--sessions needs a number from 1 to 64"
    done
    signing_key
    files 6
    printf '[default]\nsessions = 3\n' >"$CASE/conf"
    chmod 600 "$CASE/conf"
    run CSIGN_CONFIG="$CASE/conf" csign config sign
    expect_rc 0
    expect_out "sessions = 3"
    run CSIGN_PIN=$USER_PIN CSIGN_CONFIG="$CASE/conf" CSIGN_SHIM_LOG="$CASE/shim.log" \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" "$CASE"/in/f*
    expect_rc 0
    [ "$(count_calls C_OpenSession)" -eq 3 ] || fail "setting not used"
}

run_tests
