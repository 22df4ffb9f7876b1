#!/usr/bin/env bash
# Split hashing: the files are hashed on a build machine, the digests are
# signed on the signing host, the signatures come back and are verified
# against the real files (docs/sign.md, "Split hashing"). The two machines
# are two folders: build/ holds the files; host/ holds only what crosses
# over (digests, lists, signatures), and the build folder is moved away
# while the host signs, so that the token side cannot read any content.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'
WRONG_PIN=9999

# on_host ARGS...: csign sign run in host/ through the logging shim, with
# the build folder out of reach.
on_host() {
    mv "$CASE/build" "$CASE/build.away"
    (cd "$CASE/host" && run CSIGN_PIN="${PIN:-$USER_PIN}" CSIGN_SHIM_LOG="$CASE/shim.log" \
        csign sign --key "$KEY" --module "$CSIGN_SHIM" "$@"
    echo "$RC" >"$CASE/rc")
    RC=$(cat "$CASE/rc")
    mv "$CASE/build.away" "$CASE/build"
}

# in_build ARGS...: csign run in build/.
in_build() {
    cd "$CASE/build" && run "$@"
    cd "$CASE" || exit 1
}

logins() {
    count_calls 'C_Login user'
}

# ossl FILE SIG: openssl accepts SIG over FILE (the independent oracle).
ossl() {
    openssl cms -verify -binary -inform DER -in "$2" -content "$1" -CAfile "$CASE/root.pem" \
        -purpose any -out /dev/null 2>/dev/null
}

# A build folder with files in subfolders and names that need escaping.
ODD=$'we\\ird\nname \xc3\xa9'
make_build() {
    mkdir -p "$CASE/build/dist/sub" "$CASE/host"
    head -c 300000 /dev/urandom >"$CASE/build/dist/app.tar.gz"
    echo deb >"$CASE/build/dist/sub/app.deb"
    echo odd >"$CASE/build/dist/$ODD"
}

# Nothing of the build's content reached the signing host.
host_has_no_content() {
    [ -z "$(find "$CASE/host" -type f ! -name '*.p7s' ! -name '*.txt' ! -name '*SUMS' \
        ! -name '*.digest')" ] || fail "content on the host: $(find "$CASE/host" -type f)"
}

t_one_file_digest_hex() {
    signing_key
    make_build
    in_build csign digest dist/app.tar.gz
    expect_rc 0
    cp "$CASE/out" "$CASE/host/app.digest"
    on_host --digest-hex "$(cut -d' ' -f1 "$CASE/host/app.digest")" -o app.tar.gz.p7s
    expect_rc 0
    [ "$(logins)" -eq 1 ] || fail "logged in $(logins) times"
    host_has_no_content
    cp "$CASE/host/app.tar.gz.p7s" "$CASE/build/dist/"
    in_build csign verify --trust "$CASE/root.pem" dist/app.tar.gz
    expect_rc 0
    expect_out "OK dist/app.tar.gz signed by CN=Release Signing"
    ossl "$CASE/build/dist/app.tar.gz" "$CASE/build/dist/app.tar.gz.p7s" || fail "openssl"
    # The file changed after signing: both verifiers say no.
    echo x >>"$CASE/build/dist/app.tar.gz"
    in_build csign verify --trust "$CASE/root.pem" dist/app.tar.gz
    expect_rc 1
    ! ossl "$CASE/build/dist/app.tar.gz" "$CASE/build/dist/app.tar.gz.p7s" ||
        fail "openssl accepted a changed file"
}

t_many_files_digest_list() {
    signing_key
    make_build
    # The names as csign digest prints them, the odd one escaped.
    (cd "$CASE/build" && printf '%s\0' dist/sub/app.deb dist/app.tar.gz "dist/$ODD" |
        "$CSIGN_BIN" digest --files-from0 - >"$CASE/host/digests.txt") || fail "digest"
    grep -qF 'dist/we\x5cird\x0aname' "$CASE/host/digests.txt" || fail "not escaped"
    mkdir "$CASE/host/sigs"
    on_host --digest-list digests.txt --out-dir sigs
    expect_rc 0
    [ "$(logins)" -eq 1 ] || fail "logged in $(logins) times"
    [ "$(count_calls 'C_Sign')" -ge 3 ] || fail "not 3 signatures"
    # Reported in the list's order, each to DIR/NAME.p7s.
    [ "$(head -1 "$CASE/out")" = "signed dist/sub/app.deb -> sigs/dist/sub/app.deb.p7s" ] ||
        fail "order: $(cat "$CASE/out")"
    expect_out "signed dist/app.tar.gz -> sigs/dist/app.tar.gz.p7s"
    expect_out 'signed dist/we\x5cird\x0aname '$'\xc3\xa9'
    [ -f "$CASE/host/sigs/dist/$ODD.p7s" ] || fail "odd name not unescaped"
    host_has_no_content
    # Back on the build machine each signature lands beside its file,
    # where csign verify looks for it.
    cp -R "$CASE/host/sigs/." "$CASE/build/"
    in_build csign verify --trust "$CASE/root.pem" dist/app.tar.gz dist/sub/app.deb "dist/$ODD"
    expect_rc 0
    [ "$(grep -c '^OK ' "$CASE/out")" -eq 3 ] || fail "not 3 OK"
    for f in dist/app.tar.gz dist/sub/app.deb "dist/$ODD"; do
        ossl "$CASE/build/$f" "$CASE/build/$f.p7s" || fail "openssl: $f"
    done
    # One file changed after signing: that one fails, exit 1.
    echo x >>"$CASE/build/dist/sub/app.deb"
    in_build csign verify --trust "$CASE/root.pem" dist/app.tar.gz dist/sub/app.deb
    expect_rc 1
    expect_out "OK dist/app.tar.gz"
    expect_out "FAIL dist/sub/app.deb"
    # A second run needs --force for the signatures that exist.
    on_host --digest-list digests.txt --out-dir sigs
    expect_rc 2
    expect_err "exists; use --force"
    on_host --force --digest-list digests.txt --out-dir sigs
    expect_rc 0
}

t_digest_list_from_stdin_sha384_json() {
    signing_key ec:p384
    make_build
    in_build csign digest --digest sha384 dist/app.tar.gz dist/sub/app.deb
    cp "$CASE/out" "$CASE/host/digests.txt"
    mkdir "$CASE/host/out"
    (cd "$CASE/host" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --digest sha384 --json \
        --digest-list - --out-dir out <digests.txt >"$CASE/out" 2>"$CASE/err")
    RC=$?
    expect_rc 0
    jq -e --arg d "$(sha384sum "$CASE/build/dist/app.tar.gz" | cut -d' ' -f1)" '
        .status == "ok" and (.files | length) == 2 and
        .files[0].path == "dist/app.tar.gz" and .files[0].signature == "out/dist/app.tar.gz.p7s" and
        .files[0].digest_algorithm == "sha384" and .files[0].digest == $d and
        .files[1].path == "dist/sub/app.deb"' "$CASE/out" >/dev/null || fail "json: $(cat "$CASE/out")"
    cp -R "$CASE/host/out/." "$CASE/build/"
    in_build csign verify --trust "$CASE/root.pem" dist/app.tar.gz dist/sub/app.deb
    expect_rc 0
    ossl "$CASE/build/dist/app.tar.gz" "$CASE/build/dist/app.tar.gz.p7s" || fail "openssl"
    # The signature's digest is the list's, as with --digest-hex.
    openssl cms -cmsout -print -inform DER -in "$CASE/build/dist/app.tar.gz.p7s" |
        grep -A1 'digestAlgorithm:' | grep -q sha384 || fail "not SHA-384"
}

t_sha256sum_list_as_digest_list() {
    signing_key rsa:3072
    make_build
    (cd "$CASE/build/dist" && sha256sum app.tar.gz sub/app.deb >"$CASE/host/SHA256SUMS")
    mkdir "$CASE/host/sigs"
    on_host --pss --digest-list SHA256SUMS --out-dir sigs
    expect_rc 0
    cp -R "$CASE/host/sigs/." "$CASE/build/dist/"
    (cd "$CASE/build/dist" && run csign verify --trust "$CASE/root.pem" app.tar.gz sub/app.deb)
    expect_rc 0
    ossl "$CASE/build/dist/sub/app.deb" "$CASE/build/dist/sub/app.deb.p7s" || fail "openssl"
}

# The list route: only the checksum list goes to the signing host.
t_manifest_route() {
    signing_key
    make_build
    for maker in csign sha256sum; do
        rm -f "$CASE/build/dist/SHA256SUMS" "$CASE/build/dist/SHA256SUMS.p7s" "$CASE/host/"*
        (cd "$CASE/build/dist" && if [ $maker = csign ]; then
            "$CSIGN_BIN" digest app.tar.gz sub/app.deb
        else
            sha256sum app.tar.gz sub/app.deb
        fi >"$CASE/host/SHA256SUMS") || fail "$maker"
        on_host SHA256SUMS
        expect_rc 0
        expect_out "signed SHA256SUMS -> SHA256SUMS.p7s"
        host_has_no_content
        cp "$CASE/host/SHA256SUMS" "$CASE/host/SHA256SUMS.p7s" "$CASE/build/dist/"
        rm "$CASE/build/dist/$ODD"
        run csign verify --trust "$CASE/root.pem" --manifest "$CASE/build/dist/SHA256SUMS" --strict
        expect_rc 0
        expect_out "OK $CASE/build/dist/SHA256SUMS signed by CN=Release Signing"
        expect_out "OK app.tar.gz"
        expect_out "OK sub/app.deb"
        ossl "$CASE/build/dist/SHA256SUMS" "$CASE/build/dist/SHA256SUMS.p7s" || fail "openssl"
        cp "$CASE/build/dist/sub/app.deb" "$CASE/deb.orig"
        echo x >>"$CASE/build/dist/sub/app.deb"
        run csign verify --trust "$CASE/root.pem" --manifest "$CASE/build/dist/SHA256SUMS"
        expect_rc 1
        expect_out "CHANGED sub/app.deb"
        cp "$CASE/deb.orig" "$CASE/build/dist/sub/app.deb"
        echo odd >"$CASE/build/dist/$ODD"
    done
}

# What is wrong with a list is found before the PIN: a wrong PIN costs no
# try, and nothing is written.
refused() {
    local rc=$1 msg=$2
    shift 2
    rm -f "$CASE/shim.log"
    PIN=$WRONG_PIN on_host "$@"
    expect_rc "$rc"
    expect_err "$msg"
    expect_one_error_line sign
    [ "$(logins)" -eq 0 ] || fail "logged in for: $msg"
    [ -z "$(find "$CASE/host/sigs" -mindepth 1)" ] || fail "wrote: $(find "$CASE/host/sigs")"
    [ -z "$(find "$CASE" -name '*.p7s' ! -path "$CASE/tokens/*")" ] || fail "a signature outside"
}

H64=$(printf 'ab%.0s' $(seq 32))

t_bad_lines_name_their_number() {
    signing_key
    mkdir -p "$CASE/build" "$CASE/host/sigs"
    for bad in "sha256:zz$H64" "sha256:${H64:2}" "sha512:$H64" "md5:${H64:0:32}" "sha256:$H64 a" \
        "sha256:$H64  a\\x0" "sha256:$H64  a\\nb" "SHA256:$H64" "${H64}0"; do
        printf 'sha256:%s  one\n# a comment\n\n%s  two\n' "$H64" "$bad" >"$CASE/host/l.txt"
        refused 5 "digest list 'l.txt' line 4" --digest-list l.txt --out-dir sigs
    done
    printf '\n' >"$CASE/host/l.txt"
    refused 5 "the digest list 'l.txt' lists no files" --digest-list l.txt --out-dir sigs
}

t_algorithm_mismatch() {
    signing_key ec:p384
    mkdir -p "$CASE/build" "$CASE/host/sigs"
    printf 'sha256:%s  a\n' "$H64" >"$CASE/host/l.txt"
    # As --digest-hex: a --digest that disagrees is a usage error.
    refused 2 "--digest sha384 and the sha256 digests of --digest-list differ" \
        --digest sha384 --digest-list l.txt --out-dir sigs
    # One list, one algorithm.
    printf 'sha256:%s  a\nsha384:%s%s  b\n' "$H64" "$H64" "${H64:0:32}" >"$CASE/host/l.txt"
    refused 5 "digest list 'l.txt' line 2 has a digest of another length (SHA-384) than the lines before (SHA-256)" \
        --digest-list l.txt --out-dir sigs
    # Without --digest the list's algorithm is the signature's, whatever the key.
    printf 'sha256:%s  a\n' "$H64" >"$CASE/host/l.txt"
    on_host --digest-list l.txt --out-dir sigs
    expect_rc 0
    openssl cms -cmsout -print -inform DER -in "$CASE/host/sigs/a.p7s" |
        grep -A1 'digestAlgorithm:' | grep -q sha256 || fail "not SHA-256"
}

t_names_stay_inside_out_dir() {
    signing_key
    mkdir -p "$CASE/build" "$CASE/host/sigs" "$CASE/elsewhere"
    for name in ../x /tmp/x a/../../x ./../x 'a\x2f..\x2f..\x2fx' a//b a/./b; do
        printf 'sha256:%s  ok\nsha256:%s  %s\n' "$H64" "$H64" "$name" >"$CASE/host/l.txt"
        refused 5 "digest list 'l.txt' line 2: the path must stay inside --out-dir" \
            --digest-list l.txt --out-dir sigs
    done
    printf 'sha256:%s  a\nsha256:%s  ./a\n' "$H64" "$H64" >"$CASE/host/l.txt"
    refused 5 "the digest list 'l.txt' lists 'a' twice" --digest-list l.txt --out-dir sigs
    # A symbolic link below --out-dir is not followed.
    ln -s "$CASE/elsewhere" "$CASE/host/sigs/link"
    printf 'sha256:%s  link/x\n' "$H64" >"$CASE/host/l.txt"
    PIN=$WRONG_PIN on_host --digest-list l.txt --out-dir sigs
    expect_rc 4
    expect_err "cannot make folder 'sigs/link': it is there and not a folder"
    [ "$(logins)" -eq 0 ] || fail "logged in"
    [ -z "$(ls -A "$CASE/elsewhere")" ] || fail "wrote through the link"
}

t_usage() {
    signing_key
    mkdir -p "$CASE/build" "$CASE/host/sigs"
    printf 'sha256:%s  a\n' "$H64" >"$CASE/host/l.txt"
    echo a >"$CASE/host/a"
    refused 2 "--digest-list needs --out-dir" --digest-list l.txt
    refused 2 "--digest-list signs digests, not files" --digest-list l.txt --out-dir sigs a
    refused 2 "excludes --digest-hex, --manifest and -o" --digest-list l.txt -o x.p7s
    refused 2 "excludes --digest-hex, --manifest and -o" --digest-list l.txt --out-dir sigs \
        --digest-hex "sha256:$H64"
    refused 2 "excludes --digest-hex, --manifest and -o" --digest-list l.txt --out-dir sigs \
        --manifest SUMS
    refused 4 "cannot open 'missing.txt'" --digest-list missing.txt --out-dir sigs
    # The option names one run's input: not a configuration setting.
    printf 'digest-list = l.txt\n' >"$CASE/host/cfg"
    refused 2 "digest-list" --config cfg --out-dir sigs
}

run_tests
