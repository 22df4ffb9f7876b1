#!/usr/bin/env bash
# csign sign from the command line as scripts use it: -o -, -q, inputs that
# are signatures, manifest names and their digests, folders, --files-from.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# ossl_verify FILE SIG [FORM]: openssl's verdict, as exit status.
ossl_verify() {
    openssl cms -verify -binary -inform "${3:-DER}" -in "$2" -content "$1" \
        -CAfile "$CASE/root.pem" -purpose any -out /dev/null 2>"$CASE/ossl.err"
}

t_sign_out_stdout_der() {
    signing_key
    echo hello >a.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" -o - a.bin
    expect_rc 0
    [ ! -e ./- ] || fail "a file named '-' was written"
    [ ! -e a.bin.p7s ] || fail "a.bin.p7s was written"
    expect_err "signed a.bin -> standard output"
    ossl_verify a.bin "$CASE/out" || fail "openssl rejects stdout: $(cat "$CASE/ossl.err")"
    # The same structure as a signature file, but for the signing time.
    cp "$CASE/out" stdout.p7s
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin
    expect_rc 0
    openssl cms -cmsout -print -inform DER -in stdout.p7s | grep -v UTCTIME >a.txt
    openssl cms -cmsout -print -inform DER -in a.bin.p7s | grep -v UTCTIME >b.txt
    [ "$(grep -c . a.txt)" -eq "$(grep -c . b.txt)" ] || fail "structures differ"
}

t_sign_out_stdout_pem_and_stdin() {
    signing_key
    echo hello >a.bin
    CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --pem -o - - <a.bin >sig.pem 2>err ||
        fail "exit $?: $(cat err)"
    [ ! -e ./- ] || fail "a file named '-' was written"
    head -1 sig.pem | grep -q -- "-----BEGIN CMS-----\|-----BEGIN PKCS7-----" ||
        fail "not PEM: $(head -c 60 sig.pem)"
    ossl_verify a.bin sig.pem PEM || fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

t_sign_out_stdout_one_input() {
    signing_key
    echo a >a.bin
    echo b >b.bin
    run CSIGN_PIN=/nonexistent csign sign --key "$KEY" -o - a.bin b.bin
    expect_rc 2
    expect_one_error_line sign
    expect_err "-o takes one input only"
    run csign sign --key "$KEY" --json -o - a.bin
    expect_rc 2
    expect_err "excludes --json"
    [ ! -e ./- ] || fail "a file named '-' was written"
}

t_sign_quiet_files() {
    signing_key
    echo a >a.bin
    echo b >b.bin
    run CSIGN_PIN=$USER_PIN csign sign -q --key "$KEY" a.bin b.bin
    expect_rc 0
    [ ! -s "$CASE/out" ] || fail "-q printed on stdout"
    [ ! -s "$CASE/err" ] || fail "-q printed on stderr"
    [ -s a.bin.p7s ] && [ -s b.bin.p7s ] || fail "not signed"
    # Errors are still printed.
    run CSIGN_PIN=$USER_PIN csign sign -q --key "$KEY" a.bin missing.bin
    expect_rc 2
    expect_err "a.bin.p7s"
    expect_err "missing.bin"
    [ ! -s "$CASE/out" ] || fail "-q printed on stdout"
    # --json is unaffected.
    run CSIGN_PIN=$USER_PIN csign sign -q --json --force --key "$KEY" a.bin
    expect_rc 0
    expect_out '"status": "ok"'
}

t_sign_quiet_manifest() {
    signing_key
    echo a >a.bin
    echo b >b.bin
    run CSIGN_PIN=$USER_PIN csign sign --quiet --key "$KEY" --manifest SUMS a.bin b.bin
    expect_rc 0
    [ ! -s "$CASE/out" ] || fail "-q printed on stdout"
    [ -s SUMS ] && [ -s SUMS.p7s ] || fail "no manifest"
    run CSIGN_PIN=$USER_PIN csign sign -q --force --json --key "$KEY" --manifest SUMS a.bin b.bin
    expect_rc 0
    jq -e '.manifest.path == "SUMS"' "$CASE/out" >/dev/null || fail "-q changed the JSON"
}

t_sign_skips_signatures() {
    signing_key
    echo a >a.bin
    echo b >b.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin b.bin
    expect_rc 0
    # A PEM signature is one too.
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --pem -o c.p7s a.bin
    expect_rc 0
    # Run again over everything: the signatures are skipped, with a note.
    run CSIGN_PIN=$USER_PIN csign sign --force --key "$KEY" a.bin a.bin.p7s b.bin b.bin.p7s c.p7s
    expect_rc 0
    expect_err "csign: sign: skipping a.bin.p7s: it is a signature; add --include-signatures"
    expect_err "skipping c.p7s"
    expect_out "signed a.bin -> a.bin.p7s"
    [ ! -e a.bin.p7s.p7s ] && [ ! -e b.bin.p7s.p7s ] && [ ! -e c.p7s.p7s ] ||
        fail "a signature was signed"
    # The same with --manifest.
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SUMS a.bin a.bin.p7s
    expect_rc 0
    expect_err "skipping a.bin.p7s"
    ! grep -q p7s SUMS || fail "the manifest lists a signature"
    # -q leaves out the note.
    run CSIGN_PIN=$USER_PIN csign sign -q --force --key "$KEY" a.bin a.bin.p7s
    expect_rc 0
    [ ! -s "$CASE/err" ] || fail "-q printed a note"
}

t_sign_include_signatures() {
    signing_key
    echo a >a.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign sign --include-signatures --key "$KEY" a.bin.p7s
    expect_rc 0
    expect_out "signed a.bin.p7s -> a.bin.p7s.p7s"
    [ -s a.bin.p7s.p7s ] || fail "not signed"
}

t_sign_p7s_not_a_signature() {
    signing_key
    echo "just text" >notes.p7s
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" notes.p7s
    expect_rc 0
    expect_out "signed notes.p7s -> notes.p7s.p7s"
    expect_no_err "skipping"
}

t_sign_only_signatures_nothing_to_sign() {
    signing_key
    echo a >a.bin
    echo b >b.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin b.bin
    expect_rc 0
    # No login happens: a PIN source that cannot be read is never asked.
    run csign sign --pin-source file:/nonexistent --key "$KEY" a.bin.p7s b.bin.p7s
    expect_rc 2
    expect_err "skipping a.bin.p7s"
    expect_err "csign: sign: nothing to sign: every input is a signature; add --include-signatures"
}

t_sign_manifest_name_sets_list_digest() {
    signing_key ec:p384
    head -c 5000 /dev/urandom >a.bin
    echo b >b.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SHA256SUMS a.bin b.bin
    expect_rc 0
    sha256sum -c SHA256SUMS >sums.out 2>&1 || fail "sha256sum -c: $(cat sums.out)"
    # The list's signature keeps the key's own digest.
    openssl cms -cmsout -print -inform DER -in SHA256SUMS.p7s >print
    grep -q "algorithm: sha384" print || fail "the P-384 signature is not SHA-384"
    run csign verify --trust "$CASE/root.pem" --manifest SHA256SUMS
    expect_rc 0
    # Any case, with an extension; SHA-512 and SHA-384 alike.
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --json --manifest sha512sums.txt a.bin b.bin
    expect_rc 0
    jq -e '.manifest.digest_algorithm == "sha384" and all(.files[]; .digest_algorithm == "sha512")' \
        "$CASE/out" >/dev/null || fail "json: the lines' digest or the signature's"
    sha512sum -c sha512sums.txt >sums.out 2>&1 || fail "sha512sum -c: $(cat sums.out)"
    mkdir sub
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest sha512 --manifest sub/SHA384SUMS.TXT a.bin
    expect_rc 2
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest ./SHA384SUMS.TXT a.bin b.bin
    expect_rc 0
    sha384sum -c SHA384SUMS.TXT >sums.out 2>&1 || fail "sha384sum -c: $(cat sums.out)"
    # A name that names no digest: the key's digest, as before.
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest CHECKSUMS a.bin b.bin
    expect_rc 0
    sha384sum -c CHECKSUMS >sums.out 2>&1 || fail "sha384sum -c: $(cat sums.out)"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SHA256SUMSX a.bin b.bin
    expect_rc 0
    sha384sum -c SHA256SUMSX >sums.out 2>&1 || fail "sha384sum -c: $(cat sums.out)"
}

t_sign_manifest_digest_contradicts_name() {
    echo a >a.bin
    # Refused before any module is loaded or PIN read.
    run csign sign --module /nonexistent/libnone.so --pin-source file:/nonexistent \
        --key "$KEY" --digest sha384 --manifest SHA256SUMS a.bin
    expect_rc 2
    expect_one_error_line sign
    expect_err "--digest sha384 contradicts the manifest's name 'SHA256SUMS', a sha256 list"
    [ ! -e SHA256SUMS ] || fail "a list was written"
    # Agreeing is fine (checked up to the module).
    run csign sign --module /nonexistent/libnone.so --key "$KEY" --digest sha256 \
        --manifest sha256sums.txt a.bin
    expect_no_err "contradicts"
}

t_sign_folder_hint() {
    signing_key
    mkdir dist
    echo a >a.bin
    # Only a folder: nothing to sign, said before any PIN is read.
    run csign sign --pin-source file:/nonexistent --key "$KEY" dist
    expect_rc 5
    expect_err "csign: sign: dist: is a folder; name the files, such as with 'find dist -type f' or --files-from"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin dist
    expect_rc 5
    expect_err "dist: is a folder; name the files"
    expect_out "signed a.bin -> a.bin.p7s"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SUMS a.bin dist
    expect_rc 5
    expect_one_error_line sign
    expect_err "csign: sign: dist: is a folder; name the files"
    [ ! -e SUMS ] || fail "a list was written"
}

t_files_from_stdin_sign_verify_digest() {
    signing_key
    mkdir -p d
    echo one >"d/a b.bin"
    echo two >d/c.bin
    echo three >d/e.bin
    printf 'd/a b.bin\n\nd/c.bin\nd/e.bin\n' >list
    CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --files-from - <list >"$CASE/out" \
        2>"$CASE/err"
    RC=$?
    expect_rc 0
    expect_out "signed d/a b.bin -> d/a b.bin.p7s"
    expect_out "signed d/c.bin -> d/c.bin.p7s"
    expect_out "signed d/e.bin -> d/e.bin.p7s"
    "$CSIGN_BIN" verify --trust "$CASE/root.pem" --files-from - <list >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    [ "$(grep -c '^OK' "$CASE/out")" -eq 3 ] || fail "not three files verified"
    "$CSIGN_BIN" digest --files-from - <list >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    [ "$(grep -c '^sha256:' "$CASE/out")" -eq 3 ] || fail "not three digests"
    expect_out "$(sha256sum d/c.bin | cut -d' ' -f1)  d/c.bin"
    # Operands come first, then the list; a list in a file works too.
    echo four >x.bin
    run csign digest x.bin --files-from list
    expect_rc 0
    [ "$(head -1 "$CASE/out" | cut -d' ' -f3)" = x.bin ] || fail "operand not first"
    [ "$(grep -c . "$CASE/out")" -eq 4 ] || fail "not four digests"
}

t_files_from0_name_with_newline() {
    signing_key
    printf 'one' >"new"$'\n'"line.bin"
    printf 'two' >plain.bin
    printf 'new\nline.bin\0plain.bin\0' >list0
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --files-from0 list0
    expect_rc 0
    [ -s "new"$'\n'"line.bin.p7s" ] && [ -s plain.bin.p7s ] || fail "not signed"
    run csign verify --trust "$CASE/root.pem" --files-from0 list0
    expect_rc 0
    run csign digest --files-from0 list0
    expect_rc 0
    [ "$(grep -c '^sha256:' "$CASE/out")" -eq 2 ] || fail "not two digests"
    # find -print0 | ... --files-from0 -
    mkdir tree && echo t >tree/f1 && echo u >tree/f2
    find tree -type f -print0 | "$CSIGN_BIN" digest --files-from0 - >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    [ "$(grep -c '^sha256:' "$CASE/out")" -eq 2 ] || fail "not two digests from find"
}

t_files_from_errors() {
    run csign digest --files-from missing.list
    expect_rc 4
    expect_one_error_line digest
    expect_err "cannot open the list of files 'missing.list'"
    printf 'a\0b\n' >bad
    run csign digest --files-from bad
    expect_rc 5
    expect_err "holds a NUL byte on line 1; use --files-from0"
    echo a >a
    printf 'a\n' | "$CSIGN_BIN" digest --files-from - - >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 2
    expect_err "'-' cannot be read from it too"
    run csign digest --files-from bad --files-from0 bad
    expect_rc 2
    : >empty
    run csign digest --files-from empty
    expect_rc 2
    expect_err "give the files to hash"
}

run_tests
