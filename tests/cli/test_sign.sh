#!/usr/bin/env bash
# csign sign, checked with `openssl cms -verify` as an independent verifier.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# ossl_verify FILE SIG [CAFILE] [FORM]: openssl's verdict, as exit status.
ossl_verify() {
    openssl cms -verify -binary -inform "${4:-DER}" -in "$2" -content "$1" \
        -CAfile "${3:-$CASE/root.pem}" -purpose any -out /dev/null 2>"$CASE/ossl.err"
}

# A CA, and a leaf for the token key issued by it with extra openssl
# options (dates, extensions): issue_leaf OUT [openssl ca options...]
issue_leaf() {
    local out=$1
    shift
    mkdir -p "$CASE/ca"
    : >"$CASE/ca/index"
    echo 01 >"$CASE/ca/serial"
    [ -f "$CASE/ca/ca.pem" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -nodes -keyout "$CASE/ca/ca.key" -subj "/CN=Test CA" -days 30 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -out "$CASE/ca/ca.pem" 2>/dev/null
    cat >"$CASE/ca/conf" <<CONF
[ca]
default_ca = test
[test]
dir = $CASE/ca
database = \$dir/index
serial = \$dir/serial
new_certs_dir = \$dir
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[codesign]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
[serveronly]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
[noeku]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
CONF
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Leaf' -o "$CASE/leaf.csr" --force
    openssl ca -batch -config "$CASE/ca/conf" -in "$CASE/leaf.csr" -out "$out" -notext "$@" \
        >/dev/null 2>&1 || fail "openssl ca"
}

t_interop_each_key_type() {
    for spec in "ec:p256" "ec:p384" "rsa:3072" "rsa:3072 --pss"; do
        set -- $spec
        setup_case
        signing_key "$1"
        head -c 100000 /dev/urandom >"$CASE/data.bin"
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" ${2:-} "$CASE/data.bin"
        expect_rc 0
        expect_out "signed $CASE/data.bin -> $CASE/data.bin.p7s"
        ossl_verify "$CASE/data.bin" "$CASE/data.bin.p7s" || fail "$spec: openssl rejects: $(cat "$CASE/ossl.err")"
        run csign verify --trust "$CASE/root.pem" "$CASE/data.bin"
        expect_rc 0
        openssl cms -cmsout -print -inform DER -in "$CASE/data.bin.p7s" >"$CASE/print"
        grep -q "eContent: <ABSENT>" "$CASE/print" || fail "$spec: not detached"
        for attr in contentType messageDigest signingTime "id-smime-aa-signingCertificateV2"; do
            grep -q "object: $attr" "$CASE/print" || fail "$spec: no $attr attribute"
        done
        [ "$(grep -c "signerInfos:" "$CASE/print")" -eq 1 ] || fail "signer count"
        case $spec in
        ec:p384) grep -q "algorithm: sha384" "$CASE/print" || fail "P-384 not SHA-384" ;;
        *--pss) grep -q "rsassaPss" "$CASE/print" || fail "not PSS" ;;
        rsa:3072) grep -q "rsaEncryption" "$CASE/print" || fail "not PKCS#1 v1.5" ;;
        esac
    done
}

t_pem_output() {
    signing_key
    echo hello >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --pem "$CASE/f"
    expect_rc 0
    grep -q "BEGIN CMS" "$CASE/f.p7s" || fail "not PEM"
    ossl_verify "$CASE/f" "$CASE/f.p7s" "$CASE/root.pem" PEM || fail "openssl rejects PEM"
}

t_chain_from_token_included() {
    signing_key
    issue_leaf "$CASE/leaf.pem" -extensions codesign -days 5
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --force --chain "$CASE/ca/ca.pem" \
        "$CASE/leaf.pem"
    expect_rc 0
    echo data >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/f"
    expect_rc 0
    openssl cms -cmsout -print -inform DER -in "$CASE/f.p7s" | grep -c "subject: CN=" >"$CASE/n"
    [ "$(cat "$CASE/n")" -ge 2 ] || fail "CA certificate not included"
    ossl_verify "$CASE/f" "$CASE/f.p7s" "$CASE/ca/ca.pem" || fail "does not chain to the CA"
}

t_cert_and_chain_files() {
    signing_key
    issue_leaf "$CASE/leaf.pem" -extensions codesign -days 5
    echo data >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --cert "$CASE/leaf.pem" \
        --chain "$CASE/ca/ca.pem" "$CASE/f"
    expect_rc 0
    ossl_verify "$CASE/f" "$CASE/f.p7s" "$CASE/ca/ca.pem" || fail "openssl rejects"
}

t_many_files_one_login() {
    signing_key
    mkdir "$CASE/files"
    for i in $(seq 200); do echo "file $i" >"$CASE/files/f$i"; done
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" "$CASE"/files/f*
    expect_rc 0
    [ "$(count_calls 'C_Login user')" -eq 1 ] || fail "logins: $(count_calls 'C_Login user')"
    [ "$(count_calls C_Initialize)" -eq 1 ] || fail "module initialised more than once"
    [ "$(count_calls C_OpenSession)" -eq 1 ] || fail "sessions: $(count_calls C_OpenSession)"
    [ "$(count_calls C_Sign)" -eq 200 ] || fail "token signatures: $(count_calls C_Sign)"
    [ "$(grep -c '^signed ' "$CASE/out")" -eq 200 ] || fail "not 200 signed"
    for i in $(seq 200); do
        ossl_verify "$CASE/files/f$i" "$CASE/files/f$i.p7s" || fail "f$i does not verify"
    done
}

t_outputs_flushed_per_batch() {
    # 300 outputs in one folder: every file is flushed, but the folder once
    # per batch of 128, not once per file.
    command -v strace >/dev/null || fail "strace is missing (scripts/install-deps.sh)"
    signing_key
    mkdir "$CASE/files"
    for i in $(seq 300); do echo "file $i" >"$CASE/files/f$i"; done
    # LeakSanitizer cannot run under ptrace: off for this run (ASan builds).
    CSIGN_PIN=$USER_PIN ASAN_OPTIONS=detect_leaks=0 \
        strace -f -qq -e trace=fsync,fdatasync -o "$CASE/strace" "$CSIGN_BIN" sign --key "$KEY" \
        "$CASE"/files/f* >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 0
    [ "$(grep -c '^signed ' "$CASE/out")" -eq 300 ] || fail "not 300 signed"
    local data dirs
    data=$(grep -c 'fdatasync(' "$CASE/strace")
    dirs=$(grep -c 'fsync(' "$CASE/strace")
    [ "$data" -eq 300 ] || fail "$data file flushes for 300 files"
    [ "$dirs" -eq 3 ] || fail "$dirs folder flushes for 300 files in 3 batches"
    ! ls "$CASE/files" | grep -q csign-tmp || fail "temporary file left"
    for i in 1 128 129 256 257 300; do
        ossl_verify "$CASE/files/f$i" "$CASE/files/f$i.p7s" || fail "f$i does not verify"
    done
}

t_jobs_give_identical_digests() {
    signing_key
    mkdir "$CASE/files"
    local files=()
    for i in $(seq 12); do
        head -c $((i * 37000)) /dev/urandom >"$CASE/files/f$i"
        files+=("$CASE/files/f$i")
    done
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --jobs 1 --json "${files[@]}"
    expect_rc 0
    jq -c '[.files[] | {path, digest}]' "$CASE/out" >"$CASE/one"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --jobs 2 --json --force "${files[@]}"
    expect_rc 0
    jq -c '[.files[] | {path, digest}]' "$CASE/out" >"$CASE/two"
    cmp -s "$CASE/one" "$CASE/two" || fail "--jobs 1 and --jobs 2 differ"
    [ "$(jq length "$CASE/one")" -eq 12 ] || fail "not 12 records"
    for i in $(seq 12); do
        want=$(sha256sum "$CASE/files/f$i" | cut -d' ' -f1)
        jq -e --arg f "$CASE/files/f$i" --arg d "$want" '.files[] | select(.path == $f) | .digest == $d' \
            "$CASE/out" >/dev/null || fail "f$i digest"
    done
    run csign sign --key "$KEY" --jobs 0 "$CASE/files/f1"
    expect_rc 2
    expect_err "--jobs needs a number"
}

t_one_failure_does_not_stop_the_others() {
    signing_key
    echo a >"$CASE/a"
    echo c >"$CASE/c"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/a" "$CASE/missing" "$CASE/c"
    expect_rc 4
    expect_err "csign: sign: $CASE/missing: cannot open"
    expect_err "1 of 3 files failed"
    [ -f "$CASE/a.p7s" ] && [ -f "$CASE/c.p7s" ] || fail "the others were not signed"
    [ ! -e "$CASE/missing.p7s" ] || fail "output for the failed file"
    ls "$CASE" | grep -q csign-tmp && fail "temporary file left"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force --fail-fast "$CASE/missing" "$CASE/c"
    expect_rc 4
    expect_no_out "signed"
}

t_fail_fast_stops_at_a_write_failure() {
    # An output that appears after the checks (another process, say) fails
    # to land; --fail-fast must stop there, not sign on.
    signing_key
    for f in a b c d e; do echo "$f" >"$CASE/$f"; done
    # c's signature waits at the token until c.p7s has appeared.
    CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_GATE="C_Sign@3:$CASE/go" \
        "$CSIGN_BIN" sign --key "$KEY" --module "$CSIGN_SHIM" --fail-fast \
        "$CASE"/a "$CASE"/b "$CASE"/c "$CASE"/d "$CASE"/e >"$CASE/out" 2>"$CASE/err" </dev/null &
    local pid=$!
    for _ in $(seq 600); do
        [ "$(count_calls C_Sign)" -ge 3 ] && break
        sleep 0.05
    done
    echo theirs >"$CASE/c.p7s"
    touch "$CASE/go"
    wait "$pid"
    RC=$?
    [ "$(count_calls C_Sign)" -ge 2 ] || fail "signing never started"
    expect_rc 2
    expect_err "c.p7s' exists"
    [ -f "$CASE/a.p7s" ] && [ -f "$CASE/b.p7s" ] || fail "a and b not signed"
    [ "$(cat "$CASE/c.p7s")" = theirs ] || fail "c.p7s replaced"
    [ ! -e "$CASE/d.p7s" ] && [ ! -e "$CASE/e.p7s" ] || fail "signed on after the failure"
    [ "$(count_calls C_Sign)" -eq 3 ] || fail "$(count_calls C_Sign) token signatures, not 3"
    ! ls "$CASE" | grep -q csign-tmp || fail "temporary file left"
}

t_existing_output_refused_before_login() {
    signing_key
    echo a >"$CASE/a"
    echo old >"$CASE/a.p7s"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" --fail-fast "$CASE/a"
    expect_rc 2
    expect_err "exists; use --force"
    [ "$(cat "$CASE/a.p7s")" = old ] || fail "replaced without --force"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in anyway"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force "$CASE/a"
    expect_rc 0
    ossl_verify "$CASE/a" "$CASE/a.p7s" || fail "not replaced"
}

t_unwritable_out_dir_before_login() {
    signing_key
    echo a >"$CASE/a"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" --out-dir "$CASE/nope" --fail-fast "$CASE/a"
    expect_rc 4
    expect_err "cannot write"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "logged in anyway"
    mkdir "$CASE/sigs"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --out-dir "$CASE/sigs" "$CASE/a"
    expect_rc 0
    [ -f "$CASE/sigs/a.p7s" ] || fail "--out-dir not used"
}

t_stdin_and_pipe() {
    signing_key
    head -c 300000 /dev/urandom >"$CASE/data"
    CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" -o "$CASE/data.sig" - \
        <"$CASE/data" >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    ossl_verify "$CASE/data" "$CASE/data.sig" || fail "stdin signature"
    cat "$CASE/data" | CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" -o "$CASE/pipe.sig" \
        --pin-source env:CSIGN_PIN - >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    ossl_verify "$CASE/data" "$CASE/pipe.sig" || fail "pipe signature"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" -
    expect_rc 2
    expect_err "signing standard input needs -o"
}

t_usage_errors() {
    run csign sign --key "$KEY"
    expect_rc 2
    expect_err "give the files to sign"
    run csign sign a b --key "$KEY" -o x
    expect_rc 2
    expect_err "-o takes one input only"
    run csign sign --key "$KEY" --digest sha1 a
    expect_rc 2
    expect_err "unknown digest 'sha1'"
    run csign sign --key "$KEY" --digest md5 a
    expect_rc 2
    run csign sign --key "$KEY" --out-dir d "$CASE/x/a" "$CASE/y/a"
    expect_rc 2
    expect_err "would both be signed to"
}

t_pss_needs_rsa() {
    signing_key ec:p256
    echo a >"$CASE/a"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --pss "$CASE/a"
    expect_rc 2
    expect_err "--pss needs an RSA key"
}

t_digest_override() {
    signing_key ec:p256
    echo a >"$CASE/a"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest sha512 "$CASE/a"
    expect_rc 0
    openssl cms -cmsout -print -inform DER -in "$CASE/a.p7s" | grep -q "algorithm: sha512" ||
        fail "not SHA-512"
    ossl_verify "$CASE/a" "$CASE/a.p7s" || fail "openssl rejects"
}

t_faulty_token_leaves_no_file() {
    signing_key
    echo a >"$CASE/a"
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_CORRUPT_SIGNATURE=1 csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" "$CASE/a"
    expect_rc 5
    expect_err "the token signed wrongly"
    [ ! -e "$CASE/a.p7s" ] || fail "a signature was written"
}

t_certificate_checked_before_pin() {
    signing_key
    echo a >"$CASE/a"
    issue_leaf "$CASE/expired.pem" -extensions codesign -startdate 20200101000000Z \
        -enddate 20200201000000Z
    issue_leaf "$CASE/server.pem" -extensions serveronly -days 5
    issue_leaf "$CASE/noeku.pem" -extensions noeku -days 5
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CASE/o.key" \
        -subj "/CN=Other" -days 3 -addext extendedKeyUsage=codeSigning \
        -addext keyUsage=critical,digitalSignature -out "$CASE/other.pem" 2>/dev/null
    for c in "expired.pem:certificate expired at 2020-02-01" \
        "server.pem:certificate lacks codeSigning usage" \
        "noeku.pem:certificate lacks codeSigning usage" \
        "other.pem:the certificate does not belong to the key"; do
        run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
            --module "$CSIGN_SHIM" --cert "$CASE/${c%%:*}" "$CASE/a"
        expect_rc 5
        expect_one_error_line sign
        expect_err "csign: sign: ${c#*:}"
    done
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "the PIN was used"
    [ ! -e "$CASE/a.p7s" ] || fail "signed anyway"
}

t_key_without_certificate() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY"
    echo a >"$CASE/a"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/a"
    expect_rc 3
    expect_err "has no certificate on the token"
}

t_json_records() {
    signing_key
    echo a >"$CASE/a"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --json "$CASE/a" "$CASE/missing"
    expect_rc 4
    jq -e . "$CASE/out" >/dev/null || fail "not JSON"
    want=$(sha256sum "$CASE/a" | cut -d' ' -f1)
    fp=$(openssl x509 -in "$CASE/root.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
        tr A-F a-f)
    jq -e --arg d "$want" --arg fp "$fp" --arg f "$CASE/a" '.files[0] | .path == $f
        and .status == "ok" and .digest_algorithm == "sha256" and .digest == $d
        and .signature == ($f + ".p7s") and .signer_subject == "CN=Release Signing"
        and .signer_sha256 == $fp and .reason == null' "$CASE/out" >/dev/null ||
        fail "ok record"
    jq -e '.files[1] | .status == "error" and .exit_code == 4 and (.reason | contains("cannot open"))
        and .signature == null' "$CASE/out" >/dev/null || fail "error record"
}

t_file_changing_while_hashed() {
    signing_key
    truncate -s 2G "$CASE/big"
    # A writer keeps changing the file while csign hashes it.
    (for _ in $(seq 400); do touch "$CASE/big"; sleep 0.01; done) &
    local writer=$!
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/big"
    kill "$writer" 2>/dev/null
    wait "$writer" 2>/dev/null
    expect_rc 5
    expect_err "changed while it was being hashed"
    [ ! -e "$CASE/big.p7s" ] || fail "signature written"
}

t_sigterm_leaves_nothing() {
    signing_key
    truncate -s 8G "$CASE/big"
    CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" "$CSIGN_BIN" sign --key "$KEY" \
        --module "$CSIGN_SHIM" "$CASE/big" >"$CASE/out" 2>"$CASE/err" </dev/null &
    local pid=$!
    for _ in $(seq 600); do
        [ "$(count_calls 'C_Login user')" -gt 0 ] && break
        sleep 0.05
    done
    [ "$(count_calls 'C_Login user')" -gt 0 ] || fail "no login within 30 s"
    sleep 0.2
    kill -TERM "$pid"
    wait "$pid"
    RC=$?
    expect_rc 143
    expect_err "interrupted"
    [ ! -e "$CASE/big.p7s" ] || fail "signature written"
    ! ls "$CASE" | grep -q csign-tmp || fail "temporary file left"
    [ "$(count_calls C_CloseSession)" -ge 1 ] || fail "session not closed"
}

t_huge_sparse_file_constant_memory() {
    signing_key
    head -c 4096 /dev/urandom >"$CASE/small"
    truncate -s 4G "$CASE/huge"
    peak_rss CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/small"
    expect_rc 0
    local small=$PEAK_KIB
    peak_rss CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/huge"
    expect_rc 0
    expect_same_peak "$small" "$PEAK_KIB"
    ossl_verify "$CASE/huge" "$CASE/huge.p7s" || fail "openssl rejects the 4 GiB signature"
}

run_tests
