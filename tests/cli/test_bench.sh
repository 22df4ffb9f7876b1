#!/usr/bin/env bash
# scripts/bench.sh runs end to end (its --quick mode: small inputs). Its
# numbers are not checked here: speed claims live in docs/benchmarks.md.
. "$(dirname "$0")/lib.sh"

BENCH="$CSIGN_TESTS/../scripts/bench.sh"

t_quick_run_prints_the_table() {
    [ -n "${CSIGN_MAXRSS:-}" ] || fail "CSIGN_MAXRSS is not set"
    TMPDIR=$CASE CSIGN_BIN=$CSIGN_BIN CSIGN_MAXRSS=$CSIGN_MAXRSS bash "$BENCH" --quick \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 0
    expect_out "| measurement | csign | peer | ratio | target | met |"
    expect_out "quick run (small inputs)"
    for what in "vs \`openssl cms -sign\`" "vs \`openssl dgst -sha256\`" \
        "vs \`openssl speed -evp sha256\`" "vs \`openssl cms -verify\`" "peak RSS, sign" \
        "one 4 KiB file" "files of 4 KiB, P-256" "files of 4 KiB, RSA-3072" \
        "sign 4 ×" "verify 4 ×"; do
        expect_out "$what"
    done
    [ "$(grep -c "^| " "$CASE/out")" -eq 16 ] || fail "not 14 rows under the header"
    ! grep -qiE 'nan|inf|  \|' "$CASE/out" || fail "a figure is missing"
    # Its temporary folder and token are gone.
    ! ls "$CASE" | grep -q csign-bench || fail "temporary folder left"
}

t_unknown_option_refused() {
    run_bench() { bash "$BENCH" "$@" >"$CASE/out" 2>"$CASE/err" </dev/null; RC=$?; }
    CSIGN_BIN=$CSIGN_BIN CSIGN_MAXRSS=${CSIGN_MAXRSS:-x} run_bench --fast
    expect_rc 2
    expect_err "unknown option '--fast'"
}

run_tests
