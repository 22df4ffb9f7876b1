#!/usr/bin/env bash
# RFC 3161 timestamps and revocation: csign sign --tsa, csign timestamp and
# csign verify --tsa-trust/--crl, against a local TSA (tests/tools/tsa_tool,
# honest or hostile) and checked with `openssl ts -verify` and
# `openssl cms -verify` as independent tools.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'
# The local TSA must be reached directly, whatever proxy the machine uses.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
TSA_TOOL=${CSIGN_TSA_TOOL:?set CSIGN_TSA_TOOL to the tsa_tool binary}
EARLY=20190101000000Z
LATE=20300101000000Z

# mkca DIR NAME [KEY OPTIONS]: a root CA valid from 2019 to 2030 (a P-256
# key unless openssl req key options are given), with an openssl ca
# configuration that can also revoke and issue CRLs.
mkca() {
    local d=$1 key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    [ $# -gt 2 ] && key=("${@:3}")
    mkdir -p "$d"
    : >"$d/index"
    echo 01 >"$d/serial"
    echo 01 >"$d/crlnumber"
    cat >"$d/conf" <<CONF
[ca]
default_ca = t
[t]
dir = $d
database = \$dir/index
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
[tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
[tsa_noncrit]
keyUsage = critical,digitalSignature
extendedKeyUsage = timeStamping
[tsa_noeku]
keyUsage = critical,digitalSignature
[tsa_extra]
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping,codeSigning
[tsa_unknown]
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping,1.2.3.4.5
[subca_email]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
extendedKeyUsage = emailProtection
[idp]
issuingDistributionPoint = critical,@idp_section
[idp_section]
onlysomereasons = keyCompromise
CONF
    openssl req -new "${key[@]}" -nodes -keyout "$d/ca.key" -subj "/CN=$2" -out "$d/ca.csr" \
        2>/dev/null || fail "CA key"
    openssl ca -batch -selfsign -config "$d/conf" -keyfile "$d/ca.key" -extensions root \
        -startdate $EARLY -enddate $LATE -notext -in "$d/ca.csr" -out "$d/ca.pem" \
        >/dev/null 2>&1 || fail "CA $2"
}

# issue DIR NAME EXT START END: a software key and certificate from DIR's CA.
issue() {
    local d=$1
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$2.key" \
        -subj "/CN=$2" -out "$d/$2.csr" 2>/dev/null || fail "key $2"
    openssl ca -batch -config "$d/conf" -extensions "$3" -startdate "$4" -enddate "$5" -notext \
        -in "$d/$2.csr" -out "$d/$2.pem" >/dev/null 2>&1 || fail "issue $2"
}

# The signing PKI (a root, a leaf valid 2019-2030 and one that expired in
# June 2020) and the TSA PKI (honest and hostile TSA certificates).
pki() {
    mkca "$CASE/ca" "Signing Root"
    issue "$CASE/ca" leaf leaf $EARLY $LATE
    issue "$CASE/ca" old leaf 20200101000000Z 20200601000000Z
    mkca "$CASE/tsaca" "TSA Root"
    issue "$CASE/tsaca" tsa tsa $EARLY $LATE
    for kind in tsa_noncrit tsa_noeku tsa_extra tsa_unknown; do
        issue "$CASE/tsaca" $kind $kind $EARLY $LATE
    done
    # A sub-CA limited to e-mail protection, and a TSA under it.
    mkca "$CASE/sub" "E-mail Sub-CA"
    openssl ca -batch -config "$CASE/tsaca/conf" -extensions subca_email -startdate $EARLY \
        -enddate $LATE -notext -in "$CASE/sub/ca.csr" -out "$CASE/sub/ca.pem" >/dev/null 2>&1 ||
        fail "sub-CA"
    issue "$CASE/sub" tsa_under_email tsa $EARLY $LATE
    mkca "$CASE/other" "Other Root"
    issue "$CASE/other" stranger tsa $EARLY $LATE
    echo "content to sign" >"$CASE/f"
}

# ossl_sign WHO OUT: a detached signature by a software leaf, made by openssl.
ossl_sign() {
    openssl cms -sign -binary -in "$CASE/f" -signer "$CASE/ca/$1.pem" -inkey "$CASE/ca/$1.key" \
        -md sha256 -outform DER -out "$2" 2>/dev/null || fail "openssl cms -sign"
}

# start_tsa [tsa_tool options]: a TSA on 127.0.0.1; sets TSA_URL. It is
# killed when the test ends.
start_tsa() {
    local n=${TSA_N:-0}
    TSA_N=$((n + 1))
    "$TSA_TOOL" serve --cert "$CASE/tsaca/tsa.pem" --key "$CASE/tsaca/tsa.key" \
        --port-file "$CASE/port$n" --log "$CASE/tsa$n.log" "$@" 2>"$CASE/tsa$n.err" &
    TSA_PIDS="${TSA_PIDS:-} $!"
    trap 'kill $TSA_PIDS 2>/dev/null' EXIT
    for _ in $(seq 100); do
        [ -s "$CASE/port$n" ] && break
        sleep 0.05
    done
    [ -s "$CASE/port$n" ] || fail "the TSA did not start: $(cat "$CASE/tsa$n.err")"
    TSA_URL="http://127.0.0.1:$(cat "$CASE/port$n")/"
    TSA_LOG=$CASE/tsa$n.log
}

# stamp MODE [tsa_tool options] IN OUT: a token put in offline, unchecked.
stamp() {
    local mode=$1
    shift
    "$TSA_TOOL" stamp --cert "$CASE/tsaca/tsa.pem" --key "$CASE/tsaca/tsa.key" --mode "$mode" \
        "$@" || fail "tsa_tool stamp"
}

verify() {
    run csign verify --trust "$CASE/ca/ca.pem" "$@"
}

token_key() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY"
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=Token Signer' --import \
        -o "$CASE/token.pem"
    expect_rc 0
}

t_sign_with_timestamp_checked_by_openssl() {
    pki
    token_key
    start_tsa
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" "$CASE/f"
    expect_rc 0
    expect_out "timestamped by $TSA_URL"
    "$TSA_TOOL" token "$CASE/f.p7s" "$CASE/token.der"
    openssl ts -verify -digest "$("$TSA_TOOL" imprint sha256 "$CASE/f.p7s")" -in "$CASE/token.der" \
        -token_in -CAfile "$CASE/tsaca/ca.pem" >"$CASE/ts.out" 2>&1 ||
        fail "openssl ts -verify rejects the token: $(cat "$CASE/ts.out")"
    openssl cms -verify -binary -inform DER -in "$CASE/f.p7s" -content "$CASE/f" \
        -CAfile "$CASE/token.pem" -purpose any -out /dev/null 2>/dev/null ||
        fail "openssl cms -verify rejects the timestamped signature"
    run csign verify --trust "$CASE/token.pem" --tsa-trust "$CASE/tsaca/ca.pem" --json "$CASE/f"
    expect_rc 0
    jq -e '.files[0].timestamp.status == "valid" and .files[0].timestamp.tsa == "CN=tsa" and
        .files[0].timestamp.digest == "sha256" and .files[0].judged_at == .files[0].timestamp.time' \
        "$CASE/out" >/dev/null || fail "json: $(cat "$CASE/out")"
    run csign verify --trust "$CASE/token.pem" "$CASE/f"
    expect_rc 0
    expect_out "not used: no --tsa-trust"
}

t_tsa_digest_and_policy() {
    pki
    token_key
    start_tsa --policy 1.2.3.4.5
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" --tsa-digest sha512 \
        --tsa-policy 1.2.3.4.5 "$CASE/f"
    expect_rc 0
    run csign verify --trust "$CASE/token.pem" --tsa-trust "$CASE/tsaca/ca.pem" --json "$CASE/f"
    expect_rc 0
    jq -e '.files[0].timestamp.digest == "sha512"' "$CASE/out" >/dev/null || fail "not SHA-512"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force --tsa "$TSA_URL" \
        --tsa-policy not-an-oid "$CASE/f"
    expect_rc 2
}

t_many_files_one_connection() {
    pki
    token_key
    start_tsa
    for i in 1 2 3 4 5; do echo "$i" >"$CASE/g$i"; done
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" "$CASE"/g1 "$CASE"/g2 \
        "$CASE"/g3 "$CASE"/g4 "$CASE"/g5
    expect_rc 0
    [ "$(grep -c '^request' "$TSA_LOG")" -eq 5 ] || fail "not 5 requests"
    [ "$(grep -c '^connection' "$TSA_LOG")" -eq 1 ] || fail "not one connection"
}

t_expired_leaf_kept_by_timestamp() {
    pki
    start_tsa --time "$(date -d 2020-03-01 +%s)"
    ossl_sign old "$CASE/f.p7s"
    run csign timestamp --tsa "$TSA_URL" "$CASE/f.p7s"
    expect_rc 0
    expect_out "timestamped $CASE/f.p7s by $TSA_URL"
    verify --tsa-trust "$CASE/tsaca/ca.pem" "$CASE/f"
    expect_rc 0
    expect_out "at 2020-03-01T00:00:00Z (timestamped by CN=tsa)"
    verify "$CASE/f"
    expect_rc 1
    expect_out "certificate has expired"
    # Stamped after the certificate had expired: no help.
    start_tsa --time "$(date -d 2020-09-01 +%s)"
    ossl_sign old "$CASE/f.p7s"
    run csign timestamp --tsa "$TSA_URL" "$CASE/f.p7s"
    expect_rc 0
    verify --tsa-trust "$CASE/tsaca/ca.pem" "$CASE/f"
    expect_rc 1
    expect_out "expired"
}

t_timestamp_command() {
    pki
    start_tsa
    ossl_sign leaf "$CASE/f.p7s"
    openssl cms -cmsout -inform DER -in "$CASE/f.p7s" -outform PEM -out "$CASE/g.pem"
    cp "$CASE/f" "$CASE/g"
    run csign timestamp --tsa "$TSA_URL" "$CASE/f.p7s" "$CASE/g.pem"
    expect_rc 0
    head -c 10 "$CASE/g.pem" | grep -q -- '-----BEGIN' || fail "PEM became DER"
    verify --tsa-trust "$CASE/tsaca/ca.pem" --require-timestamp "$CASE/f"
    expect_rc 0
    verify --tsa-trust "$CASE/tsaca/ca.pem" --require-timestamp --sig "$CASE/g.pem" "$CASE/g"
    expect_rc 0
    run csign timestamp --tsa "$TSA_URL" "$CASE/f.p7s"
    expect_rc 0
    expect_out "already time-stamped"
    run csign timestamp "$CASE/f.p7s"
    expect_rc 2
    run csign timestamp --tsa ftp://x/ "$CASE/f.p7s"
    expect_rc 2
    ! ls "$CASE" | grep -q csign-tmp || fail "temporary file left"
}

t_require_timestamp() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    verify --require-timestamp "$CASE/f"
    expect_rc 1
    expect_out "no timestamp"
    start_tsa
    run csign timestamp --tsa "$TSA_URL" "$CASE/f.p7s"
    verify --require-timestamp "$CASE/f"
    expect_rc 1
    expect_out "not trusted"
}

t_revocation_and_timestamps() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    cp "$CASE/f.p7s" "$CASE/plain.p7s"
    start_tsa --time "$(date -d 2020-03-01 +%s)"
    run csign timestamp --tsa "$TSA_URL" "$CASE/f.p7s"
    expect_rc 0
    # Before any revocation: good, with a CRL.
    openssl ca -config "$CASE/ca/conf" -gencrl -out "$CASE/crl0.pem" >/dev/null 2>&1
    verify --tsa-trust "$CASE/tsaca/ca.pem" --crl "$CASE/crl0.pem" --json "$CASE/f"
    expect_rc 0
    jq -e '.files[0].revocation == "good"' "$CASE/out" >/dev/null || fail "not good"
    openssl ca -config "$CASE/ca/conf" -revoke "$CASE/ca/leaf.pem" >/dev/null 2>&1 || fail "revoke"
    openssl ca -config "$CASE/ca/conf" -gencrl -out "$CASE/crl.pem" >/dev/null 2>&1 || fail "crl"
    # Revoked after the trusted timestamp: still valid.
    verify --tsa-trust "$CASE/tsaca/ca.pem" --crl "$CASE/crl.pem" --json "$CASE/f"
    expect_rc 0
    jq -e '.files[0].revocation == "revoked after the timestamp"' "$CASE/out" >/dev/null ||
        fail "json: $(cat "$CASE/out")"
    # The same timestamp not trusted, or no timestamp at all: invalid.
    verify --crl "$CASE/crl.pem" "$CASE/f"
    expect_rc 1
    expect_out "was revoked at"
    verify --crl "$CASE/crl.pem" --sig "$CASE/plain.p7s" "$CASE/f"
    expect_rc 1
    expect_out "was revoked at"
    # Every CRL that applies counts, an older one first or not.
    cat "$CASE/crl0.pem" "$CASE/crl.pem" >"$CASE/both.pem"
    verify --crl "$CASE/crl0.pem" --crl "$CASE/crl.pem" --sig "$CASE/plain.p7s" "$CASE/f"
    expect_rc 1
    verify --crl "$CASE/both.pem" --sig "$CASE/plain.p7s" "$CASE/f"
    expect_rc 1
    expect_out "was revoked at"
    # Revoked before the timestamp (one a minute from now): invalid.
    start_tsa --time "$(($(date +%s) + 60))"
    cp "$CASE/plain.p7s" "$CASE/late.p7s"
    run csign timestamp --tsa "$TSA_URL" "$CASE/late.p7s"
    expect_rc 0
    verify --tsa-trust "$CASE/tsaca/ca.pem" --crl "$CASE/crl.pem" --sig "$CASE/late.p7s" "$CASE/f"
    expect_rc 1
    expect_out "before the timestamp"
}

t_require_crl() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    verify --require-crl "$CASE/f"
    expect_rc 1
    expect_out "no CRL from 'CN=Signing Root'"
    openssl ca -config "$CASE/other/conf" -gencrl -out "$CASE/other.crl" >/dev/null 2>&1
    verify --require-crl --crl "$CASE/other.crl" "$CASE/f"
    expect_rc 1
    openssl ca -config "$CASE/ca/conf" -gencrl -out "$CASE/crl.pem" >/dev/null 2>&1
    verify --require-crl --crl "$CASE/other.crl" --crl "$CASE/crl.pem" "$CASE/f"
    expect_rc 0
    # A partitioned CRL (issuing distribution point) is not a complete one.
    openssl ca -config "$CASE/ca/conf" -gencrl -crlexts idp -out "$CASE/idp.pem" >/dev/null 2>&1 ||
        fail "IDP CRL"
    verify --require-crl --crl "$CASE/idp.pem" "$CASE/f"
    expect_rc 1
    expect_out "no CRL from"
    echo "not a crl" >"$CASE/bad.crl"
    verify --crl "$CASE/bad.crl" "$CASE/f"
    expect_rc 5
}

t_revoked_tsa_not_trusted() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    stamp ok "$CASE/f.p7s" "$CASE/g.p7s"
    openssl ca -config "$CASE/tsaca/conf" -gencrl -out "$CASE/tsa0.crl" >/dev/null 2>&1
    verify --tsa-trust "$CASE/tsaca/ca.pem" --crl "$CASE/tsa0.crl" --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 0
    openssl ca -config "$CASE/tsaca/conf" -revoke "$CASE/tsaca/tsa.pem" >/dev/null 2>&1
    openssl ca -config "$CASE/tsaca/conf" -gencrl -out "$CASE/tsa.crl" >/dev/null 2>&1
    verify --tsa-trust "$CASE/tsaca/ca.pem" --crl "$CASE/tsa.crl" --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 1
    expect_out "TSA not trusted: certificate 'CN=tsa' was revoked"
}

t_policy_and_unreachable_tsa_skipped() {
    pki
    token_key
    start_tsa
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" --tsa-policy 1.9.9.9 "$CASE/f"
    expect_rc 1
    expect_err "policy is not the one asked for"
    # A TSA that timed out once is not asked again in the same run.
    local good=$TSA_URL
    start_tsa --mode hang
    for i in 1 2 3; do echo "$i" >"$CASE/g$i"; done
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" --tsa "$good" \
        --tsa-timeout 3 --tsa-retries 0 "$CASE"/g1 "$CASE"/g2 "$CASE"/g3
    expect_rc 0
    [ "$(grep -c '^request' "$TSA_LOG")" -eq 1 ] || fail "the hanging TSA was asked again"
    [ "$(grep -c 'timestamped by' "$CASE/out")" -eq 3 ] || fail "not all timestamped"
}

t_future_timestamp_refused() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    stamp ok --time "$(($(date +%s) + 86400))" "$CASE/f.p7s" "$CASE/g.p7s"
    verify --tsa-trust "$CASE/tsaca/ca.pem" --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 1
    expect_out "in the future"
}

t_hostile_tokens() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    ossl_sign leaf "$CASE/other.p7s"
    local t=$CASE/tsaca
    check_hostile() {
        local want=$1
        shift
        stamp "$@" "$CASE/f.p7s" "$CASE/h.p7s"
        verify --tsa-trust "$t/ca.pem" --sig "$CASE/h.p7s" "$CASE/f"
        expect_rc 1
        expect_out "$want"
    }
    check_hostile "timestamp imprint does not match signature" ok --imprint-of "$CASE/other.p7s"
    check_hostile "timestamp imprint does not match signature" bad-imprint
    check_hostile "SHA-1" sha1
    check_hostile "timestamp's signature does not verify" corrupt
    check_hostile "no signingCertificate" no-ess
    check_hostile "the timestamp does not carry its TSA's certificate" no-cert
    check_hostile "the timestamp's signingCertificateV2 attribute appears twice" ess-twice
    check_hostile "lacks the timeStamping" ok --cert "$t/tsa_noeku.pem" --key "$t/tsa_noeku.key"
    check_hostile "not marked critical" ok --cert "$t/tsa_noncrit.pem" --key "$t/tsa_noncrit.key"
    check_hostile "other extended key usages" ok --cert "$t/tsa_extra.pem" --key "$t/tsa_extra.key"
    check_hostile "other extended key usages" ok --cert "$t/tsa_unknown.pem" \
        --key "$t/tsa_unknown.key"
    check_hostile "weak or unknown algorithm" weak
    check_hostile "signature algorithm rsaEncryption does not fit the signer's EC key" rsa-alg
    check_hostile "excludes time stamping" ok --cert "$CASE/sub/tsa_under_email.pem" \
        --key "$CASE/sub/tsa_under_email.key" --chain "$CASE/sub/ca.pem"
    check_hostile "TSA not trusted" ok --cert "$CASE/other/stranger.pem" \
        --key "$CASE/other/stranger.key"
    # Two timestamps, or other unsigned attributes, are refused as well.
    stamp ok "$CASE/h.p7s" "$CASE/hh.p7s" 2>/dev/null
    verify --tsa-trust "$t/ca.pem" --sig "$CASE/hh.p7s" "$CASE/f"
    expect_rc 1
}

t_bad_answers_at_signing() {
    pki
    token_key
    for mode in bad-nonce bad-imprint sha1 corrupt garbage rejection; do
        start_tsa --mode $mode
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" --tsa-retries 2 "$CASE/f"
        expect_rc 1
        expect_err "no timestamp: $TSA_URL"
        [ ! -e "$CASE/f.p7s" ] || fail "signature written with a bad TSA ($mode)"
        # A bad answer is reported, not asked again.
        [ "$(grep -c '^request' "$TSA_LOG")" -eq 1 ] || fail "$mode: asked again"
    done
    start_tsa --mode bad-nonce
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" "$CASE/f"
    expect_err "nonce is not the one sent"
}

t_failover_timeout_and_retries() {
    pki
    token_key
    # Nothing listens on port 1: refused at once; the second TSA answers.
    start_tsa
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa http://127.0.0.1:1/ --tsa "$TSA_URL" \
        --tsa-retries 1 "$CASE/f"
    expect_rc 0
    expect_out "timestamped by $TSA_URL"
    # HTTP 500: retried, then given up.
    start_tsa --mode http500
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force --tsa "$TSA_URL" --tsa-retries 2 \
        "$CASE/f"
    expect_rc 4
    expect_err "HTTP status 500"
    [ "$(grep -c '^request' "$TSA_LOG")" -eq 3 ] || fail "not 1 + 2 tries"
    # A TSA that never answers meets the timeout; nothing is written.
    rm -f "$CASE/f.p7s"
    start_tsa --mode hang
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" --tsa-timeout 1 \
        --tsa-retries 0 "$CASE/f"
    expect_rc 4
    expect_err "timed out"
    [ ! -e "$CASE/f.p7s" ] || fail "signature written"
    # All down: no signature; with --tsa-optional, one without a timestamp.
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa http://127.0.0.1:1/ --tsa-retries 0 \
        "$CASE/f"
    expect_rc 4
    [ ! -e "$CASE/f.p7s" ] || fail "signature written"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa http://127.0.0.1:1/ --tsa-retries 0 \
        --tsa-optional --json "$CASE/f"
    expect_rc 0
    expect_err "warning: signed without a timestamp"
    jq -e '.files[0].status == "ok" and .files[0].timestamp_authority == null and
        (.files[0].warning | contains("without a timestamp"))' "$CASE/out" >/dev/null ||
        fail "json: $(cat "$CASE/out")"
    run csign verify --trust "$CASE/token.pem" --json "$CASE/f"
    expect_rc 0
    jq -e '.files[0].timestamp.status == "absent"' "$CASE/out" >/dev/null || fail "not absent"
}

t_manifest_timestamped() {
    pki
    token_key
    start_tsa
    mkdir "$CASE/rel"
    echo a >"$CASE/rel/a"
    (cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --tsa "$TSA_URL" \
        --manifest SHA256SUMS a) >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    expect_out "timestamped by $TSA_URL"
    run csign verify --trust "$CASE/token.pem" --tsa-trust "$CASE/tsaca/ca.pem" \
        --require-timestamp --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 0
    expect_out "(timestamped by CN=tsa)"
    run csign verify --trust "$CASE/token.pem" --tsa-trust "$CASE/tsaca/ca.pem" --json \
        --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 0
    jq -e '.manifest.timestamp.status == "valid" and
        .manifest.judged_at == .manifest.timestamp.time' "$CASE/out" \
        >/dev/null || fail "json: $(cat "$CASE/out")"
    run csign verify --trust "$CASE/token.pem" --require-timestamp \
        --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 1
}

# copies N DIR: the signature $CASE/f.p7s as DIR/s0001.p7s ... (N of them),
# each beside a copy of the content it signs; sets SIGS to their paths.
copies() {
    local n=$1 d=$2 i text
    mkdir -p "$d"
    text=$(<"$CASE/f")
    SIGS=()
    for i in $(seq -f %04g "$n"); do
        printf '%s\n' "$text" >"$d/s$i"
        SIGS+=("$d/s$i.p7s")
    done
    # tee writes many copies with one process; 200 names at a time stays
    # under any open-file limit.
    for ((i = 0; i < n; i += 200)); do
        tee "${SIGS[@]:i:200}" <"$CASE/f.p7s" >/dev/null || fail "copies"
    done
}

# requests: how many requests the last TSA started has seen.
requests() {
    if [ -f "$TSA_LOG" ]; then grep -c '^request' "$TSA_LOG"; else echo 0; fi
}

t_timestamp_many_files_few_descriptors() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    copies 200 "$CASE/d"
    start_tsa
    # Every signature is put back, though far fewer files may be open at
    # once than there are signatures.
    (ulimit -n 64 && exec "$CSIGN_BIN" timestamp --tsa "$TSA_URL" "${SIGS[@]}") \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 0
    expect_no_err "Too many open files"
    [ "$(grep -c '^timestamped ' "$CASE/out")" -eq 200 ] || fail "not 200 timestamped"
    ! ls "$CASE/d" | grep -q csign-tmp || fail "temporary file left"
    verify --tsa-trust "$CASE/tsaca/ca.pem" --require-timestamp "${SIGS[@]%.p7s}"
    expect_rc 0
    [ "$(grep -c '^OK ' "$CASE/out")" -eq 200 ] || fail "not 200 valid"
}

t_timestamp_sigterm_midway() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    copies 200 "$CASE/d"
    start_tsa
    # csign stops at the named pipe in the middle of the list (opening it
    # waits for a writer that never comes), after 150 files are stamped.
    mkfifo "$CASE/d/pipe.p7s"
    "$CSIGN_BIN" timestamp --tsa "$TSA_URL" "${SIGS[@]:0:150}" "$CASE/d/pipe.p7s" \
        "${SIGS[@]:150}" >"$CASE/out" 2>"$CASE/err" </dev/null &
    local pid=$!
    for _ in $(seq 1200); do
        [ "$(requests)" -ge 150 ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    [ "$(requests)" -ge 150 ] || fail "not 150 requests"
    kill -TERM "$pid"
    wait "$pid"
    RC=$?
    expect_rc 143
    expect_err "csign: timestamp: interrupted"
    expect_no_out "timestamped"
    ! ls "$CASE/d" | grep -q csign-tmp || fail "temporary file left"
    rm "$CASE/d/pipe.p7s"
    # Each signature is the original or completely stamped, and valid; the
    # batches put in place before the signal stay.
    verify --tsa-trust "$CASE/tsaca/ca.pem" --json "${SIGS[@]%.p7s}"
    expect_rc 0
    local stamped orig
    stamped=$(jq '[.files[] | select(.timestamp.status == "valid")] | length' "$CASE/out")
    [ "$stamped" -gt 0 ] && [ "$stamped" -le 150 ] || fail "$stamped stamped"
    jq -r '.files[] | select(.timestamp.status == "absent") | .signature' "$CASE/out" \
        >"$CASE/unstamped"
    [ "$(($(wc -l <"$CASE/unstamped") + stamped))" -eq 200 ] || fail "neither kind"
    orig=$(sha256sum <"$CASE/f.p7s" | cut -d' ' -f1)
    [ "$(xargs -d '\n' sha256sum -- <"$CASE/unstamped" | cut -d' ' -f1 | sort -u)" = "$orig" ] ||
        fail "an unstamped signature is not the original"
}

# tsa_chain: a TSA certificate (tsaint/tsa2) under an intermediate CA of
# the TSA root.
tsa_chain() {
    mkca "$CASE/tsaint" "TSA Intermediate"
    openssl ca -batch -config "$CASE/tsaca/conf" -extensions root -startdate $EARLY \
        -enddate $LATE -notext -in "$CASE/tsaint/ca.csr" -out "$CASE/tsaint/ca.pem" \
        >/dev/null 2>&1 || fail "TSA intermediate"
    issue "$CASE/tsaint" tsa2 tsa $EARLY $LATE
}

# ess_ids TOKEN: how many certificate ids the token's signingCertificateV2 lists.
ess_ids() {
    openssl cms -cmsout -print -inform DER -in "$1" 2>/dev/null |
        awk '/signingCertificateV2/ {on = 1} on && /signatureAlgorithm:/ {on = 0}
             on && /d=3 .*prim: *OCTET STRING/ {n++} END {print n + 0}'
}

# RFC 5035 lets signingCertificateV2 list the TSA's chain after the TSA
# certificate; `openssl ts -reply` does so with ess_cert_id_chain.
t_tsa_listing_its_chain_in_ess() {
    pki
    token_key
    tsa_chain
    local i=$CASE/tsaint
    start_tsa --cert "$i/tsa2.pem" --key "$i/tsa2.key" --chain "$i/ca.pem" --mode ess-chain
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" "$CASE/f"
    expect_rc 0
    expect_out "timestamped by $TSA_URL"
    "$TSA_TOOL" token "$CASE/f.p7s" "$CASE/token.der"
    [ "$(ess_ids "$CASE/token.der")" -eq 2 ] || fail "the token's ESS does not list the chain"
    openssl ts -verify -digest "$("$TSA_TOOL" imprint sha256 "$CASE/f.p7s")" \
        -in "$CASE/token.der" -token_in -CAfile "$CASE/tsaca/ca.pem" >"$CASE/ts.out" 2>&1 ||
        fail "openssl ts -verify rejects the token: $(cat "$CASE/ts.out")"
    run csign verify --trust "$CASE/token.pem" --tsa-trust "$CASE/tsaca/ca.pem" \
        --require-timestamp "$CASE/f"
    expect_rc 0
    expect_out "(timestamped by CN=tsa2)"

    # A token made by `openssl ts -reply`, put in a signature made by openssl.
    ossl_sign leaf "$CASE/plain.p7s"
    echo 01 >"$i/tsaserial"
    cat >"$i/ts.cnf" <<CONF
[tsa]
default_tsa = t
[t]
serial = $i/tsaserial
crypto_device = builtin
signer_cert = $i/tsa2.pem
signer_key = $i/tsa2.key
certs = $i/ca.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
ess_cert_id_chain = yes
ess_cert_id_alg = sha256
CONF
    openssl ts -query -digest "$("$TSA_TOOL" imprint sha256 "$CASE/plain.p7s")" -sha256 -cert \
        -out "$CASE/q.tsq" 2>/dev/null || fail "openssl ts -query"
    openssl ts -reply -config "$i/ts.cnf" -queryfile "$CASE/q.tsq" -token_out \
        -out "$CASE/ots.der" 2>/dev/null || fail "openssl ts -reply"
    [ "$(ess_ids "$CASE/ots.der")" -eq 2 ] || fail "openssl's ESS does not list the chain"
    openssl ts -verify -digest "$("$TSA_TOOL" imprint sha256 "$CASE/plain.p7s")" \
        -in "$CASE/ots.der" -token_in -CAfile "$CASE/tsaca/ca.pem" >"$CASE/ts.out" 2>&1 ||
        fail "openssl ts -verify rejects its own token: $(cat "$CASE/ts.out")"
    "$TSA_TOOL" put-token "$CASE/plain.p7s" "$CASE/ots.der" "$CASE/g.p7s"
    verify --tsa-trust "$CASE/tsaca/ca.pem" --require-timestamp --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 0
    expect_out "(timestamped by CN=tsa2)"

    # The first id must still name the TSA certificate itself.
    stamp ess-ca-first --cert "$i/tsa2.pem" --key "$i/tsa2.key" --chain "$i/ca.pem" \
        "$CASE/plain.p7s" "$CASE/h.p7s"
    verify --tsa-trust "$CASE/tsaca/ca.pem" --sig "$CASE/h.p7s" "$CASE/f"
    expect_rc 1
    expect_out "signingCertificate attribute does not name its signer"
    "$TSA_TOOL" token "$CASE/h.p7s" "$CASE/h.der"
    ! openssl ts -verify -digest "$("$TSA_TOOL" imprint sha256 "$CASE/plain.p7s")" \
        -in "$CASE/h.der" -token_in -CAfile "$CASE/tsaca/ca.pem" >/dev/null 2>&1 ||
        fail "openssl ts -verify accepts an ESS that names a CA first"
    start_tsa --cert "$i/tsa2.pem" --key "$i/tsa2.key" --chain "$i/ca.pem" --mode ess-ca-first
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force --tsa "$TSA_URL" "$CASE/f"
    expect_rc 1
    expect_err "does not name its signer"
}

# A CRL signed with SHA-1 or MD5 is not used: the chain's security level
# (2) would refuse such a certificate signature, so it cannot vouch for
# revocation either way.
t_weak_crls_not_used() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    openssl ca -config "$CASE/ca/conf" -gencrl -md sha1 -out "$CASE/sha1.crl" >/dev/null 2>&1 ||
        fail "SHA-1 CRL"
    openssl crl -in "$CASE/sha1.crl" -noout -text | grep -q "ecdsa-with-SHA1" || fail "not SHA-1"
    verify --require-crl --crl "$CASE/sha1.crl" "$CASE/f"
    expect_rc 1
    expect_out "no CRL from 'CN=Signing Root' (--require-crl) is signed strongly enough"
    expect_no_out "OK "
    # Not used for a revocation either: nothing was checked.
    openssl ca -config "$CASE/ca/conf" -revoke "$CASE/ca/leaf.pem" >/dev/null 2>&1 || fail "revoke"
    openssl ca -config "$CASE/ca/conf" -gencrl -md sha1 -out "$CASE/sha1r.crl" >/dev/null 2>&1
    verify --crl "$CASE/sha1r.crl" --json "$CASE/f"
    expect_rc 0
    jq -e '.files[0].revocation == "not checked"' "$CASE/out" >/dev/null || fail "json: $(cat "$CASE/out")"
    openssl ca -config "$CASE/ca/conf" -gencrl -out "$CASE/sha256r.crl" >/dev/null 2>&1
    verify --crl "$CASE/sha1r.crl" --crl "$CASE/sha256r.crl" "$CASE/f"
    expect_rc 1
    expect_out "was revoked at"

    # MD5, from an RSA CA.
    mkca "$CASE/rsa" "RSA Root" -newkey rsa:2048
    issue "$CASE/rsa" leaf2 leaf $EARLY $LATE
    openssl cms -sign -binary -in "$CASE/f" -signer "$CASE/rsa/leaf2.pem" \
        -inkey "$CASE/rsa/leaf2.key" -outform DER -out "$CASE/g.p7s" 2>/dev/null || fail "sign"
    openssl ca -config "$CASE/rsa/conf" -gencrl -md md5 -out "$CASE/md5.crl" >/dev/null 2>&1 ||
        fail "MD5 CRL"
    openssl crl -in "$CASE/md5.crl" -noout -text | grep -q "md5WithRSAEncryption" || fail "not MD5"
    run csign verify --trust "$CASE/rsa/ca.pem" --require-crl --crl "$CASE/md5.crl" \
        --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 1
    expect_out "no CRL from 'CN=RSA Root' (--require-crl) is signed strongly enough"
    openssl ca -config "$CASE/rsa/conf" -gencrl -out "$CASE/rsa.crl" >/dev/null 2>&1
    run csign verify --trust "$CASE/rsa/ca.pem" --require-crl --crl "$CASE/rsa.crl" \
        --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 0
}

# --require-crl covers the TSA's chain when a timestamp is used, and only
# then.
t_require_crl_covers_tsa_chain() {
    pki
    ossl_sign leaf "$CASE/f.p7s"
    stamp ok "$CASE/f.p7s" "$CASE/g.p7s"
    openssl ca -config "$CASE/ca/conf" -gencrl -out "$CASE/ca.crl" >/dev/null 2>&1 || fail "CRL"
    openssl ca -config "$CASE/tsaca/conf" -gencrl -out "$CASE/tsa.crl" >/dev/null 2>&1 || fail "CRL"
    verify --tsa-trust "$CASE/tsaca/ca.pem" --require-crl --crl "$CASE/ca.crl" \
        --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 1
    expect_out "TSA not trusted: no CRL from 'CN=TSA Root' (--require-crl)"
    expect_no_out "OK "
    verify --tsa-trust "$CASE/tsaca/ca.pem" --require-crl --crl "$CASE/ca.crl" \
        --crl "$CASE/tsa.crl" --json --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 0
    jq -e '.files[0].timestamp.status == "valid" and .files[0].revocation == "good"' "$CASE/out" \
        >/dev/null || fail "json: $(cat "$CASE/out")"
    # Without --tsa-trust the timestamp is not used: its chain is not asked for.
    verify --require-crl --crl "$CASE/ca.crl" --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 0
    # A TSA CRL signed with SHA-1 does not count for it either.
    openssl ca -config "$CASE/tsaca/conf" -gencrl -md sha1 -out "$CASE/tsa1.crl" >/dev/null 2>&1
    verify --tsa-trust "$CASE/tsaca/ca.pem" --require-crl --crl "$CASE/ca.crl" \
        --crl "$CASE/tsa1.crl" --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 1
    expect_out "TSA not trusted: no CRL from 'CN=TSA Root'"
}

# The TSA's chain is judged as strictly as a signer's (security level 2).
t_tsa_chain_security_level() {
    pki
    openssl ca -batch -config "$CASE/tsaca/conf" -extensions tsa -startdate $EARLY -enddate $LATE \
        -notext -md sha1 -in "$CASE/tsaca/tsa.csr" -out "$CASE/tsaca/tsa1.pem" >/dev/null 2>&1 ||
        fail "SHA-1 TSA certificate"
    ossl_sign leaf "$CASE/f.p7s"
    stamp ok --cert "$CASE/tsaca/tsa1.pem" "$CASE/f.p7s" "$CASE/g.p7s"
    verify --tsa-trust "$CASE/tsaca/ca.pem" --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 1
    expect_out "TSA not trusted: CA signature digest algorithm too weak"
    verify --sig "$CASE/g.p7s" "$CASE/f"
    expect_rc 0
}

# SIGTERM while a TSA keeps csign waiting ends the run at once, not at the
# TSA timeout, and leaves nothing behind.
t_sigterm_during_tsa_request() {
    pki
    token_key
    start_tsa --mode hang
    CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --tsa "$TSA_URL" --tsa-timeout 600 \
        --tsa-retries 0 "$CASE/f" >"$CASE/out" 2>"$CASE/err" </dev/null &
    local pid=$!
    for _ in $(seq 600); do
        grep -q '^request' "$TSA_LOG" 2>/dev/null && break
        sleep 0.05
    done
    grep -q '^request' "$TSA_LOG" || fail "the TSA was never asked"
    kill -TERM "$pid"
    # Without the fix csign would wait for the TSA's 600 s: a watchdog.
    # Its output goes nowhere, so that a sleep it leaves keeps no pipe of
    # the test's open.
    (
        exec >/dev/null 2>&1
        sleep 120 && kill -KILL "$pid"
    ) &
    local dog=$!
    wait "$pid"
    RC=$?
    pkill -P "$dog" 2>/dev/null
    kill "$dog" 2>/dev/null
    expect_rc 143
    expect_err "interrupted"
    [ ! -e "$CASE/f.p7s" ] || fail "signature written"
    ! ls "$CASE" | grep -q csign-tmp || fail "temporary file left"
}

run_tests
