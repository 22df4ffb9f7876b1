#!/usr/bin/env bash
# Command-line conventions: help, version, usage errors, exit codes, stdout.
. "$(dirname "$0")/lib.sh"

t_help_lists_commands() {
    run csign --help
    expect_rc 0
    expect_out "init-token"
    expect_out "list"
    expect_out "Exit codes"
}

t_every_command_and_option_documented() {
    local cmds missing=""
    cmds=$("$CSIGN_BIN" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
    [ "$(wc -w <<<"$cmds")" -ge 10 ] || fail "commands not found in --help: $cmds"
    for cmd in $cmds; do
        grep -rqF -- "csign $cmd" "$CSIGN_TESTS/../README.md" "$CSIGN_TESTS/../docs" ||
            missing="$missing $cmd"
        for opt in $("$CSIGN_BIN" "$cmd" --help | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
            grep -rqF -- "$opt" "$CSIGN_TESTS/../README.md" "$CSIGN_TESTS/../docs" ||
                missing="$missing $cmd:$opt"
        done
    done
    [ -z "$missing" ] || fail "not in README.md or docs/:$missing"
}

t_version() {
    run csign --version
    expect_rc 0
    grep -qE '^csign [0-9]+\.[0-9]+\.[0-9]+ ' "$CASE/out" || fail "no version line"
}

t_no_command_is_usage_error() {
    run csign
    expect_rc 2
    expect_err "Usage: csign"
}

t_unknown_command() {
    run csign frobnicate
    expect_rc 2
    expect_err "unknown command 'frobnicate'. Try 'csign --help'."
}

t_unknown_global_option() {
    run csign --frob list
    expect_rc 2
    expect_err "unknown option '--frob'"
    # A value glued to an unknown option is not repeated (it may be a PIN).
    run csign --pin=4711x list
    expect_rc 2
    expect_secret_absent 4711x
    run csign -p4711x list
    expect_rc 2
    expect_secret_absent 4711x
}

t_global_options_bundle() {
    run csign -vq list
    expect_rc 0
    run csign help frob
    expect_rc 2
    expect_err "unknown command 'frob'"
}

t_unknown_command_option() {
    run csign list --frob
    expect_rc 2
    expect_one_error_line list
    expect_err "unknown option '--frob'. Try 'csign list --help'."
}

t_missing_option_argument() {
    run csign list --module
    expect_rc 2
    expect_err "option '--module' needs an argument"
}

t_flag_with_value_refused() {
    run csign list --json=yes
    expect_rc 2
    expect_err "option '--json' takes no argument"
}

t_command_help_from_option_table() {
    for cmd in list init-token; do
        run csign "$cmd" --help
        expect_rc 0
        expect_out "Usage: csign $cmd"
        expect_out "--module PATH"
        expect_out "--pin-source SRC"
        expect_out "--verbose"
    done
    run csign help list
    expect_rc 0
    expect_out "--login"
}

t_verbosity_before_and_after_command() {
    new_token dev
    run csign -vvv list
    expect_rc 0
    expect_err "loaded PKCS#11 module"
    run csign list -v
    expect_rc 0
    expect_err "loaded PKCS#11 module"
    run csign list
    expect_rc 0
    [ ! -s "$CASE/err" ] || fail "stderr not empty without -v"
    run csign -q list 'pkcs11:token=dev'
    expect_rc 0
}

t_quiet_suppresses_notes_not_errors() {
    run csign -q list
    expect_rc 0
    [ ! -s "$CASE/err" ] || fail "-q printed a note"
    run csign -q list pkcs11:token=nope
    expect_rc 3
    expect_err "has no initialised token"
}

t_stdout_write_error_is_exit_4() {
    "$CSIGN_BIN" --version >/dev/full 2>"$CASE/err"
    RC=$?
    expect_rc 4
    expect_err "cannot write to standard output"
    "$CSIGN_BIN" list --help >/dev/full 2>"$CASE/err"
    RC=$?
    expect_rc 4
}

t_list_output_write_error_is_exit_4() {
    new_token dev
    "$CSIGN_BIN" list >/dev/full 2>"$CASE/err"
    RC=$?
    expect_rc 4
    expect_err "csign: list: cannot write to standard output"
}

t_no_core_dumps() {
    # csign sets RLIMIT_CORE to 0 at start; a hung module lets the test look
    # at the running process.
    [ -n "$CSIGN_SHIM" ] || fail "CSIGN_SHIM is not set"
    new_token dev
    ulimit -S -c "$(ulimit -H -c)" 2>/dev/null || true
    CSIGN_SHIM_HANG=C_GetSlotList CSIGN_SHIM_LOG="$CASE/shim.log" "$CSIGN_BIN" list \
        --module "$CSIGN_SHIM" >/dev/null 2>&1 </dev/null &
    pid=$!
    # Hung in the module: well past csign's start-up.
    for _ in $(seq 600); do
        [ "$(count_calls C_GetSlotList)" -gt 0 ] && break
        sleep 0.05
    done
    [ "$(count_calls C_GetSlotList)" -gt 0 ] || fail "csign never reached the module"
    limits=$(grep "Max core file size" "/proc/$pid/limits")
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [[ $limits =~ ^Max\ core\ file\ size\ +0\ +0 ]] || fail "core limit not 0: $limits"
}

run_tests
