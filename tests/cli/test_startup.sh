#!/usr/bin/env bash
# What a run loads: libcurl only when it timestamps (src/sys/http.c loads it
# on the first request), and a clear failure before anything is signed when
# it cannot be loaded. The dynamic loader's own report (LD_DEBUG=libs) is
# the oracle.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# loaded: the libraries the dynamic loader reported opening in the last run.
loaded() { sed -n 's/.*calling init: //p' "$CASE/err"; }

t_runs_without_timestamps_do_not_load_libcurl() {
    run LD_DEBUG=libs csign --version
    expect_rc 0
    loaded | grep -q 'libcrypto' || fail "LD_DEBUG=libs reported nothing: $(head -5 "$CASE/err")"
    ! loaded | grep -q 'libcurl' || fail "csign --version loads libcurl"
    signing_key
    echo data >"$CASE/f"
    run LD_DEBUG=libs CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/f"
    expect_rc 0
    loaded | grep -q 'libsofthsm2' || fail "the module is not among the libraries loaded"
    ! loaded | grep -q 'libcurl' || fail "sign without --tsa loads libcurl"
    run LD_DEBUG=libs csign verify --trust "$CASE/root.pem" "$CASE/f"
    expect_rc 0
    ! loaded | grep -q 'libcurl' || fail "verify loads libcurl"
}

t_libcurl_loaded_for_a_timestamp() {
    signing_key
    echo data >"$CASE/f"
    # Nothing listens on port 9 of this machine: the request fails, after
    # libcurl was loaded to make it.
    run LD_DEBUG=libs CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa http://127.0.0.1:9/ \
        --tsa-retries 0 "$CASE/f"
    expect_rc 4
    loaded | grep -q 'libcurl' || fail "sign --tsa did not load libcurl"
}

t_missing_libcurl_fails_before_signing() {
    signing_key
    echo data >"$CASE/f"
    # The dynamic loader looks in LD_LIBRARY_PATH first: an empty file
    # there stands for a broken or missing libcurl.so.4.
    mkdir "$CASE/lib"
    : >"$CASE/lib/libcurl.so.4"
    run LD_LIBRARY_PATH=$CASE/lib CSIGN_PIN=$USER_PIN csign sign --key "$KEY" \
        --tsa http://127.0.0.1:9/ "$CASE/f"
    expect_rc 4
    expect_one_error_line sign
    expect_err "cannot load libcurl.so.4: "
    [ ! -e "$CASE/f.p7s" ] || fail "a signature was written"
    # Signing without a timestamp does not need it.
    run LD_LIBRARY_PATH=$CASE/lib CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/f"
    expect_rc 0
    [ -s "$CASE/f.p7s" ] || fail "no signature without --tsa"
    run LD_LIBRARY_PATH=$CASE/lib csign timestamp --tsa http://127.0.0.1:9/ "$CASE/f.p7s"
    expect_rc 4
    expect_err "cannot load libcurl.so.4: "
}

run_tests
