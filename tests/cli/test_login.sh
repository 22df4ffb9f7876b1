#!/usr/bin/env bash
# PIN sources and the one login per run, checked through the fault-injecting
# shim module that wraps SoftHSM and records every C_Login.
. "$(dirname "$0")/lib.sh"

[ -n "$CSIGN_SHIM" ] && [ -r "$CSIGN_SHIM" ] || { echo "CSIGN_SHIM not built"; exit 1; }

# shim_list [VAR=value...] [csign args...]: csign list --login through the shim.
shim_list() {
    run CSIGN_SHIM_LOG="$CASE/shim.log" "$@"
}

pin_file() { # pin_file MODE CONTENT
    printf '%b' "$2" >"$CASE/pin"
    chmod "$1" "$CASE/pin"
}

t_env_pin_logs_in_once() {
    new_token dev
    shim_list CSIGN_PIN=$USER_PIN csign list --login --module "$CSIGN_SHIM"
    expect_rc 0
    expect_out "logged in"
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "C_Login calls: $(count_calls 'C_Login user')"
}

t_wrong_pin_exit_3_one_attempt() {
    new_token dev
    shim_list CSIGN_PIN=wrong-Pin-q csign list --login --module "$CSIGN_SHIM"
    expect_rc 3
    expect_one_error_line list
    expect_err "PIN rejected by token 'dev'"
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "C_Login calls: $(count_calls 'C_Login user')"
    expect_secret_absent wrong-Pin-q
}

# The PINs have letters no serial, slot number or hex field can hold.
t_pin_absent_from_output_at_vv() {
    local pin=vv-Pin-q
    new_token dev "$pin"
    run CSIGN_PIN=$pin csign -vv list --login
    expect_rc 0
    expect_err "logging in to token 'dev'"
    expect_secret_absent "$pin"
    run CSIGN_PIN=Zq98765 csign list -vv --login --json
    expect_rc 3
    expect_secret_absent Zq98765
    pin_file 600 "$pin\n"
    run csign list -vv --login --pin-source "file:$CASE/pin"
    expect_rc 0
    expect_secret_absent "$pin"
}

t_pin_file_loose_permissions_refused() {
    new_token dev
    for mode in 640 604 660; do
        pin_file $mode "$USER_PIN\n"
        shim_list csign list --login --module "$CSIGN_SHIM" --pin-source "file:$CASE/pin"
        expect_rc 3
        expect_one_error_line list
        expect_err "is accessible by group or others"
        expect_err "chmod 600"
        [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in with a loose PIN file"
    done
}

t_pin_file_trailing_newline_stripped() {
    new_token dev
    pin_file 600 "$USER_PIN\n"
    run csign list --login --pin-source "file:$CASE/pin"
    expect_rc 0
    pin_file 400 "$USER_PIN\r\n"
    run csign list --login --pin-source "file:$CASE/pin"
    expect_rc 0
    pin_file 600 "$USER_PIN"
    run csign list --login --pin-source "file:$CASE/pin"
    expect_rc 0
}

t_pin_file_two_newlines_keeps_one() {
    new_token dev
    pin_file 600 "$USER_PIN\n\n"
    run csign list --login --pin-source "file:$CASE/pin"
    expect_rc 3
    expect_err "PIN rejected"
}

t_pin_file_missing_is_io_error() {
    new_token dev
    run csign list --login --pin-source "file:$CASE/nope"
    expect_rc 4
    expect_err "cannot open PIN file"
}

t_pin_from_descriptor() {
    new_token dev
    printf '%s\n' "$USER_PIN" >"$CASE/pin"
    "$CSIGN_BIN" list --login --pin-source fd:3 3<"$CASE/pin" >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    expect_out "logged in"
}

t_pin_source_in_uri() {
    new_token dev
    pin_file 600 "$USER_PIN\n"
    run csign list --login "pkcs11:token=dev?pin-source=file:$CASE/pin"
    expect_rc 0
    expect_out "logged in"
}

t_option_beats_uri_pin_source() {
    new_token dev
    pin_file 600 "0000\n"
    run CSIGN_PIN=$USER_PIN csign list --login --pin-source env:CSIGN_PIN \
        "pkcs11:token=dev?pin-source=file:$CASE/pin"
    expect_rc 0
}

t_uri_pin_source_command_refused() {
    new_token dev
    run csign list --login 'pkcs11:token=dev?pin-source=%7c/bin/echo'
    expect_rc 2
    expect_err "runs a command"
}

t_env_source_named_variable() {
    new_token dev
    run MY_PIN=$USER_PIN csign list --login --pin-source env:MY_PIN
    expect_rc 0
    run csign list --login --pin-source env:NOT_SET_ANYWHERE
    expect_rc 3
    expect_err "environment variable NOT_SET_ANYWHERE is not set"
}

t_empty_pin_refused_before_login() {
    new_token dev
    shim_list CSIGN_PIN= csign list --login --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "empty PIN"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in with an empty PIN"
}

t_pin_length_outside_token_range_not_tried() {
    new_token dev
    shim_list CSIGN_PIN=123 csign list --login --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "outside what token 'dev' accepts"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "tried a PIN of bad length"
}

t_overlong_pin_refused() {
    new_token dev
    run CSIGN_PIN="$(head -c 300 /dev/zero | tr '\0' 7)" csign list --login
    expect_rc 3
    expect_err "longer than 256 bytes"
}

t_bad_pin_source_syntax() {
    # What was given is never repeated: it may be a PIN typed in the wrong place.
    for spec in 4711x env:4711x fd:4711x prompt:4711x; do
        run csign list --login --pin-source "$spec"
        expect_rc 2
        expect_one_error_line list
        expect_secret_absent 4711x
    done
    run csign list --login --pin-source fd:1
    expect_rc 2
    expect_err "cannot be standard output or error"
}

t_pin_file_of_another_user_refused() {
    new_token dev
    pin_file 600 "$USER_PIN\n"
    chown nobody "$CASE/pin" || fail "chown"
    run csign list --login --pin-source "file:$CASE/pin"
    expect_rc 3
    expect_err "belongs to another user"
}

t_pin_fifo_with_loose_mode_refused() {
    new_token dev
    mkfifo -m 666 "$CASE/fifo"
    run csign list --login --pin-source "file:$CASE/fifo"
    expect_rc 3
    expect_err "accessible by group or others"
}

t_pin_from_process_substitution() {
    new_token dev
    "$CSIGN_BIN" list --login --pin-source file:<(printf '%s\n' "$USER_PIN") \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 0
    expect_out "logged in"
}

t_login_without_login_required_flag() {
    new_token dev
    # Private objects need a login even where the token does not require one.
    shim_list CSIGN_PIN=$USER_PIN CSIGN_SHIM_TOKEN_FLAGS_CLEAR=0x4 csign list --login \
        --module "$CSIGN_SHIM"
    expect_rc 0
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "no login"
    expect_out "logged in"
}

t_no_pin_source_without_terminal() {
    new_token dev
    # setsid: no controlling terminal, so there is nowhere to prompt.
    setsid -w "$CSIGN_BIN" list --login >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 2
    expect_one_error_line list
    expect_err "no PIN source"
    expect_err "CSIGN_PIN"
    expect_err "--pin-source"
}

t_prompt_on_terminal_without_echo() {
    new_token dev qZpin4
    tty_dialog "'$CSIGN_BIN' list --login" qZpin4
    expect_rc 0
    expect_out "PIN for token 'dev':"
    expect_out "logged in"
    ! grep -q qZpin4 "$CASE/out" || fail "the PIN was echoed"
}

# The token's PIN state is read again after the prompt: a PIN left at its
# final try while the person typed is not used.
t_final_try_after_prompt_not_used() {
    new_token dev qZpin4
    local flags="$CASE/flags"
    TTY_HOOK="echo 0x20000 >'$flags'" tty_dialog "CSIGN_SHIM_LOG='$CASE/shim.log' \
        CSIGN_SHIM_TOKEN_FLAGS_FILE='$flags' '$CSIGN_BIN' list --login --module '$CSIGN_SHIM'" qZpin4
    expect_rc 3
    expect_out "PIN for token 'dev':"
    expect_out "one more PIN try"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "used the final try"
}

t_interrupted_prompt_restores_echo() {
    new_token dev
    # A shell on the terminal runs csign, then reports the echo setting.
    cat >"$CASE/probe.sh" <<PROBE
"$CSIGN_BIN" list --login
echo "status=\$?"
stty -a | tr ' ' '\n' | grep -x -e echo -e -echo
PROBE
    coproc TTY { exec script -qefc "sh '$CASE/probe.sh'" /dev/null 2>&1; }
    local pid=$TTY_PID rfd chunk
    exec {rfd}<&"${TTY[0]}"
    IFS= read -r -d ':' -t 20 chunk <&"$rfd" || fail "no prompt"
    [[ $chunk == *PIN* ]] || fail "no prompt: $chunk"
    # script(1) runs the shell, which runs csign; signal that csign only.
    # How many shells stand between them depends on $SHELL, so search all
    # of script's descendants.
    local csign_pid
    csign_pid=$(descendant_named "$pid" csign) || fail "csign not running"
    kill -INT "$csign_pid"
    timeout 20 cat <&"$rfd" | tr -d '\r' >"$CASE/out"
    wait "$pid"
    grep -qx "status=130" "$CASE/out" || fail "csign did not end by SIGINT"
    grep -qx echo "$CASE/out" || fail "echo left off after SIGINT"
}

t_locked_pin_refused_without_login() {
    new_token dev
    shim_list CSIGN_PIN=$USER_PIN CSIGN_SHIM_TOKEN_FLAGS=0x40000 csign list --login \
        --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "is locked"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "tried a locked PIN"
}

t_final_try_refused_unless_asked() {
    new_token dev
    shim_list CSIGN_PIN=$USER_PIN CSIGN_SHIM_TOKEN_FLAGS=0x20000 csign list --login \
        --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "one more PIN try"
    expect_err "--pin-final-try"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "used the final try"
    shim_list CSIGN_PIN=$USER_PIN CSIGN_SHIM_TOKEN_FLAGS=0x20000 csign list --login \
        --pin-final-try --module "$CSIGN_SHIM"
    expect_rc 0
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "no login with --pin-final-try"
}

t_count_low_warns() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_TOKEN_FLAGS=0x10000 csign list --login \
        --module "$CSIGN_SHIM"
    expect_rc 0
    expect_err "warning: token 'dev' reports recent wrong PINs"
}

t_pin_locked_by_login() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_FAIL=C_Login=0xa4 csign list --login \
        --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "the user PIN of token 'dev' is locked"
}

t_user_pin_not_set() {
    new_token dev
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_TOKEN_FLAGS_CLEAR=0x8 csign list --login \
        --module "$CSIGN_SHIM"
    expect_rc 3
    expect_err "has no user PIN yet"
}

# env_while_listing LOGINS [list options]: runs csign list with CSIGN_PIN set
# until the shim stops it in the object search (after any login), expects
# LOGINS logins, and fails when the PIN is in its environment (/proc).
env_while_listing() {
    local logins=$1
    shift
    new_token dev 31337pin
    CSIGN_PIN=31337pin CSIGN_SHIM_HANG=C_FindObjectsInit CSIGN_SHIM_LOG="$CASE/shim.log" \
        "$CSIGN_BIN" list "$@" --module "$CSIGN_SHIM" >/dev/null 2>&1 </dev/null &
    pid=$!
    for _ in $(seq 200); do
        [ "$(count_calls C_FindObjectsInit)" -gt 0 ] && break
        sleep 0.05
    done
    [ "$(count_calls C_FindObjectsInit)" -gt 0 ] || fail "csign did not reach the object search"
    [ "$(count_calls 'C_Login user')" -eq "$logins" ] || fail "not $logins logins"
    env_dump=$(tr '\0' '\n' <"/proc/$pid/environ")
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    grep -q '^CSIGN_SHIM_HANG=' <<<"$env_dump" || fail "could not read the environment"
    ! grep -q 31337pin <<<"$env_dump" || fail "PIN still in the process environment"
}

t_env_pin_removed_from_environment() {
    env_while_listing 1 --login
}

# A run that never logs in never reads CSIGN_PIN; the value still leaves
# the environment at start-up.
t_env_pin_removed_without_login() {
    env_while_listing 0
}

# A NUL byte would cut the PIN short at the token and use up a try.
t_pin_with_nul_refused_before_login() {
    new_token dev
    printf '12\0004' >"$CASE/pin"
    chmod 600 "$CASE/pin"
    run CSIGN_SHIM_LOG="$CASE/shim.log" csign list --login --module "$CSIGN_SHIM" \
        --pin-source "file:$CASE/pin"
    expect_rc 3
    expect_one_error_line list
    expect_err "contains a NUL byte"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "the PIN went to the token"
    printf '12\0004' | CSIGN_SHIM_LOG="$CASE/shim.log" "$CSIGN_BIN" list --login \
        --module "$CSIGN_SHIM" --pin-source fd:0 >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 3
    expect_err "contains a NUL byte"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "the PIN from fd:0 went to the token"
}

run_tests
