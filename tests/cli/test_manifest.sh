#!/usr/bin/env bash
# csign sign --manifest and csign verify --manifest, checked against GNU
# sha256sum/sha512sum and `openssl cms -verify` as independent tools.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# A release folder with awkward names: a space, a backslash, a newline, a
# carriage return, a leading dash and a subfolder.
make_release() {
    mkdir -p "$CASE/rel/sub"
    printf 'one' >"$CASE/rel/app one.tar"
    printf 'two' >"$CASE/rel/back\\slash"
    printf 'three' >"$CASE/rel/new"$'\n'"line"
    printf 'four' >"$CASE/rel/car"$'\r'"ret"
    printf 'five' >"$CASE/rel/-dash"
    printf 'six' >"$CASE/rel/sub/inner.bin"
    head -c 300000 /dev/urandom >"$CASE/rel/sub/big.bin"
}

# sign_release [options]: signs every file of the release into SHA256SUMS.
sign_release() {
    (cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" "$@" \
        --manifest "${LIST:-SHA256SUMS}" -- 'app one.tar' 'back\slash' "new"$'\n'"line" \
        "car"$'\r'"ret" -dash sub/inner.bin sub/big.bin) >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
}

verify_release() {
    run csign verify --trust "$CASE/root.pem" --manifest "$CASE/rel/${LIST:-SHA256SUMS}" "$@"
}

t_manifest_matches_sha256sum() {
    signing_key
    make_release
    sign_release
    expect_rc 0
    expect_out "listed 7 files in SHA256SUMS"
    expect_out "signed SHA256SUMS -> SHA256SUMS.p7s"
    # Byte for byte what sha256sum writes, in sorted order.
    (cd "$CASE/rel" && LC_ALL=C sha256sum -- 'app one.tar' 'back\slash' "new"$'\n'"line" \
        "car"$'\r'"ret" -dash sub/inner.bin sub/big.bin) >"$CASE/want.unsorted"
    LC_ALL=C sort "$CASE/want.unsorted" >"$CASE/want.sorted"
    LC_ALL=C sort "$CASE/rel/SHA256SUMS" >"$CASE/got.sorted"
    cmp -s "$CASE/want.sorted" "$CASE/got.sorted" || fail "manifest differs from sha256sum's lines"
    [ "$(wc -l <"$CASE/rel/SHA256SUMS")" -eq 7 ] || fail "not 7 lines"
    (cd "$CASE/rel" && sha256sum --strict -c SHA256SUMS) >"$CASE/check" 2>&1 ||
        fail "sha256sum -c rejects the manifest: $(cat "$CASE/check")"
    openssl cms -verify -binary -inform DER -in "$CASE/rel/SHA256SUMS.p7s" \
        -content "$CASE/rel/SHA256SUMS" -CAfile "$CASE/root.pem" -purpose any \
        -out /dev/null 2>/dev/null || fail "openssl rejects the manifest's signature"
    verify_release
    expect_rc 0
    expect_out "OK $CASE/rel/SHA256SUMS signed by CN=Release Signing"
    [ "$(grep -c '^OK ' "$CASE/out")" -eq 8 ] || fail "not every file OK"
}

t_manifest_sorted_by_path() {
    signing_key
    mkdir -p "$CASE/rel/b"
    for f in c a b/z B A; do echo "$f" >"$CASE/rel/$f"; done
    (cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" \
        --manifest SHA256SUMS c a b/z B A) >/dev/null 2>&1 || fail "sign"
    [ "$(cut -c67- "$CASE/rel/SHA256SUMS" | tr '\n' ' ')" = "A B a b/z c " ] ||
        fail "order: $(cut -c67- "$CASE/rel/SHA256SUMS" | tr '\n' ' ')"
}

t_changed_missing_extra() {
    signing_key
    make_release
    sign_release
    expect_rc 0
    printf 'ONE' >"$CASE/rel/app one.tar"
    rm "$CASE/rel/sub/inner.bin"
    echo new >"$CASE/rel/sub/added"
    verify_release
    expect_rc 1
    expect_out "CHANGED app one.tar"
    expect_out "MISSING sub/inner.bin"
    expect_out "OK -dash"
    expect_no_out "EXTRA"
    expect_err "2 of 7 files are not as the signed manifest lists"
    verify_release --strict
    expect_rc 1
    expect_out "EXTRA sub/added"
    expect_no_out "EXTRA SHA256SUMS"
    expect_err "3 of 8 files"
    verify_release --strict --json
    expect_rc 1
    jq -e '.verdict == "invalid" and .digest_algorithm == "sha256" and
        .signer_subject == "CN=Release Signing" and (.files | length) == 8 and
        ([.files[] | select(.status == "ok")] | length) == 5 and
        (.files[] | select(.path == "app one.tar") | .status) == "changed" and
        (.files[] | select(.path == "sub/inner.bin") | .status) == "missing" and
        (.files[] | select(.path == "sub/added") | .status) == "extra" and
        (.files[] | select(.path == "new\nline") | .status) == "ok" and
        .exit_code == 1' "$CASE/out" >/dev/null || fail "json: $(cat "$CASE/out")"
    # Put back, the extra file still fails --strict only.
    printf 'one' >"$CASE/rel/app one.tar"
    printf 'six' >"$CASE/rel/sub/inner.bin"
    verify_release
    expect_rc 0
    verify_release --strict
    expect_rc 1
    rm "$CASE/rel/sub/added"
    verify_release --strict
    expect_rc 0
}

t_manifest_edited_after_signing() {
    signing_key
    make_release
    sign_release
    expect_rc 0
    # Point the list at the changed file: the signature must catch it.
    printf 'ONE' >"$CASE/rel/app one.tar"
    new=$(sha256sum <"$CASE/rel/app one.tar" | cut -c1-64)
    sed -i "s/^[0-9a-f]\{64\}  app one.tar\$/$new  app one.tar/" "$CASE/rel/SHA256SUMS"
    grep -q "^$new  app one.tar" "$CASE/rel/SHA256SUMS" || fail "edit did not apply"
    verify_release
    expect_rc 1
    expect_out "FAIL $CASE/rel/SHA256SUMS: content does not match the signature"
    expect_no_out "OK app one.tar"
    # A line removed is caught the same way.
    sign_release --force
    expect_rc 0
    sed -i '/inner.bin/d' "$CASE/rel/SHA256SUMS"
    verify_release
    expect_rc 1
    expect_out "content does not match the signature"
}

t_signature_and_trust_checked() {
    signing_key
    make_release
    sign_release
    expect_rc 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
        -subj /CN=Other -days 2 -out "$CASE/other.pem" 2>/dev/null
    run csign verify --trust "$CASE/other.pem" --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 1
    expect_out "FAIL"
    rm "$CASE/rel/SHA256SUMS.p7s"
    verify_release
    expect_rc 4
    expect_err "SHA256SUMS.p7s"
}

t_sha512_list() {
    signing_key
    make_release
    LIST=SHA512SUMS
    sign_release --digest sha512
    expect_rc 0
    [ "$(head -n 1 "$CASE/rel/SHA512SUMS" | sed 's/^\\//' | cut -d' ' -f1 | tr -d '\n' |
        wc -c)" -eq 128 ] || fail "not SHA-512 lines"
    (cd "$CASE/rel" && sha512sum --strict -c SHA512SUMS) >/dev/null 2>&1 ||
        fail "sha512sum -c rejects the list"
    verify_release --json
    expect_rc 0
    jq -e '.digest_algorithm == "sha512" and .verdict == "valid"' "$CASE/out" >/dev/null ||
        fail "json"
}

t_jobs_identical_results() {
    signing_key
    make_release
    sign_release --jobs 1
    expect_rc 0
    cp "$CASE/rel/SHA256SUMS" "$CASE/list.j1"
    sign_release --jobs 2 --force
    expect_rc 0
    cmp -s "$CASE/list.j1" "$CASE/rel/SHA256SUMS" || fail "lists differ with --jobs"
    printf 'x' >>"$CASE/rel/-dash"
    verify_release --strict --json --jobs 1
    expect_rc 1
    # judged_at is the time of each run; everything else must match.
    jq 'del(.judged_at)' "$CASE/out" >"$CASE/v.j1"
    verify_release --strict --json --jobs 2
    expect_rc 1
    jq 'del(.judged_at)' "$CASE/out" >"$CASE/v.j2"
    cmp -s "$CASE/v.j1" "$CASE/v.j2" || fail "verdicts differ with --jobs"
}

t_foreign_list_accepted() {
    # A list made by sha256sum -b with ./ names, signed as an ordinary file.
    signing_key
    make_release
    (cd "$CASE/rel" && sha256sum -b ./'app one.tar' ./sub/inner.bin >SHA256SUMS)
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/rel/SHA256SUMS"
    expect_rc 0
    verify_release
    expect_rc 0
    expect_out "OK sub/inner.bin"
}

t_links_and_special_files() {
    signing_key
    make_release
    mkdir "$CASE/outside"
    printf 'one' >"$CASE/outside/same"
    # A link that stays inside the folder is followed, on both sides.
    ln -s 'app one.tar' "$CASE/rel/latest"
    (cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" \
        --manifest SHA256SUMS -- latest 'app one.tar' sub/inner.bin -dash) >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    verify_release
    expect_rc 0
    expect_out "OK latest"
    # Pointed outside (same bytes), replaced by a FIFO, by a folder: each
    # is CHANGED with its reason, and nothing hangs.
    ln -sfn "$CASE/outside/same" "$CASE/rel/latest"
    rm "$CASE/rel/sub/inner.bin" && mkfifo "$CASE/rel/sub/inner.bin"
    rm "$CASE/rel/-dash" && mkdir "$CASE/rel/-dash"
    timeout 20 "$CSIGN_BIN" verify --trust "$CASE/root.pem" --manifest "$CASE/rel/SHA256SUMS" \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 1
    expect_out "CHANGED latest: 'latest' leads outside the manifest's folder"
    expect_out "CHANGED sub/inner.bin: 'sub/inner.bin' is not a regular file"
    expect_out "CHANGED -dash"
    expect_out "OK app one.tar"
    # A folder that is a link to the outside is refused the same way.
    rm -f "$CASE/rel/latest" && ln -s 'app one.tar' "$CASE/rel/latest"
    rm -rf "$CASE/rel/sub" && mkdir -p "$CASE/outside/sub" && printf 'six' >"$CASE/outside/sub/inner.bin"
    ln -s "$CASE/outside/sub" "$CASE/rel/sub"
    verify_release
    expect_rc 1
    expect_out "CHANGED sub/inner.bin: 'sub/inner.bin' leads outside"
    # And sign refuses to list a file through a link that leaves the folder.
    ln -s "$CASE/outside/same" "$CASE/rel/escape"
    (cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --force \
        --manifest SHA256SUMS -- escape 'app one.tar') >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 5
    expect_err "'escape' leads outside the manifest's folder"
    expect_err "no manifest written"
}

t_malformed_lists_refused() {
    signing_key
    make_release
    local h
    h=$(sha256sum <"$CASE/rel/-dash" | cut -c1-64)
    for body in "$h  ../etc/passwd" "$h  /etc/passwd" "$h  sub/../-dash" "$h -dash" \
        "${h:1}  -dash" "" "$h  -dash"$'\n'"$h  ./-dash"; do
        printf '%s\n' "$body" >"$CASE/rel/SHA256SUMS"
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force "$CASE/rel/SHA256SUMS"
        expect_rc 0
        verify_release
        expect_rc 5
        expect_err "malformed manifest"
    done
}

t_failed_file_writes_nothing() {
    signing_key
    make_release
    (cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" \
        --manifest SHA256SUMS -- -dash nothere sub/inner.bin) >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 4
    expect_err "nothere"
    expect_err "1 of 3 files failed; no manifest written"
    [ ! -e "$CASE/rel/SHA256SUMS" ] && [ ! -e "$CASE/rel/SHA256SUMS.p7s" ] || fail "wrote output"
    ! ls "$CASE/rel" | grep -q csign-tmp || fail "temporary file left"
}

t_usage_refused_before_login() {
    signing_key
    make_release
    mkdir "$CASE/elsewhere"
    echo x >"$CASE/elsewhere/f"
    local m="$CASE/rel/SHA256SUMS"
    for args in "--manifest $m $CASE/elsewhere/f" "--manifest $m -o $CASE/x $CASE/rel/-dash" \
        "--manifest $m --out-dir $CASE $CASE/rel/-dash" "--manifest $m -" \
        "--manifest $m $CASE/rel/-dash $CASE/rel/../rel/-dash" "--manifest $m $m"; do
        # shellcheck disable=SC2086
        shim_sign $args
        expect_rc 2
        [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in for: $args"
    done
    : >"$m"
    shim_sign --manifest "$m" "$CASE/rel/-dash"
    expect_rc 2
    expect_err "exists; use --force"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in with an existing manifest"
    run csign verify --trust "$CASE/root.pem" --strict "$CASE/rel/-dash"
    expect_rc 2
    run csign verify --trust "$CASE/root.pem" --manifest "$m" "$CASE/rel/-dash"
    expect_rc 2
    run csign verify --trust "$CASE/root.pem" --manifest -
    expect_rc 2
}

# shim_sign ARGS...: csign sign through the logging shim module.
shim_sign() {
    rm -f "$CASE/shim.log"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" "$@"
}

run_tests
