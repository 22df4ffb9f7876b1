#!/usr/bin/env bash
# Busy tokens and many jobs on one token: transient failures are retried
# (and shown with -v), the failing call and its CKR code are named, a wrong
# PIN or a failed login is never retried, keygen runs that race for one
# label leave one key, and many csign processes on one SoftHSM token all
# succeed.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=release'
CKR_GENERAL_ERROR=0x5
CKR_DEVICE_ERROR=0x30
CKR_TOKEN_NOT_RECOGNIZED=0xe1

# A C_Sign that fails once is tried again on a new session; -v shows it.
t_transient_sign_failure_is_retried() {
    signing_key
    echo one >"$CASE/a"
    echo two >"$CASE/b"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL="C_Sign@1=$CKR_GENERAL_ERROR" \
        CSIGN_PIN=$USER_PIN csign -v sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a" "$CASE/b"
    expect_rc 0
    expect_err "C_Sign on token 'dev' failed: CKR_GENERAL_ERROR; trying again in"
    expect_err "(retry 1 of 4)"
    [ "$(count_calls C_Sign)" -eq 3 ] || fail "C_Sign calls: $(count_calls C_Sign), expected 3"
    [ "$(count_calls C_OpenSession)" -eq 2 ] || fail "no new session for the retry"
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "logged in again"
    for f in a b; do
        openssl cms -verify -binary -inform DER -in "$CASE/$f.p7s" -content "$CASE/$f" \
            -CAfile "$CASE/root.pem" -purpose any -out /dev/null 2>/dev/null ||
            fail "openssl rejects $f.p7s"
    done
}

# Without -v the retry is silent; the run succeeds.
t_retry_is_quiet_without_v() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_FAIL="C_FindObjects@1=$CKR_GENERAL_ERROR,C_OpenSession@1=$CKR_DEVICE_ERROR" \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 0
    expect_no_err "trying again"
    [ -s "$CASE/a.p7s" ] || fail "no signature"
}

# A C_Sign that keeps failing: tried five times, then the call and its CKR
# code are named, exit 3, and nothing is written.
t_persistent_sign_failure_names_the_call() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL="C_Sign=$CKR_DEVICE_ERROR" \
        CSIGN_PIN=$USER_PIN csign -vvv sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "csign: sign: $CASE/a: the token could not sign: C_Sign on token 'dev' failed: CKR_DEVICE_ERROR"
    expect_err "1 of 1 files failed"
    expect_no_err "engine" # nothing unrelated from OpenSSL's error queue
    [ "$(count_calls C_Sign)" -eq 5 ] || fail "C_Sign calls: $(count_calls C_Sign), expected 5"
    [ ! -e "$CASE/a.p7s" ] || fail "a signature was written"
}

# A failure that cannot pass is not retried.
t_lasting_failure_is_not_retried() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL="C_Sign=0x68" \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "C_Sign on token 'dev' failed: CKR_KEY_FUNCTION_NOT_PERMITTED"
    [ "$(count_calls C_Sign)" -eq 1 ] || fail "C_Sign retried"
}

# A key handle the token does not know is not signed with again: the same
# handle on a new session would fail the same way.
t_unknown_key_handle_is_not_retried() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL="C_SignInit=0x82" \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "C_SignInit on token 'dev' failed: CKR_OBJECT_HANDLE_INVALID"
    local inits
    inits=$(grep -c '^C_SignInit ' "$CASE/shim.log")
    [ "$inits" -eq 1 ] || fail "C_SignInit called $inits times"
    [ ! -e "$CASE/a.p7s" ] || fail "a signature was written"
}

# A login that fails, even in a way that may pass, is never tried again:
# C_Login is called once for one PIN.
t_login_is_never_retried() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL="C_Login=$CKR_GENERAL_ERROR" \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "login to token 'dev' failed: C_Login failed: CKR_GENERAL_ERROR"
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "C_Login called $(count_calls 'C_Login user') times"
    run CSIGN_SHIM_LOG="$CASE/shim2.log" CSIGN_PIN=9999 csign sign --module "$CSIGN_SHIM" \
        --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "PIN rejected by token 'dev'"
    [ "$(grep -cx 'C_Login user' "$CASE/shim2.log")" -eq 1 ] || fail "a wrong PIN was retried"
}

# An attribute read that keeps failing is the error, not "no key matches".
t_attribute_failure_is_not_no_key() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_FAIL="C_GetAttributeValue=$CKR_DEVICE_ERROR" CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "C_GetAttributeValue on token 'dev' failed: CKR_DEVICE_ERROR"
    expect_no_err "no private key matches"
    expect_no_err "no key matches"
}

# A token the module cannot read is never met with advice to create one.
t_unreadable_token_gets_no_init_token_advice() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_FAIL="C_GetTokenInfo=$CKR_TOKEN_NOT_RECOGNIZED" CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "has no initialised token it can read"
    expect_err "CKR_TOKEN_NOT_RECOGNIZED"
    expect_no_err "init-token"
    run CSIGN_SHIM_FAIL="C_GetTokenInfo=$CKR_TOKEN_NOT_RECOGNIZED" csign list --module "$CSIGN_SHIM"
    expect_rc 0
    expect_err "no initialised token the module can read (2 slot(s) answered CKR_TOKEN_NOT_RECOGNIZED)"
    expect_no_err "init-token"
    # A token that says it is not initialised does get the advice.
    run CSIGN_SHIM_TOKEN_FLAGS_CLEAR=0x400 CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "create one with 'csign init-token"
}

# An unknown card in another slot costs no retries: the token named is
# found at the first look.
t_unknown_card_beside_the_token_costs_no_retries() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_UNKNOWN_CARD=1 CSIGN_PIN=$USER_PIN \
        csign -v sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 0
    expect_no_err "trying again"
    [ "$(count_calls C_Finalize)" -eq 1 ] || fail "the module was loaded again"
    run CSIGN_SHIM_UNKNOWN_CARD=1 csign list --module "$CSIGN_SHIM"
    expect_rc 0
    expect_out "token 'dev'"
}

# A token another process is rewriting looks uninitialised for a moment
# (SoftHSM): the look that finds the token named is taken again, and the
# token is not reported missing while the list in the message shows it.
t_token_being_rewritten_is_looked_at_again() {
    signing_key
    echo one >"$CASE/a"
    run CSIGN_SHIM_REWRITING=1 CSIGN_PIN=$USER_PIN \
        csign -v sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 0
    expect_err "trying again"
    openssl cms -verify -binary -inform DER -in "$CASE/a.p7s" -content "$CASE/a" -noverify \
        -out /dev/null 2>/dev/null || fail "openssl cannot verify the signature"
    # Longer than the retries last: the token is reported as not there.
    run CSIGN_SHIM_REWRITING=1000 CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" -o "$CASE/b.p7s" "$CASE/a"
    expect_rc 3
    expect_err "create one with 'csign init-token"
}

# The token named is unreadable at the first look while another token is
# initialised: the other one is no answer, and the look is taken again.
t_token_named_unreadable_beside_another_is_looked_at_again() {
    new_token other
    signing_key
    echo one >"$CASE/a"
    # C_GetTokenInfo goes through the slots in order: the Nth call asks for 'dev'.
    local n
    n=$(p11 -L 2>/dev/null | awk '/^Slot /{s++} /token label *: *dev *$/{print s; exit}')
    [ -n "$n" ] || fail "no slot of token 'dev' in pkcs11-tool -L"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" -o "$CASE/plain.p7s" "$CASE/a"
    expect_rc 0
    local looks
    looks=$(count_calls C_GetTokenInfo)
    rm "$CASE/shim.log"
    run CSIGN_SHIM_LOG="$CASE/shim.log" \
        CSIGN_SHIM_FAIL="C_GetTokenInfo@$n=$CKR_TOKEN_NOT_RECOGNIZED" CSIGN_PIN=$USER_PIN \
        csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/a"
    expect_rc 0
    [ -s "$CASE/a.p7s" ] || fail "no signature"
    # The failure fell on 'dev': the slots were looked at again.
    [ "$(count_calls C_GetTokenInfo)" -gt "$looks" ] ||
        fail "no second look ($(count_calls C_GetTokenInfo) C_GetTokenInfo calls, $looks without the failure)"
}

# The retry line shows a token label's control characters as '?'.
t_retry_line_escapes_the_label() {
    softhsm2-util --init-token --free --label $'ev\e[2Jil' --so-pin "$SO_PIN" --pin "$USER_PIN" \
        >/dev/null || fail "softhsm2-util"
    run CSIGN_SHIM_FAIL="C_OpenSession@1=$CKR_GENERAL_ERROR" CSIGN_PIN=$USER_PIN \
        csign -v keygen --module "$CSIGN_SHIM" --key 'pkcs11:token=ev%1B%5B2Jil;object=k'
    expect_rc 0
    expect_err "C_OpenSession on token 'ev?[2Jil' failed"
    ! grep -q $'\e' "$CASE/err" || fail "an escape character reached stderr"
}

# privkeys LABEL: how many private keys with that label the token holds
# (pkcs11-tool, an independent client).
privkeys() {
    p11 --login --pin "$USER_PIN" --list-objects --type privkey 2>/dev/null |
        grep -c "label: *$1\$" || true
}

# Four keygen runs racing for one label: one makes the key, the others
# stop with the clash error, and the token holds one key of that label.
t_racing_keygens_leave_one_key() {
    new_token dev
    for r in 1 2 3 4 5; do
        for i in 1 2 3 4; do
            CSIGN_PIN=$USER_PIN "$CSIGN_BIN" keygen --key "pkcs11:token=dev;object=same$r" \
                >"$CASE/k$r.$i.out" 2>"$CASE/k$r.$i.err" </dev/null &
        done
        local ok=0 clash=0 rc pid
        for pid in $(jobs -p); do
            wait "$pid" && rc=0 || rc=$?
            [ "$rc" -eq 0 ] && ok=$((ok + 1))
        done
        clash=$(grep -l "already has an object with this label or id" "$CASE"/k$r.*.err | wc -l)
        [ "$ok" -eq 1 ] || fail "round $r: $ok keygen runs succeeded, expected 1: $(cat "$CASE"/k$r.*.err)"
        [ "$clash" -eq 3 ] || fail "round $r: $clash runs gave the clash error, expected 3: $(cat "$CASE"/k$r.*.err)"
        [ "$(privkeys "same$r")" -eq 1 ] || fail "round $r: $(privkeys "same$r") keys labelled same$r"
    done
}

# wait_logged FILE LINE: waits (30 s at most) until the shim logged LINE.
wait_logged() {
    for _ in $(seq 1 300); do
        grep -qx -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "the shim never logged $2"
}

# A keygen that finds, after generating, another key with its label (made
# at the same moment from another machine sharing the token, where the
# lock does not reach) gives way: it deletes its own key pair and exits
# with the clash error.
t_keygen_that_lost_the_race_deletes_its_key() {
    new_token dev
    run CSIGN_SHIM_FIND_DOUBLE=1 CSIGN_PIN=$USER_PIN csign keygen --module "$CSIGN_SHIM" \
        --key 'pkcs11:token=dev;object=same'
    expect_rc 2
    expect_err "another process made one at the same time; the key pair was deleted"
    [ "$(privkeys same)" -eq 0 ] || fail "the key pair was left on the token"
    p11 --list-objects --type pubkey 2>/dev/null | grep -q "label: *same$" &&
        fail "the public key was left on the token"
    return 0
}

# A keygen lock held by another process is waited for, at most the token
# timeout.
t_keygen_waits_for_the_lock_at_most_the_timeout() {
    new_token dev
    CSIGN_SHIM_LOG="$CASE/gate.log" CSIGN_SHIM_GATE="C_GenerateKeyPair@1:$CASE/go" \
        CSIGN_PIN=$USER_PIN "$CSIGN_BIN" keygen --module "$CSIGN_SHIM" \
        --key 'pkcs11:token=dev;object=first' >/dev/null 2>&1 </dev/null &
    local first=$!
    wait_logged "$CASE/gate.log" C_GenerateKeyPair # it holds the lock
    run CSIGN_PIN=$USER_PIN csign -v keygen --token-timeout 1 --module "$CSIGN_SHIM" \
        --key 'pkcs11:token=dev;object=second'
    expect_rc 3
    expect_err "csign: waiting for another csign process using module '$CSIGN_SHIM'"
    expect_err "waiting for another csign process using module '$CSIGN_SHIM': another csign process held the lock for 1 s"
    touch "$CASE/go"
    wait "$first" || fail "the first keygen failed"
    run CSIGN_PIN=$USER_PIN csign keygen --module "$CSIGN_SHIM" --key 'pkcs11:token=dev;object=second'
    expect_rc 0
}

# A lock folder that others may write is not used; keygen goes on without.
t_lock_folder_others_may_write_is_not_used() {
    new_token dev
    mkdir -m 0777 "$CASE/open" "$CASE/open/csign"
    chmod 0777 "$CASE/open/csign"
    run XDG_RUNTIME_DIR="$CASE/open" CSIGN_PIN=$USER_PIN csign -v keygen \
        --key 'pkcs11:token=dev;object=k'
    expect_rc 0
    [ -z "$(ls -A "$CASE/open/csign")" ] || fail "a lock file was made in a folder others can write"
    # The lock lives in /tmp/csign-UID instead (or nowhere, said with -v).
    run XDG_RUNTIME_DIR="$CASE/open" CSIGN_PIN=$USER_PIN csign -v list --login
    expect_rc 0
}

# 16 csign processes each signing 20 files, and a keygen, at once on one
# SoftHSM token, ten times: every process succeeds and every signature
# verifies. Prints the figures.
t_sixteen_signers_and_a_keygen_ten_times() {
    signing_key
    local round p f procs=0 failed=0 unverified=0 retries=0 files=0
    for round in $(seq 1 10); do
        for p in $(seq 1 16); do
            mkdir -p "$CASE/r$round/p$p"
            for f in $(seq 1 20); do echo "round $round process $p file $f" >"$CASE/r$round/p$p/f$f"; done
        done
        local -A errs=()
        for p in $(seq 1 16); do
            CSIGN_PIN=$USER_PIN "$CSIGN_BIN" -v sign --key "$KEY" "$CASE/r$round/p$p"/f* \
                >"$CASE/r$round/p$p.out" 2>"$CASE/r$round/p$p.err" </dev/null &
            errs[$!]=$CASE/r$round/p$p.err
        done
        CSIGN_PIN=$USER_PIN "$CSIGN_BIN" -v keygen --key "pkcs11:token=dev;object=k$round" \
            >"$CASE/r$round/keygen.out" 2>"$CASE/r$round/keygen.err" </dev/null &
        errs[$!]=$CASE/r$round/keygen.err
        for pid in "${!errs[@]}"; do
            procs=$((procs + 1))
            wait "$pid" && continue
            failed=$((failed + 1))
            echo "    ${errs[$pid]#"$CASE/"}: $(grep -v 'software token' "${errs[$pid]}" | tail -1)" >&2
        done
    done
    retries=$(cat "$CASE"/r*/*.err | grep -c "trying again in" || true)
    for round in $(seq 1 10); do
        for p in $(seq 1 16); do
            run csign verify --trust "$CASE/root.pem" "$CASE/r$round/p$p"/f? "$CASE/r$round/p$p"/f??
            [ "$RC" -eq 0 ] || { unverified=$((unverified + 1)); echo "    round $round process $p: $(tail -1 "$CASE/r$round/p$p.err")" >&2; }
            files=$((files + $(ls "$CASE/r$round/p$p"/*.p7s 2>/dev/null | wc -l)))
        done
        openssl cms -verify -binary -inform DER -in "$CASE/r$round/p1/f1.p7s" \
            -content "$CASE/r$round/p1/f1" -CAfile "$CASE/root.pem" -purpose any \
            -out /dev/null 2>/dev/null || fail "openssl rejects a signature of round $round"
    done
    echo "    $procs processes, $files files signed, $failed failures, $retries retries"
    [ "$failed" -eq 0 ] || fail "$failed of $procs processes failed"
    [ "$unverified" -eq 0 ] || fail "the signatures of $unverified processes do not verify"
    [ "$files" -eq 3200 ] || fail "$files signatures, expected 3200"
    [ "$(privkeys 'k[0-9]*')" -eq 10 ] || fail "the keygen runs did not make 10 keys"
}

run_tests
