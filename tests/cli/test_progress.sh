#!/usr/bin/env bash
# The progress line of sign, verify and digest: on a terminal only, never
# with -q or an opt-out variable (docs/progress.md).
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=release'

# on_tty [VAR=value...] csign ARGS...: runs csign with stdout and stderr on
# a pseudo-terminal; what the terminal showed goes to $CASE/tty; sets RC.
on_tty() {
    local envs=() cmd
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    [ "${1:-}" = csign ] && shift
    cmd=$(printf '%q ' env "${envs[@]}" "$CSIGN_BIN" "$@")
    command -v script >/dev/null || fail "script(1) is missing"
    script -qefc "$cmd" /dev/null </dev/null >"$CASE/tty" 2>&1
    RC=$?
}

# A progress line was drawn, then erased before anything else was shown.
expect_progress() {
    grep -qaF "csign: $1 0/$2 files" "$CASE/tty" || fail "no '$1' progress line: $(cat -v "$CASE/tty")"
    grep -qaF $'\r\033[K' "$CASE/tty" || fail "the progress line was not erased"
}

expect_no_progress() {
    ! grep -qaE 'csign: (signing|verifying|hashing) [0-9]+/' "$CASE/tty" ||
        fail "progress shown: $(cat -v "$CASE/tty")"
}

t_digest_shows_progress_on_a_terminal() {
    head -c 3000000 /dev/urandom >"$CASE/a"
    head -c 2000000 /dev/urandom >"$CASE/b"
    on_tty CSIGN_PROGRESS_DELAY=0 csign digest "$CASE/a" "$CASE/b"
    [ "$RC" -eq 0 ] || fail "exit code $RC"
    expect_progress hashing 2
    grep -qaF " of 4.8 MiB" "$CASE/tty" || fail "no total: $(cat -v "$CASE/tty")"
    # The digest lines themselves are intact, each on its own line.
    tr -d '\r' <"$CASE/tty" | grep -qx "sha256:$(sha256sum "$CASE/b" | cut -d' ' -f1)  $CASE/b" ||
        fail "digest line damaged: $(cat -v "$CASE/tty")"
}

t_sign_shows_progress_on_a_terminal() {
    signing_key
    head -c 3000000 /dev/urandom >"$CASE/a"
    head -c 1000 /dev/urandom >"$CASE/b"
    on_tty CSIGN_PIN=$USER_PIN CSIGN_PROGRESS_DELAY=0 csign sign --key "$KEY" "$CASE/a" "$CASE/b"
    [ "$RC" -eq 0 ] || fail "exit code $RC: $(cat -v "$CASE/tty")"
    expect_progress signing 2
    # Erased before the report, which starts on a clean terminal line.
    grep -qaF $'\r\033[K'"signed $CASE/a -> $CASE/a.p7s" "$CASE/tty" ||
        fail "report line not after an erased line: $(cat -v "$CASE/tty")"
    on_tty CSIGN_PIN=$USER_PIN CSIGN_PROGRESS_DELAY=0 csign sign --key "$KEY" \
        --manifest "$CASE/SHA256SUMS" "$CASE/a" "$CASE/b"
    [ "$RC" -eq 0 ] || fail "manifest: exit code $RC: $(cat -v "$CASE/tty")"
    expect_progress signing 2
}

t_verify_shows_progress_on_a_terminal() {
    signing_key
    head -c 3000000 /dev/urandom >"$CASE/a"
    head -c 1000 /dev/urandom >"$CASE/b"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/a" "$CASE/b"
    expect_rc 0
    on_tty CSIGN_PROGRESS_DELAY=0 csign verify --trust "$CASE/root.pem" "$CASE/a" "$CASE/b"
    [ "$RC" -eq 0 ] || fail "exit code $RC: $(cat -v "$CASE/tty")"
    expect_progress verifying 2
    grep -qaF $'\r\033[K'"OK $CASE/a" "$CASE/tty" ||
        fail "report line not after an erased line: $(cat -v "$CASE/tty")"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest "$CASE/SHA256SUMS" "$CASE/a" "$CASE/b"
    expect_rc 0
    on_tty CSIGN_PROGRESS_DELAY=0 csign verify --trust "$CASE/root.pem" --manifest "$CASE/SHA256SUMS"
    [ "$RC" -eq 0 ] || fail "manifest: exit code $RC: $(cat -v "$CASE/tty")"
    expect_progress verifying 2
}

t_no_progress_when_stderr_is_not_a_terminal() {
    head -c 3000000 /dev/urandom >"$CASE/a"
    run CSIGN_PROGRESS_DELAY=0 csign digest "$CASE/a"
    expect_rc 0
    ! grep -qa $'\r' "$CASE/err" || fail "progress written to a file: $(cat -v "$CASE/err")"
    [ ! -s "$CASE/err" ] || fail "stderr not empty"
}

t_no_progress_when_quiet_or_opted_out() {
    head -c 3000000 /dev/urandom >"$CASE/a"
    on_tty CSIGN_PROGRESS_DELAY=0 csign digest -q "$CASE/a"
    expect_no_progress
    on_tty CSIGN_PROGRESS_DELAY=0 csign -q digest "$CASE/a"
    expect_no_progress
    on_tty CSIGN_PROGRESS_DELAY=0 NO_PROGRESS=1 csign digest "$CASE/a"
    expect_no_progress
    on_tty CSIGN_PROGRESS_DELAY=0 CSIGN_NO_PROGRESS=1 csign digest "$CASE/a"
    expect_no_progress
    on_tty CSIGN_PROGRESS_DELAY=0 TERM=dumb csign digest "$CASE/a"
    expect_no_progress
    # Work shorter than the delay shows nothing.
    on_tty CSIGN_PROGRESS_DELAY=3600 csign digest "$CASE/a"
    expect_no_progress
    [ "$RC" -eq 0 ] || fail "exit code $RC"
}

run_tests
