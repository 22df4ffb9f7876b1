#!/usr/bin/env bash
# scripts/bench.sh runs end to end (its --quick mode: small inputs). Its
# numbers are not checked here: speed claims live in docs/benchmarks.md.
. "$(dirname "$0")/lib.sh"

BENCH="$CSIGN_TESTS/../scripts/bench.sh"

t_quick_run_prints_the_table() {
    [ -n "${CSIGN_MAXRSS:-}" ] || fail "CSIGN_MAXRSS is not set"
    [ -n "${CSIGN_SHIM:-}" ] || fail "CSIGN_SHIM is not set"
    TMPDIR=$CASE CSIGN_BIN=$CSIGN_BIN CSIGN_MAXRSS=$CSIGN_MAXRSS CSIGN_SHIM=$CSIGN_SHIM \
        bash "$BENCH" --quick \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 0
    expect_out "| measurement | csign | peer | ratio | target | met |"
    expect_out "quick run (small inputs)"
    for what in "vs \`openssl cms -sign\`" "vs \`openssl dgst -sha256\`" \
        "vs \`openssl speed -evp sha256\`" "vs \`openssl cms -verify\`" "peak RSS, sign" \
        "one 4 KiB file" "files of 4 KiB, P-256" "files of 4 KiB, RSA-3072" \
        "sign 4 ×" "verify 4 ×" "RSA-3072, \`--sessions 2\` vs \`--sessions 1\`" \
        "20 ms per signature, \`--sessions 16\` vs \`--sessions 1\`" \
        "through \`p11-kit server\` vs SoftHSM directly" \
        "16 processes at once through one \`p11-kit server\`"; do
        expect_out "$what"
    done
    [ "$(grep -c "^| " "$CASE/out")" -eq 20 ] || fail "not 18 rows under the header"
    ! grep -qiE 'nan|inf|  \|' "$CASE/out" || fail "a figure is missing"
    # Its temporary folder, token and server are gone.
    ! ls "$CASE" | grep -q csign-bench || fail "temporary folder left"
    ! pgrep -f "p11-kit.*server.*$CASE" >/dev/null || fail "p11-kit server left running"
}

t_unknown_option_refused() {
    run_bench() { bash "$BENCH" "$@" >"$CASE/out" 2>"$CASE/err" </dev/null; RC=$?; }
    CSIGN_BIN=$CSIGN_BIN CSIGN_MAXRSS=${CSIGN_MAXRSS:-x} run_bench --fast
    expect_rc 2
    expect_err "unknown option '--fast'"
}

run_tests
