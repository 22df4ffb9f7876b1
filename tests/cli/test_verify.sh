#!/usr/bin/env bash
# csign verify: csign's and openssl's signatures, and every way one can be
# wrong. Software keys made with the openssl CLI stand in for signers where
# the token is not the point.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# pki: a root CA and three leaves issued by it (software keys, openssl CLI):
# leaf (codeSigning), server (serverAuth only), noeku (no EKU), noku (no KU),
# old (expired in 2020).
pki() {
    local d=$CASE/pki
    mkdir -p "$d"
    : >"$d/index"
    echo 01 >"$d/serial"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
        -subj "/CN=Verify Test CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign -out "$d/ca.pem" 2>/dev/null || fail "CA"
    cat >"$d/conf" <<CONF
[ca]
default_ca = t
[t]
dir = $d
database = \$dir/index
serial = \$dir/serial
new_certs_dir = \$dir
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
[server]
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
[noeku]
keyUsage = critical,digitalSignature
[noku]
extendedKeyUsage = codeSigning
[anyeku]
keyUsage = critical,digitalSignature
extendedKeyUsage = anyExtendedKeyUsage
CONF
    for l in leaf server noeku noku anyeku old; do
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/$l.key" -subj "/CN=$l" -out "$d/$l.csr" 2>/dev/null
        local ext=$l dates=(-days 10)
        [ $l = old ] && ext=leaf dates=(-startdate 20200101000000Z -enddate 20200201000000Z)
        openssl ca -batch -config "$d/conf" -extensions "$ext" "${dates[@]}" -notext \
            -in "$d/$l.csr" -out "$d/$l.pem" >/dev/null 2>&1 || fail "issue $l"
    done
    echo "content to sign" >"$CASE/f"
}

# osign NAME [openssl cms options]: detached signature of $CASE/f by leaf NAME.
osign() {
    local who=$1
    shift
    openssl cms -sign -binary -in "$CASE/f" -signer "$CASE/pki/$who.pem" \
        -inkey "$CASE/pki/$who.key" -outform DER -out "$CASE/f.p7s" "$@" 2>/dev/null ||
        fail "openssl cms -sign $*"
}

verify_fails() { # verify_fails REASON [csign verify args...]
    local reason=$1
    shift
    run csign verify --trust "$CASE/pki/ca.pem" "$@" "$CASE/f"
    expect_rc 1
    expect_out "FAIL $CASE/f: $reason"
    expect_no_out "OK "
}

t_accepts_openssl_signature() {
    pki
    osign leaf -md sha256
    run csign verify --trust "$CASE/pki/ca.pem" "$CASE/f"
    expect_rc 0
    expect_out "OK $CASE/f signed by CN=leaf at "
}

t_accepts_csign_signatures() {
    for type in ec:p256 ec:p384 rsa:3072; do
        setup_case
        new_token dev
        run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type $type
        run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Rel' --import \
            -o "$CASE/root.pem"
        echo data >"$CASE/g"
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/g"
        expect_rc 0
        run csign verify --trust "$CASE/root.pem" "$CASE/g"
        expect_rc 0
        expect_out "OK $CASE/g signed by CN=Rel"
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --pem -o "$CASE/g.pem" "$CASE/g"
        run csign verify --trust "$CASE/root.pem" --sig "$CASE/g.pem" "$CASE/g"
        expect_rc 0
    done
}

t_content_changes() {
    pki
    osign leaf
    cp "$CASE/f" "$CASE/orig"
    printf '\x01' | dd of="$CASE/f" bs=1 seek=3 conv=notrunc 2>/dev/null
    verify_fails "content does not match the signature"
    head -c -1 "$CASE/orig" >"$CASE/f"
    verify_fails "content does not match the signature"
    { cat "$CASE/orig"; echo; } >"$CASE/f"
    verify_fails "content does not match the signature"
    : >"$CASE/f"
    verify_fails "content does not match the signature"
}

t_wrong_anchor() {
    pki
    osign leaf
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CASE/o.key" \
        -subj "/CN=Other CA" -days 3 -out "$CASE/other.pem" 2>/dev/null
    run csign verify --trust "$CASE/other.pem" "$CASE/f"
    expect_rc 1
    expect_out "FAIL $CASE/f: signer not trusted: chain stops at 'CN=leaf', issued by 'CN=Verify Test CA', which is neither among the 1 anchor in $CASE/other.pem (CN=Other CA)"
}

t_leaf_usage() {
    pki
    osign server
    verify_fails "certificate lacks codeSigning usage"
    osign noeku
    verify_fails "certificate lacks codeSigning usage"
    osign anyeku
    verify_fails "certificate lacks codeSigning usage"
    osign noku
    verify_fails "certificate lacks digitalSignature usage"
}

t_expired() {
    pki
    osign leaf
    verify_fails "signer not trusted: certificate has expired" --at-time 2099-01-01T00:00:00Z
    verify_fails "signer not trusted: certificate is not yet valid" --at-time 2001-01-01T00:00:00Z
    osign old
    verify_fails "signer not trusted: certificate has expired"
    # When the old leaf was valid, its CA (made today) was not: still no.
    run csign verify --trust "$CASE/pki/ca.pem" --at-time 2020-01-15T12:00:00+01:00 "$CASE/f"
    expect_rc 1
    expect_out "not yet valid" # the CA itself was made today
}

t_weak_digest() {
    pki
    osign leaf -md sha1
    verify_fails "digest algorithm SHA1 is not allowed"
}

t_pss_with_sha1_mgf_refused() {
    pki
    openssl req -new -newkey rsa:3072 -nodes -keyout "$CASE/pki/r.key" -subj "/CN=rsa" \
        -out "$CASE/pki/r.csr" 2>/dev/null
    openssl ca -batch -config "$CASE/pki/conf" -extensions leaf -days 5 -notext \
        -in "$CASE/pki/r.csr" -out "$CASE/pki/r.pem" >/dev/null 2>&1
    osign r -keyopt rsa_padding_mode:pss
    run csign verify --trust "$CASE/pki/ca.pem" "$CASE/f"
    expect_rc 0
    osign r -keyopt rsa_padding_mode:pss -keyopt rsa_mgf1_md:sha1
    verify_fails "signature algorithm RSASSA-PSS is not allowed"
}

t_pem_with_hidden_trailing_data() {
    pki
    osign leaf
    { echo "-----BEGIN CMS-----"; { cat "$CASE/f.p7s"; printf 'GARBAGE'; } | base64;
      echo "-----END CMS-----"; } >"$CASE/f.pem"
    verify_fails "malformed signature: trailing data" --sig "$CASE/f.pem"
    { echo "-----BEGIN CMS-----"; base64 <"$CASE/f.p7s"; echo "-----END CMS-----"; } >"$CASE/ok.pem"
    run csign verify --trust "$CASE/pki/ca.pem" --sig "$CASE/ok.pem" "$CASE/f"
    expect_rc 0
}

t_ber_indefinite_length_refused() {
    pki
    osign leaf
    [ "$(head -c 2 "$CASE/f.p7s" | od -An -tx1 | tr -d ' ')" = 3082 ] || fail "unexpected DER header"
    { printf '\x30\x80'; tail -c +5 "$CASE/f.p7s"; printf '\x00\x00'; } >"$CASE/ber.p7s"
    verify_fails "malformed signature: not DER" --sig "$CASE/ber.p7s"
}

t_ca_excluding_code_signing() {
    pki
    local d=$CASE/pki
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/tls.key" \
        -subj "/CN=TLS only CA" -out "$d/tls.csr" 2>/dev/null
    printf '[v]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nextendedKeyUsage=serverAuth\n' >"$d/tls.ext"
    openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -days 5 \
        -extfile "$d/tls.ext" -extensions v -out "$d/tls.pem" 2>/dev/null
    printf '[l]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >"$d/l.ext"
    openssl x509 -req -in "$d/leaf.csr" -CA "$d/tls.pem" -CAkey "$d/tls.key" -days 5 \
        -extfile "$d/l.ext" -extensions l -out "$d/l3.pem" 2>/dev/null
    openssl cms -sign -binary -in "$CASE/f" -signer "$d/l3.pem" -inkey "$d/leaf.key" \
        -certfile "$d/tls.pem" -outform DER -out "$CASE/f.p7s" 2>/dev/null
    verify_fails "signer not trusted: CA certificate 1 of the chain excludes code signing"
}

t_trailing_bytes() {
    pki
    osign leaf
    printf 'x' >>"$CASE/f.p7s"
    verify_fails "malformed signature: trailing data"
}

t_malformed() {
    pki
    : >"$CASE/f.p7s"
    verify_fails "malformed signature: empty"
    echo "not cms" >"$CASE/f.p7s"
    verify_fails "malformed signature: not a DER CMS structure"
    osign leaf
    head -c 100 "$CASE/f.p7s" >"$CASE/t" && mv "$CASE/t" "$CASE/f.p7s"
    verify_fails "malformed signature"
}

t_attached_signature_over_other_content() {
    pki
    echo "other content" >"$CASE/other"
    openssl cms -sign -binary -nodetach -in "$CASE/other" -signer "$CASE/pki/leaf.pem" \
        -inkey "$CASE/pki/leaf.key" -outform DER -out "$CASE/f.p7s" 2>/dev/null
    verify_fails "the signature carries content of its own"
}

t_two_signers() {
    pki
    osign leaf -signer "$CASE/pki/server.pem" -inkey "$CASE/pki/server.key"
    verify_fails "the signature has 2 signers, not one"
}

t_no_signed_attributes() {
    pki
    osign leaf -noattr
    verify_fails "the signature has no signed attributes"
}

t_expect_signer_and_subject() {
    pki
    osign leaf
    fp=$(openssl x509 -in "$CASE/pki/leaf.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g')
    run csign verify --trust "$CASE/pki/ca.pem" --expect-signer "SHA256:$fp" \
        --expect-subject CN=leaf "$CASE/f"
    expect_rc 0
    verify_fails "signer is not the expected certificate" --expect-signer "SHA256:$(printf '0%.0s' $(seq 64))"
    verify_fails "signer subject is not the expected one" --expect-subject CN=someone
}

t_min_rsa_bits() {
    pki
    openssl req -new -newkey rsa:2048 -nodes -keyout "$CASE/pki/r.key" -subj "/CN=rsa" \
        -out "$CASE/pki/r.csr" 2>/dev/null
    openssl ca -batch -config "$CASE/pki/conf" -extensions leaf -days 5 -notext \
        -in "$CASE/pki/r.csr" -out "$CASE/pki/r.pem" >/dev/null 2>&1
    osign r
    run csign verify --trust "$CASE/pki/ca.pem" "$CASE/f"
    expect_rc 0
    verify_fails "signer RSA key has 2048 bits, fewer than 3072" --min-rsa-bits 3072
}

t_untrusted_intermediate() {
    pki
    # A leaf issued by an intermediate; the signature carries only the leaf.
    local d=$CASE/pki
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/int.key" \
        -subj "/CN=Intermediate" -out "$d/int.csr" 2>/dev/null
    printf '[v3_int]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' >"$d/int.ext"
    openssl x509 -req -in "$d/int.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -days 5 \
        -extfile "$d/int.ext" -extensions v3_int -out "$d/int.pem" 2>/dev/null
    printf '[l]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' >"$d/l.ext"
    openssl x509 -req -in "$d/leaf.csr" -CA "$d/int.pem" -CAkey "$d/int.key" -days 5 \
        -extfile "$d/l.ext" -extensions l -out "$d/l2.pem" 2>/dev/null
    openssl cms -sign -binary -in "$CASE/f" -signer "$d/l2.pem" -inkey "$d/leaf.key" \
        -outform DER -out "$CASE/f.p7s" 2>/dev/null
    verify_fails "signer not trusted: chain stops at 'CN=leaf', issued by 'CN=Intermediate'"
    run csign verify --trust "$d/ca.pem" --untrusted "$d/int.pem" "$CASE/f"
    expect_rc 0
}

t_usage_and_io_errors() {
    pki
    osign leaf
    run csign verify "$CASE/f"
    expect_rc 2
    expect_err "--trust is required"
    run csign verify --trust "$CASE/pki/ca.pem" "$CASE/missing"
    expect_rc 4
    expect_err "could not be checked"
    for t in yesterday 2026-02-31T00:00:00Z 2026-11-27T12:00:00-9x:00 2026-1-1T1:1:1Z \
        " 2026-11-27T12:00:00Z" 2026-11-27T12:00:00 2026-11-27T24:00:00Z 2026-11-27T12:00:00+ab:cd; do
        run csign verify --trust "$CASE/pki/ca.pem" --at-time "$t" "$CASE/f"
        expect_rc 2
        expect_err "RFC 3339"
    done
    run csign verify --trust "$CASE/pki/ca.pem" --at-time 2099-01-01T00:00:00.5+01:00 "$CASE/f"
    expect_rc 1
    run csign verify --trust "$CASE/pki/ca.pem" --sig - -
    expect_rc 2
    expect_err "cannot both come from standard input"
    run csign verify --trust "$CASE/nope.pem" "$CASE/f"
    expect_rc 4
}

t_json_and_stdin() {
    pki
    osign leaf
    "$CSIGN_BIN" verify --trust "$CASE/pki/ca.pem" --sig "$CASE/f.p7s" --json - \
        <"$CASE/f" >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    serial=$(openssl x509 -in "$CASE/pki/leaf.pem" -noout -serial | cut -d= -f2)
    jq -e --arg s "$serial" '.[0] | .verdict == "valid" and .signer_subject == "CN=leaf"
        and .signer_issuer == "CN=Verify Test CA" and .signer_serial == $s
        and .digest_algorithm == "sha256" and (.signing_time | test("Z$"))
        and (.signer_sha256 | length == 64) and .reason == null' "$CASE/out" >/dev/null ||
        fail "JSON record"
    echo changed >>"$CASE/f"
    run csign verify --trust "$CASE/pki/ca.pem" --json "$CASE/f"
    expect_rc 1
    jq -e '.[0] | .verdict == "invalid" and .reason == "content does not match the signature"
        and .exit_code == 1' "$CASE/out" >/dev/null || fail "JSON failure record"
}

t_jobs_give_identical_verdicts() {
    pki
    local files=()
    for i in $(seq 10); do
        head -c $((i * 30000)) /dev/urandom >"$CASE/g$i"
        openssl cms -sign -binary -in "$CASE/g$i" -signer "$CASE/pki/leaf.pem" \
            -inkey "$CASE/pki/leaf.key" -outform DER -out "$CASE/g$i.p7s" 2>/dev/null
        files+=("$CASE/g$i")
    done
    echo tampered >>"$CASE/g3"
    rm "$CASE/g7.p7s"
    run csign verify --trust "$CASE/pki/ca.pem" --jobs 1 --json "${files[@]}"
    expect_rc 1
    jq -c '[.[] | {path, verdict, reason}]' "$CASE/out" >"$CASE/one"
    run csign verify --trust "$CASE/pki/ca.pem" --jobs 2 --json "${files[@]}"
    expect_rc 1
    jq -c '[.[] | {path, verdict, reason}]' "$CASE/out" >"$CASE/two"
    cmp -s "$CASE/one" "$CASE/two" || fail "--jobs 1 and --jobs 2 differ"
    jq -e '[.[] | .verdict] == ["valid","valid","invalid","valid","valid","valid","error",
        "valid","valid","valid"]' "$CASE/one" >/dev/null || fail "verdicts: $(cat "$CASE/one")"
}

t_file_names_escaped() {
    pki
    local name
    name="$CASE/$(printf 'evil\nOK fake')"
    echo data >"$name"
    run csign verify --trust "$CASE/pki/ca.pem" "$name"
    expect_rc 4
    [ "$(grep -c '^OK' "$CASE/out")" -eq 0 ] || fail "a forged OK line"
    expect_out 'evil\x0aOK fake'
}

t_huge_sparse_file_and_pipe() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY"
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Rel' --import -o "$CASE/root.pem"
    head -c 4096 /dev/urandom >"$CASE/small"
    truncate -s 4G "$CASE/huge"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/huge" "$CASE/small"
    expect_rc 0
    peak_rss csign verify --trust "$CASE/root.pem" "$CASE/small"
    expect_rc 0
    local small=$PEAK_KIB
    peak_rss csign verify --trust "$CASE/root.pem" "$CASE/huge"
    expect_rc 0
    expect_same_peak "$small" "$PEAK_KIB"
    head -c 5000000 /dev/zero | "$CSIGN_BIN" verify --trust "$CASE/root.pem" \
        --sig "$CASE/huge.p7s" - >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 1
    expect_out "content does not match"
}

# FILE.p7s longer than PATH_MAX is refused, never cut to another name
# (here FILE.p7, which holds a valid signature of FILE).
t_signature_path_too_long() {
    pki
    osign leaf
    # A relative FILE of 4092 bytes: FILE.p7s has 4096, one more than fits.
    local d=deep name
    while [ $((4092 - ${#d} - 1)) -gt 200 ]; do d="$d/$(printf 'd%.0s' $(seq 199))"; done
    name=$(printf 'f%.0s' $(seq $((4092 - ${#d} - 1))))
    (cd "$CASE" && mkdir -p "$d" && cp f "$d/$name" && cp f.p7s "$d/$name.p7") || fail "set-up"
    (cd "$CASE" && "$CSIGN_BIN" verify --trust "$CASE/pki/ca.pem" "$d/$name") \
        >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 2
    expect_err "is too long"
    expect_no_out "OK "
}

# A signature file over 16 MiB is never parsed: a verdict for verify (per
# file and for a list), malformed input for timestamp.
t_oversized_signature() {
    pki
    truncate -s 17M "$CASE/f.p7s"
    run csign verify --trust "$CASE/pki/ca.pem" "$CASE/f"
    expect_rc 1
    expect_out "malformed signature: larger than 16777216 bytes"
    (cd "$CASE" && sha256sum f >SUMS && cp f.p7s SUMS.p7s)
    run csign verify --trust "$CASE/pki/ca.pem" --manifest "$CASE/SUMS"
    expect_rc 1
    expect_no_out "OK"
    grep -qF "malformed signature: larger than 16777216 bytes" "$CASE/out" "$CASE/err" ||
        fail "manifest: no reason given"
    run csign timestamp --tsa http://127.0.0.1:1/ "$CASE/f.p7s"
    expect_rc 5
    expect_err "malformed signature: larger than 16777216 bytes"
    [ "$(stat -c %s "$CASE/f.p7s")" -eq $((17 * 1024 * 1024)) ] || fail "signature changed"
}

run_tests
