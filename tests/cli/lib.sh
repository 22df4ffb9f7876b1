# Shared helpers for the csign command-line tests. Each test function runs
# in a subshell with its own temporary folder, HOME and SoftHSM token store,
# so no test sees another's tokens or the system's.
#
# Usage in a test script:
#   . "$(dirname "$0")/lib.sh"
#   t_something() { new_token dev; run csign list; expect_rc 0; expect_out "token 'dev'"; }
#   run_tests

set -u

CSIGN_BIN=${CSIGN_BIN:?set CSIGN_BIN to the csign binary}
CSIGN_SHIM=${CSIGN_SHIM:-}
CSIGN_P11PROBE=${CSIGN_P11PROBE:-}
SO_PIN=12345678
USER_PIN=1234

SOFTHSM_MODULE=""
for p in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
    /usr/lib64/pkcs11/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    if [ -r "$p" ]; then SOFTHSM_MODULE=$p; break; fi
done
if [ -z "$SOFTHSM_MODULE" ] || ! command -v softhsm2-util >/dev/null ||
    ! command -v pkcs11-tool >/dev/null; then
    echo "SKIP: SoftHSM2 or pkcs11-tool is not installed (scripts/install-deps.sh installs them)"
    exit 77
fi
export CSIGN_SHIM_MODULE=$SOFTHSM_MODULE

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/csign-test.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT

# Fresh per-test state; called by run_tests before each test.
setup_case() {
    CASE=$(mktemp -d "$ROOT/case.XXXXXX")
    mkdir -p "$CASE/tokens" "$CASE/home"
    printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
        "$CASE" >"$CASE/softhsm2.conf"
    export SOFTHSM2_CONF=$CASE/softhsm2.conf
    export HOME=$CASE/home
    # csign's per-module locks of this test only (not shared with tests
    # running at the same time).
    mkdir -m 0700 "$CASE/run"
    export XDG_RUNTIME_DIR=$CASE/run
    unset XDG_DATA_HOME CSIGN_PIN CSIGN_SO_PIN CSIGN_MODULE CSIGN_SHIM_LOG CSIGN_SHIM_FAIL \
        CSIGN_SHIM_TOKEN_FLAGS CSIGN_SHIM_TOKEN_FLAGS_CLEAR CSIGN_SHIM_SLOT_FLAGS \
        CSIGN_SHIM_HANG CSIGN_SHIM_CORRUPT_SIGNATURE CSIGN_SHIM_IGNORE_TEMPLATE \
        CSIGN_FSFAULT CSIGN_FSFAULT_LOG CSIGN_SHIM_GATE CSIGN_SHIM_SLOW \
        CSIGN_SHIM_ALWAYS_AUTH CSIGN_SHIM_RAW_EC_POINT CSIGN_SHIM_MECHS CSIGN_SHIM_PINPAD_PIN \
        CSIGN_SHIM_FIND_DOUBLE CSIGN_SHIM_SIGN_DELAY_MS CSIGN_SHIM_MAX_SESSIONS
    # No configuration file of the machine or the user (docs/config.md).
    export CSIGN_SYSTEM_CONFIG=$CASE/no-system-config
    unset XDG_CONFIG_HOME CSIGN_CONFIG CSIGN_PROFILE
    cd "$CASE" || exit 1
}

# new_token LABEL [PIN]: an initialised token with SO PIN 12345678 and the
# user PIN 1234 (or PIN).
new_token() {
    softhsm2-util --init-token --free --label "$1" --so-pin "$SO_PIN" --pin "${2:-$USER_PIN}" \
        >/dev/null || fail "softhsm2-util could not create token $1"
}

# signing_key [TYPE]: on a new token 'dev', the key $KEY (ec:p256 unless
# TYPE) with a self-signed code-signing certificate, CN=Release Signing,
# stored beside it and written to $CASE/root.pem.
signing_key() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type "${1:-ec:p256}"
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Release Signing' \
        --import -o "$CASE/root.pem"
    expect_rc 0
}

# p11 ARGS...: pkcs11-tool on the test's SoftHSM store (an independent client).
p11() {
    pkcs11-tool --module "$SOFTHSM_MODULE" "$@"
}

# run [VAR=value...] csign ARGS...: runs the binary; sets RC, and the files
# $CASE/out and $CASE/err. Standard input is empty unless redirected.
run() {
    local envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    [ "${1:-}" = csign ] && shift
    env "${envs[@]}" "$CSIGN_BIN" "$@" >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
}

fail() {
    echo "    FAIL: $*" >&2
    if [ -n "${CASE:-}" ] && [ -f "$CASE/err" ]; then
        echo "    --- stdout:" >&2; sed 's/^/    | /' "$CASE/out" >&2
        echo "    --- stderr:" >&2; sed 's/^/    | /' "$CASE/err" >&2
    fi
    exit 1
}

expect_rc() { [ "$RC" -eq "$1" ] || fail "exit code $RC, expected $1"; }
expect_out() { grep -qF -- "$1" "$CASE/out" || fail "stdout lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$CASE/err" || fail "stderr lacks '$1'"; }
expect_no_out() { ! grep -qF -- "$1" "$CASE/out" || fail "stdout has '$1'"; }
expect_no_err() { ! grep -qF -- "$1" "$CASE/err" || fail "stderr has '$1'"; }
# The error is one line: "csign: <command>: <reason>".
expect_one_error_line() {
    [ "$(wc -l <"$CASE/err")" -eq 1 ] || fail "stderr has $(wc -l <"$CASE/err") lines, expected 1"
    grep -qE "^csign: $1: " "$CASE/err" || fail "stderr is not 'csign: $1: ...'"
}
# Neither output names the secret.
expect_secret_absent() {
    ! grep -qF -- "$1" "$CASE/out" "$CASE/err" || fail "the secret appears in the output"
}
# count_calls NAME: how often the shim's log recorded a call.
count_calls() {
    if [ -f "$CASE/shim.log" ]; then grep -cx -- "$1" "$CASE/shim.log"; else echo 0; fi
}

# Runs every t_* function in its own subshell and folder; prints a summary
# line that ctest's log shows, and fails when any test failed.
run_tests() {
    local passed=0 failed=0 names t
    names=$(declare -F | awk '{print $3}' | grep '^t_' || true)
    # CSIGN_ONLY=REGEX runs only the matching tests (while working on them).
    [ -z "${CSIGN_ONLY:-}" ] || names=$(grep -E -- "$CSIGN_ONLY" <<<"$names" || true)
    for t in $names; do
        if (setup_case; "$t"); then
            passed=$((passed + 1)); echo "ok   $t"
        else
            failed=$((failed + 1)); echo "FAIL $t"
        fi
    done
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# descendant_named PID NAME: prints the pid of the first process below PID
# whose command name is NAME; fails when there is none.
descendant_named() {
    local kid
    for kid in $(pgrep -P "$1"); do
        if [ "$(cat "/proc/$kid/comm" 2>/dev/null)" = "$2" ]; then
            echo "$kid"
            return 0
        fi
        descendant_named "$kid" "$2" && return 0
    done
    return 1
}

# tty_dialog COMMAND ANSWER...: runs COMMAND (a shell string) on a
# pseudo-terminal made by script(1). Before typing each ANSWER it waits for
# a prompt (text up to a ':' that mentions "PIN" or "confirm"), as a person
# would. Everything the terminal showed goes to $CASE/out; sets RC.
tty_dialog() {
    local cmd=$1 chunk rfd wfd pid
    shift
    command -v script >/dev/null || fail "script(1) is missing"
    coproc TTY { exec script -qefc "$cmd" /dev/null 2>&1; }
    pid=$TTY_PID
    exec {rfd}<&"${TTY[0]}" {wfd}>&"${TTY[1]}"
    : >"$CASE/out"
    for answer in "$@"; do
        while IFS= read -r -d ':' -t 20 chunk <&"$rfd"; do
            printf '%s:' "$chunk" >>"$CASE/out"
            [[ $chunk == *PIN* || $chunk == *confirm* ]] && break
        done
        [ -z "${TTY_HOOK:-}" ] || eval "$TTY_HOOK"
        printf '%s\n' "$answer" >&"$wfd"
    done
    timeout 20 cat <&"$rfd" >>"$CASE/out"
    exec {rfd}<&- {wfd}>&-
    wait "$pid"
    RC=$?
}

# run_fsfault RULES [VAR=value...] csign ARGS...: run with file-system calls
# failing as RULES says (tests/tools/fsfault.c: "CALL[@N]=ERRNO[:TEXT],...").
run_fsfault() {
    local rules=$1
    shift
    [ -n "${CSIGN_FSFAULT_LIB:-}" ] || fail "CSIGN_FSFAULT_LIB is not set"
    # Under ASan the preloaded library comes before the sanitizer's runtime.
    run "LD_PRELOAD=$CSIGN_FSFAULT_LIB" "CSIGN_FSFAULT=$rules" \
        "ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0" "$@"
}

# peak_rss [VAR=value...] csign ARGS...: runs csign under the maxrss tool;
# sets RC and PEAK_KIB (its peak resident set size).
peak_rss() {
    [ -n "${CSIGN_MAXRSS:-}" ] || fail "CSIGN_MAXRSS is not set"
    local envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    [ "${1:-}" = csign ] && shift
    env "${envs[@]}" "$CSIGN_MAXRSS" "$CSIGN_BIN" "$@" >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    PEAK_KIB=$(awk '/^maxrss_kib/{print $2}' "$CASE/err")
    [ -n "$PEAK_KIB" ] || fail "no peak memory reported"
}

# Constant memory means the same peak for a 4 KiB file and a 4 GiB one.
# The bound is on the difference, so that it holds under a sanitizer
# (whose own memory is the same in both runs) and on any machine; the
# absolute figures are in docs/benchmarks.md.
RSS_GROWTH_MAX_KIB=8192
expect_same_peak() {
    local small=$1 huge=$2
    [ $((huge - small)) -lt "$RSS_GROWTH_MAX_KIB" ] ||
        fail "peak memory grew from $small KiB (4 KiB file) to $huge KiB (4 GiB file)"
}

# start_tsa: a TSA root ($CASE/tsaca.pem) and a TSA under it ("CN=Test
# TSA") serving on 127.0.0.1 (tests/tools/tsa_tool); sets TSA_URL and
# TSA_LOG. It is killed when the test ends.
start_tsa() {
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout tsaca.key -subj "/CN=Test TSA Root" -days 30 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -out tsaca.pem 2>/dev/null || fail "TSA root"
    openssl req -new "${ec[@]}" -keyout tsa.key -subj "/CN=Test TSA" -out tsa.csr 2>/dev/null ||
        fail "TSA key"
    printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
        extendedKeyUsage=critical,timeStamping >tsa.ext
    openssl x509 -req -in tsa.csr -CA tsaca.pem -CAkey tsaca.key -CAcreateserial -days 30 \
        -extfile tsa.ext -out tsa.pem 2>/dev/null || fail "TSA certificate"
    "$CSIGN_TSA_TOOL" serve --cert tsa.pem --key tsa.key --port-file "$CASE/port" \
        --log "$CASE/tsa.log" 2>"$CASE/tsa.err" &
    TSA_PID=$!
    trap 'kill $TSA_PID 2>/dev/null' EXIT
    for _ in $(seq 100); do
        [ -s "$CASE/port" ] && break
        sleep 0.05
    done
    [ -s "$CASE/port" ] || fail "the TSA did not start: $(cat "$CASE/tsa.err")"
    TSA_URL="http://127.0.0.1:$(cat "$CASE/port")/"
    TSA_LOG=$CASE/tsa.log
}
