#!/usr/bin/env bash
# csign verify against signatures that are well-formed DER and verify under
# OpenSSL 3.0 but say what a good signature must not: a signature algorithm
# that does not fit the key or the digest, versions RFC 5652 forbids, a
# digestAlgorithms set that does not list the signer's digest, certificates
# and revocation information of other kinds. Each is built from a good
# openssl cms signature with tests/tools/der_edit. A signature that is not
# valid exits 1, malformed or not (docs/exit-codes.md).
. "$(dirname "$0")/lib.sh"

DER_EDIT=${CSIGN_DER_EDIT:?set CSIGN_DER_EDIT to the der_edit binary}

# DER of AlgorithmIdentifiers and INTEGERs the edits put in.
RSA_ENC=300d06092a864886f70d0101010500
SHA256_RSA=300d06092a864886f70d01010b0500
SHA384_RSA=300d06092a864886f70d01010c0500
ECDSA_SHA256=300a06082a8648ce3d040302
ECDSA_SHA384=300a06082a8648ce3d040303
EC_PUBKEY=300906072a8648ce3d0201
SHA1=300706052b0e03021a
MD5=300a06082a864886f70d0205
SHA384=300b0609608648016503040202
SHA512=300b0609608648016503040203
UNKNOWN=300506032a0304
int() { printf '0201%02x' "$1"; }

# Paths (der_edit) in a SignedData made by openssl cms -sign with
# certificates: ContentInfo . [0] . SignedData . element.
SD_VERSION=1.0.0
SD_DIGESTS=1.0.1
SD_CERTS=1.0.3
SI=1.0.-1.0 # the one SignerInfo: version, sid, digest, [0] attrs, sigalg, sig
SI_VERSION=$SI.0
SI_SIGALG=$SI.4

# pki: a root CA (that can issue CRLs) and code-signing leaves: ec (P-256)
# and rsa (3072 bits).
pki() {
    local d=$CASE/pki
    mkdir -p "$d"
    : >"$d/index"
    echo 01 >"$d/serial"
    echo 01 >"$d/crlnumber"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
        -subj "/CN=Strict Test CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign -out "$d/ca.pem" 2>/dev/null || fail "CA"
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
[any]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = codeSigning
subjectKeyIdentifier = hash
CONF
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ec.key" \
        -subj "/CN=ec" -out "$d/ec.csr" 2>/dev/null || fail "ec key"
    openssl req -new -newkey rsa:3072 -nodes -keyout "$d/rsa.key" -subj "/CN=rsa" \
        -out "$d/rsa.csr" 2>/dev/null || fail "rsa key"
    for l in ec rsa; do
        openssl ca -batch -config "$d/conf" -extensions leaf -days 10 -notext \
            -in "$d/$l.csr" -out "$d/$l.pem" >/dev/null 2>&1 || fail "issue $l"
    done
    echo "content to sign" >"$CASE/f"
}

# osign WHO [openssl cms options]: $CASE/f.p7s, a detached signature by WHO.
osign() {
    local who=$1
    shift
    openssl cms -sign -binary -in "$CASE/f" -signer "$CASE/pki/$who.pem" \
        -inkey "$CASE/pki/$who.key" -outform DER -out "$CASE/f.p7s" "$@" 2>/dev/null ||
        fail "openssl cms -sign $*"
}

# edit OUT OP...: $CASE/f.p7s edited into $CASE/OUT.
edit() {
    local out=$1
    shift
    "$DER_EDIT" "$CASE/f.p7s" "$CASE/$out" "$@" || fail "der_edit $*"
}

accepted() { # accepted SIG
    run csign verify --trust "$CASE/pki/ca.pem" --sig "$CASE/$1" "$CASE/f"
    expect_rc 0
    expect_out "OK $CASE/f signed by"
}

refused() { # refused SIG REASON
    run csign verify --trust "$CASE/pki/ca.pem" --sig "$CASE/$1" "$CASE/f"
    expect_rc 1
    expect_out "FAIL $CASE/f: $2"
    expect_no_out "OK "
}

# What openssl cms writes (the shapes edited below) passes as it is, and
# der_edit changes nothing it is not told to.
t_openssl_signatures_accepted() {
    pki
    for args in "ec" "ec -md sha384" "ec -keyid" "rsa" "rsa -keyid -md sha512" \
        "rsa -keyopt rsa_padding_mode:pss"; do
        osign $args
        accepted f.p7s
        edit same.p7s
        cmp -s "$CASE/f.p7s" "$CASE/same.p7s" || fail "der_edit changed the encoding ($args)"
    done
    # A CRL carried in the signature is revocation information csign allows
    # (openssl cms cannot put one in).
    openssl ca -config "$CASE/pki/conf" -gencrl -out "$CASE/crl.pem" >/dev/null 2>&1 || fail "CRL"
    osign ec
    edit crl.p7s ins 1.0.4 a100 add 1.0.4 "$(openssl crl -in "$CASE/crl.pem" -outform DER |
        od -An -v -tx1 | tr -d ' \n')"
    accepted crl.p7s
}

t_signature_algorithm_must_fit_the_key() {
    pki
    osign ec
    # OpenSSL 3.0 ignores an EC signer's signatureAlgorithm: all of these
    # verify there.
    edit h1.p7s set $SI_SIGALG $RSA_ENC
    refused h1.p7s "signature algorithm rsaEncryption does not fit the signer's EC key"
    openssl cms -verify -binary -inform DER -in "$CASE/h1.p7s" -content "$CASE/f" \
        -CAfile "$CASE/pki/ca.pem" -purpose any -out /dev/null 2>/dev/null ||
        fail "openssl no longer accepts rsaEncryption over ECDSA (the test needs a new oracle)"
    edit h2.p7s set $SI_SIGALG $SHA256_RSA
    refused h2.p7s "signature algorithm sha256WithRSAEncryption does not fit the signer's EC key"
    edit h3.p7s set $SI_SIGALG $EC_PUBKEY
    refused h3.p7s "signature algorithm id-ecPublicKey does not fit the signer's EC key"
    edit h4.p7s set $SI_SIGALG $ECDSA_SHA384
    refused h4.p7s "signature algorithm ecdsa-with-SHA384 does not match digest algorithm sha256"

    osign rsa
    # sha256WithRSAEncryption for rsaEncryption is what some signers write.
    edit ok.p7s set $SI_SIGALG $SHA256_RSA
    accepted ok.p7s
    edit h5.p7s set $SI_SIGALG $SHA384_RSA
    refused h5.p7s "signature algorithm sha384WithRSAEncryption does not match digest algorithm sha256"
    edit h6.p7s set $SI_SIGALG $ECDSA_SHA256
    refused h6.p7s "signature algorithm ecdsa-with-SHA256 does not fit the signer's RSA key"
}

t_versions() {
    pki
    osign ec
    edit h1.p7s set $SD_VERSION "$(int 99)"
    refused h1.p7s "malformed signature: SignedData version 99, not 1 (RFC 5652 5.1)"
    edit h2.p7s set $SD_VERSION "$(int 3)"
    refused h2.p7s "malformed signature: SignedData version 3, not 1"
    edit h3.p7s set $SI_VERSION "$(int 3)" set $SD_VERSION "$(int 3)"
    refused h3.p7s "malformed signature: SignerInfo version 3, not 1 with an issuerAndSerialNumber"
    edit h4.p7s set $SI_VERSION "$(int 0)"
    refused h4.p7s "malformed signature: SignerInfo version 0, not 1"

    # Identified by subjectKeyIdentifier: SignerInfo 3 and SignedData 3.
    osign ec -keyid
    accepted f.p7s
    edit h5.p7s set $SD_VERSION "$(int 1)"
    refused h5.p7s "malformed signature: SignedData version 1, not 3"
    edit h6.p7s set $SI_VERSION "$(int 1)" set $SD_VERSION "$(int 1)"
    refused h6.p7s "malformed signature: SignerInfo version 1, not 3 with a subjectKeyIdentifier"
}

t_digest_algorithms_set() {
    pki
    osign ec
    edit h1.p7s set $SD_DIGESTS "310d$SHA384"
    refused h1.p7s "malformed signature: digestAlgorithms does not list the signer's digest"
    edit h2.p7s set $SD_DIGESTS 3100
    refused h2.p7s "malformed signature: digestAlgorithms does not list the signer's digest"
    edit h3.p7s add $SD_DIGESTS $SHA1
    refused h3.p7s "malformed signature: digestAlgorithms lists SHA1"
    edit h4.p7s add $SD_DIGESTS $MD5
    refused h4.p7s "malformed signature: digestAlgorithms lists MD5"
    edit h5.p7s add $SD_DIGESTS $UNKNOWN
    refused h5.p7s "malformed signature: digestAlgorithms lists an unknown algorithm"
    # Another strong digest besides the signer's is allowed.
    edit ok.p7s add $SD_DIGESTS $SHA512
    accepted ok.p7s
}

t_attribute_certificates_and_other_crls() {
    pki
    osign ec
    # v2AttrCert [2] and other [3] CertificateChoices; SignedData version 1
    # (wrong for them) and 4 or 5 (right, but csign takes no such thing).
    edit h1.p7s add $SD_CERTS a203020100
    refused h1.p7s "malformed signature: the signature carries attribute or other certificates"
    edit h2.p7s add $SD_CERTS a203020100 set $SD_VERSION "$(int 4)"
    refused h2.p7s "malformed signature: the signature carries attribute or other certificates"
    edit h3.p7s add $SD_CERTS a30706032a03040500 set $SD_VERSION "$(int 5)"
    refused h3.p7s "malformed signature: the signature carries attribute or other certificates"
    # crls [1] holding an OtherRevocationInfoFormat [1].
    edit h4.p7s ins 1.0.4 a109a10706032a03040500
    refused h4.p7s "malformed signature: the signature carries revocation information other than CRLs"
    edit h5.p7s ins 1.0.4 a109a10706032a03040500 set $SD_VERSION "$(int 5)"
    refused h5.p7s "malformed signature: the signature carries revocation information other than CRLs"
}

# Signed attributes appear once, with one value (checked before the
# signature, so editing them shows these reasons, not a broken signature).
t_signed_attributes_once() {
    local ct=06092a864886f70d010903 data=06092a864886f70d010701
    local st=06092a864886f70d010905 when=170d3236303130313030303030305a
    pki
    osign ec
    # The attributes sort by their encodings: contentType is the shortest.
    edit h1.p7s add $SI.3 "3018${ct}310b${data}"
    refused h1.p7s "signed attribute contentType appears twice"
    edit h2.p7s del $SI.3.0 add $SI.3 "3023${ct}3116${data}${data}"
    refused h2.p7s "signed attribute contentType does not have exactly one value"
    edit h3.p7s del $SI.3.0
    refused h3.p7s "signed attribute contentType is missing"
    edit h4.p7s add $SI.3 "301c${st}310f${when}"
    refused h4.p7s "signed attribute signingTime appears twice"
}

# The signer is found by its identifier, among the signature's
# certificates and --untrusted only.
t_signer_found_by_identifier() {
    pki
    for args in "ec" "ec -keyid"; do
        osign $args
        edit h.p7s del $SD_CERTS
        refused h.p7s "signer certificate not found in the signature or --untrusted"
        run csign verify --trust "$CASE/pki/ca.pem" --untrusted "$CASE/pki/rsa.pem" \
            --sig "$CASE/h.p7s" "$CASE/f"
        expect_rc 1
        expect_out "signer certificate not found"
        run csign verify --trust "$CASE/pki/ca.pem" --untrusted "$CASE/pki/ec.pem" \
            --sig "$CASE/h.p7s" "$CASE/f"
        expect_rc 0
    done
}

# Chains are judged at security level 2: no SHA-1 certificate signatures.
t_chain_security_level() {
    pki
    openssl ca -batch -config "$CASE/pki/conf" -extensions leaf -days 10 -notext -md sha1 \
        -in "$CASE/pki/ec.csr" -out "$CASE/pki/ec1.pem" >/dev/null 2>&1 || fail "SHA-1 leaf"
    cp "$CASE/pki/ec.key" "$CASE/pki/ec1.key"
    osign ec1
    refused f.p7s "signer not trusted: CA signature digest algorithm too weak"
}

run_tests
