#!/usr/bin/env bash
# Makes the fixed test PKI of the fuzz targets (tests/fuzz/data/) and the
# seeds that need it (certificates, signatures and timestamp tokens in
# tests/fuzz/corpus/).
# Its output is committed; run it again only to replace the PKI, and commit
# the result:
#
#   bash tests/fuzz/make-data.sh [TSA_TOOL]
#
# TSA_TOOL is tests/tools/tsa_tool from a normal build (csign's test suite
# builds it); with it, a seed for `verify` carries a timestamp too.
#
# One root CA, valid 2020-2099, issues a code-signing leaf, a TSA and a
# certificate that its CRL revokes, all with P-256 keys (small files), and
# an RSA code-signing leaf whose key only signs seeds.
set -euo pipefail
cd "$(dirname "$0")"
tsa_tool=${1:-}
data=$PWD/data
corpus=$PWD/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start=20200101000000Z
end=20991231235959Z

mkdir -p "$data" "$corpus/verify" "$corpus/tsa" "$corpus/cert"
: >"$work/index"
echo 01 >"$work/serial"
echo 01 >"$work/crlnumber"
cat >"$work/conf" <<CONF
[ca]
default_ca = t
[t]
dir = $work
database = \$dir/index
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_crl_days = 36500
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
[tsa_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
[tsa]
default_tsa = ts
[ts]
dir = $work
serial = \$dir/tsaserial
signer_cert = $data/tsa.pem
signer_key = $work/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
ess_cert_id_alg = sha256
ess_cert_id_chain = no
accuracy = secs:1
ordering = no
tsa_name = no
CONF
echo 01 >"$work/tsaserial"

key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

key "$work/ca.key"
openssl req -new -key "$work/ca.key" -subj "/CN=csign Fuzz Root" -out "$work/ca.csr"
openssl ca -batch -selfsign -config "$work/conf" -keyfile "$work/ca.key" -extensions root \
    -startdate $start -enddate $end -notext -in "$work/ca.csr" -out "$work/ca.pem" 2>/dev/null
cp "$work/ca.pem" "$data/ca.pem"

# issue NAME EXTENSIONS [KEY]: a key (P-256, or the openssl genpkey
# options KEY) and a certificate from the root.
issue() {
    if [ $# -gt 2 ]; then
        openssl genpkey "${@:3}" -out "$work/$1.key" 2>/dev/null
    else
        key "$work/$1.key"
    fi
    openssl req -new -key "$work/$1.key" -subj "/CN=csign Fuzz $1" -out "$work/$1.csr"
    openssl ca -batch -config "$work/conf" -extensions "$2" -startdate $start -enddate $end \
        -notext -in "$work/$1.csr" -out "$work/$1.pem" 2>/dev/null
}
issue leaf leaf
issue tsa tsa_ext
issue revoked leaf
issue rsa leaf -algorithm RSA -pkeyopt rsa_keygen_bits:2048
cp "$work/leaf.pem" "$work/leaf.key" "$work/tsa.pem" "$data/"
for c in ca leaf tsa rsa; do
    openssl x509 -in "$work/$c.pem" -outform DER -out "$corpus/cert/$c.der"
done
openssl ca -config "$work/conf" -revoke "$work/revoked.pem" 2>/dev/null
openssl ca -config "$work/conf" -gencrl -out "$data/crl.pem" 2>/dev/null

# What `verify` checks signatures against, and the value `tsa` checks
# tokens against.
printf 'csign fuzz content: the bytes every seed signature signs.\n' >"$data/content"
printf 'csign fuzz: the signature value every seed timestamp token covers.\n' >"$data/sigval"

sign() { # sign OUT [openssl cms options]
    local out=$1
    shift
    openssl cms -sign -binary -nosmimecap -in "$data/content" -signer "$data/leaf.pem" \
        -inkey "$data/leaf.key" -md sha256 -out "$out" "$@"
}
sign "$corpus/verify/signed.der" -outform DER
sign "$corpus/verify/signed.pem" -outform PEM
sed 's/ CMS-----$/ PKCS7-----/' "$corpus/verify/signed.pem" >"$corpus/verify/signed-pkcs7.pem"
sign "$corpus/verify/signed-sha512.der" -outform DER -md sha512
# With signingCertificateV2, and with the root among the certificates.
sign "$corpus/verify/cades.der" -outform DER -cades -certfile "$data/ca.pem"
for pad in pkcs1 pss; do
    openssl cms -sign -binary -nosmimecap -in "$data/content" -signer "$work/rsa.pem" \
        -inkey "$work/rsa.key" -md sha256 -keyopt rsa_padding_mode:$pad -outform DER \
        -out "$corpus/verify/rsa-$pad.der"
done
# Valid in form, but the content differs.
printf 'other content\n' >"$work/other"
openssl cms -sign -binary -nosmimecap -in "$work/other" -signer "$data/leaf.pem" \
    -inkey "$data/leaf.key" -md sha256 -outform DER -out "$corpus/verify/other-content.der"
# Signed by the revoked certificate.
openssl cms -sign -binary -nosmimecap -in "$data/content" -signer "$work/revoked.pem" \
    -inkey "$work/revoked.key" -md sha256 -outform DER -out "$corpus/verify/revoked.der"
if [ -n "$tsa_tool" ]; then
    "$tsa_tool" stamp --cert "$data/tsa.pem" --key "$work/tsa.key" \
        "$corpus/verify/cades.der" "$corpus/verify/stamped.der"
fi

# Tokens over data/sigval: signingCertificateV2 (SHA-256), and with
# -sha512 and signingCertificate (SHA-1 ids).
token() { # token OUT DIGEST ESS_ALG
    openssl ts -query -data "$data/sigval" "-$2" -cert -no_nonce -out "$work/q.tsq" 2>/dev/null
    sed -i "s/^ess_cert_id_alg = .*/ess_cert_id_alg = $3/" "$work/conf"
    openssl ts -reply -config "$work/conf" -queryfile "$work/q.tsq" -inkey "$work/tsa.key" \
        -token_out -out "$1" 2>/dev/null
}
token "$corpus/tsa/token-sha256.der" sha256 sha256
token "$corpus/tsa/token-sha512.der" sha512 sha1
echo "make-data: wrote $data and the signature and token seeds"
