#!/usr/bin/env bash
# Tokens prepared by OpenSC's pkcs11-tool: its keys (with and without
# CKA_ID) and the certificates it writes (no CKA_CERTIFICATE_CATEGORY) are
# found and used, and the chain in a signature is built from the CA
# certificates on the token. Checked with the openssl CLI.
. "$(dirname "$0")/lib.sh"

# tool ARGS...: pkcs11-tool logged in to token dev.
tool() {
    p11 --token-label dev --login --pin "$USER_PIN" "$@" >"$CASE/p11.out" 2>&1 ||
        fail "pkcs11-tool $*: $(cat "$CASE/p11.out")"
}

# ca NAME SUBJECT [ISSUER]: a CA certificate NAME.pem (and .der, .key),
# self-signed or issued by ISSUER (a NAME made before).
ca() {
    local name=$1 subj=$2 issuer=${3:-}
    if [ -z "$issuer" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -keyout "$CASE/$name.key" -subj "$subj" -out "$CASE/$name.pem" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
            2>/dev/null || fail "openssl: CA $name"
    else
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$CASE/$name.key" -subj "$subj" -out "$CASE/$name.csr" 2>/dev/null ||
            fail "openssl: request for $name"
        printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' \
            >"$CASE/$name.ext"
        openssl x509 -req -in "$CASE/$name.csr" -CA "$CASE/$issuer.pem" \
            -CAkey "$CASE/$issuer.key" -days 30 -extfile "$CASE/$name.ext" \
            -out "$CASE/$name.pem" 2>/dev/null || fail "openssl: issuing $name"
    fi
    openssl x509 -in "$CASE/$name.pem" -outform DER -out "$CASE/$name.der"
}

# leaf KEYURI ISSUER NAME: a code-signing certificate NAME.pem (and .der)
# for the token key, from a csign CSR, issued by the CA ISSUER.
leaf() {
    run CSIGN_PIN=$USER_PIN csign csr --key "$1" --subject "CN=$3" -o "$CASE/$3.csr"
    expect_rc 0
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' \
        'extendedKeyUsage=codeSigning' >"$CASE/$3.ext"
    openssl x509 -req -in "$CASE/$3.csr" -CA "$CASE/$2.pem" -CAkey "$CASE/$2.key" -days 30 \
        -extfile "$CASE/$3.ext" -out "$CASE/$3.pem" 2>/dev/null || fail "openssl: leaf $3"
    openssl x509 -in "$CASE/$3.pem" -outform DER -out "$CASE/$3.der"
}

# write NAME LABEL [ID]: pkcs11-tool stores NAME.der as a certificate.
write() {
    tool --write-object "$CASE/$1.der" --type cert --label "$2" ${3:+--id "$3"}
}

# A root, an intermediate under it, and two CAs that issue nothing here:
# 'other' (another name) and 'twin' (the intermediate's name, another key).
pki() {
    ca root '/CN=Test Root'
    ca inter '/CN=Test Intermediate' root
    ca other '/CN=Other CA'
    ca twin '/CN=Test Intermediate' other
}

fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

# sig_certs SIG: the SHA-256 fingerprints of the certificates in a DER
# signature, one a line, as openssl reads them.
sig_certs() {
    local n=0 f
    openssl pkcs7 -inform DER -in "$1" -print_certs -out "$CASE/bag.pem" ||
        fail "openssl pkcs7 cannot read $1"
    rm -f "$CASE"/bag.*.pem
    awk -v dir="$CASE" '/BEGIN CERTIFICATE/{n++} n{print > (dir "/bag." n ".pem")}' \
        "$CASE/bag.pem"
    for f in "$CASE"/bag.*.pem; do [ -f "$f" ] && fp "$f"; done
}

# expect_bag SIG NAME... : the signature holds exactly these certificates.
expect_bag() {
    local sig=$1 want
    shift
    sig_certs "$sig" | sort >"$CASE/bag.got"
    for want in "$@"; do fp "$CASE/$want.pem"; done | sort >"$CASE/bag.want"
    cmp -s "$CASE/bag.got" "$CASE/bag.want" ||
        fail "the signature holds other certificates than $*: $(openssl pkcs7 -inform DER \
            -in "$sig" -print_certs -noout 2>&1 | grep subject | tr '\n' ';')"
}

# openssl trusts only the root: every other CA must come from the signature.
ossl_verify() {
    openssl cms -verify -binary -inform DER -in "$2" -content "$1" -CAfile "$CASE/root.pem" \
        -purpose any -out /dev/null 2>"$CASE/ossl.err" ||
        fail "openssl cms -verify rejects $2: $(cat "$CASE/ossl.err")"
}

# EC keys with an id (P-256, and P-384, which pkcs11-tool itself cannot read
# back); every certificate written by pkcs11-tool without a category; the
# intermediate comes from the token, the CAs that did not issue the leaf
# (one of them with the intermediate's very name) do not.
t_chain_from_pkcs11_tool_ca_certificates() {
    for curve in prime256v1 secp384r1; do
        setup_case
        new_token dev
        tool --keypairgen --key-type "EC:$curve" --label rel --id 01
        pki
        leaf 'pkcs11:token=dev;object=rel' inter Leaf
        write other 'Other CA'
        write twin 'Twin'
        write inter 'Test Intermediate'
        write root 'Test Root'
        write Leaf rel 01
        echo data >"$CASE/f"
        run CSIGN_PIN=$USER_PIN csign sign --key 'pkcs11:token=dev;object=rel' "$CASE/f"
        expect_rc 0
        ossl_verify "$CASE/f" "$CASE/f.p7s"
        expect_bag "$CASE/f.p7s" Leaf inter root
        run csign verify --trust "$CASE/root.pem" "$CASE/f"
        expect_rc 0
    done
}

# RSA key made without --id (empty CKA_ID), its certificate written without
# an id either: found by its public key, and chained through the token.
t_rsa_key_without_id_chain_from_token() {
    new_token dev
    tool --keypairgen --key-type rsa:2048 --label noid
    p11 --token-label dev --list-objects --type pubkey 2>/dev/null | grep -q "ID:" &&
        fail "pkcs11-tool gave the key an id"
    pki
    leaf 'pkcs11:token=dev;object=noid' inter Leaf
    write inter 'Test Intermediate'
    write twin 'Twin'
    write Leaf noid
    echo data >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key 'pkcs11:token=dev;object=noid' "$CASE/f"
    expect_rc 0
    ossl_verify "$CASE/f" "$CASE/f.p7s"
    expect_bag "$CASE/f.p7s" Leaf inter
}

# A CA certificate that pkcs11-tool wrote with the key's own id is still a
# CA certificate: never taken for the key's certificate, never replaced by
# import-cert --force, shown as a CA by list.
t_ca_certificate_with_the_keys_id() {
    new_token dev
    tool --keypairgen --key-type EC:prime256v1 --label rel --id 01
    pki
    leaf 'pkcs11:token=dev;object=rel' inter Leaf
    write inter 'Test Intermediate' 01
    write root 'Test Root' 01
    write Leaf rel 01
    echo data >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key 'pkcs11:token=dev;object=rel' "$CASE/f"
    expect_rc 0
    ossl_verify "$CASE/f" "$CASE/f.p7s"
    expect_bag "$CASE/f.p7s" Leaf inter root
    run csign list --json
    expect_rc 0
    jq -e '.tokens[0].certificates | map(select(.subject != "CN=Leaf")) | length == 2
        and all(.key_uri == null)' "$CASE/out" >/dev/null || fail "a CA certificate is the key's"
    # A renewed leaf replaces the old one and only that.
    leaf 'pkcs11:token=dev;object=rel' inter Leaf2
    run CSIGN_PIN=$USER_PIN csign import-cert --key 'pkcs11:token=dev;object=rel' --force \
        "$CASE/Leaf2.pem"
    expect_rc 0
    run csign list --json
    jq -e '[.tokens[0].certificates[].subject] | sort ==
        ["CN=Leaf2", "CN=Test Intermediate", "CN=Test Root"]' "$CASE/out" >/dev/null ||
        fail "import-cert --force touched the CA certificates: $(jq -c \
            '[.tokens[0].certificates[].subject]' "$CASE/out")"
}

# A key without an id gets a self-signed certificate with selfsign --import
# and then signs with it.
t_key_without_id_selfsign_import_then_sign() {
    new_token dev
    tool --keypairgen --key-type EC:prime256v1 --label noid
    pki
    write inter 'Test Intermediate'
    local k='pkcs11:token=dev;object=noid'
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$k" --subject 'CN=No Id' --import \
        -o "$CASE/self.pem"
    expect_rc 0
    echo data >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$k" "$CASE/f"
    expect_rc 0
    openssl cms -verify -binary -inform DER -in "$CASE/f.p7s" -content "$CASE/f" \
        -CAfile "$CASE/self.pem" -purpose any -out /dev/null 2>"$CASE/ossl.err" ||
        fail "openssl rejects: $(cat "$CASE/ossl.err")"
    expect_bag "$CASE/f.p7s" self
}

# list: pkcs11-tool's CA certificates are marked as CAs, its leaf is linked
# to its key, a key without an id says so.
t_list_shows_pkcs11_tool_objects() {
    new_token dev
    tool --keypairgen --key-type EC:prime256v1 --label rel --id 01
    tool --keypairgen --key-type rsa:2048 --label noid
    pki
    leaf 'pkcs11:token=dev;object=rel' inter Leaf
    write inter 'Test Intermediate'
    write Leaf rel 01
    run csign list
    expect_rc 0
    expect_out "certificate 'Test Intermediate' (CA)"
    expect_out "certificate 'rel'"
    expect_no_out "certificate 'rel' (CA)"
    expect_out "key:        pkcs11:serial="
    expect_out "key:        (none: a CA certificate, for chains)"
    expect_out "id:         (none)"
    run csign list --json
    jq -e '.tokens[0].certificates[] | select(.label == "Test Intermediate")
        | .authority == false and .ca == true and .key_uri == null' "$CASE/out" >/dev/null ||
        fail "intermediate: $(jq -c '.tokens[0].certificates' "$CASE/out")"
    jq -e '.tokens[0].certificates[] | select(.label == "rel") | .key_uri | contains("id=%01")' \
        "$CASE/out" >/dev/null || fail "leaf not linked to its key"
}

# A public key stored under another label than its private key (as some
# tools and vendors write them) still pairs with it by CKA_ID when --key
# names the private key's label: selfsign needs that public key. Signing
# names the key by id= (before the login only the public key is seen), and
# the signature verifies against the certificate.
t_public_key_with_another_label_pairs_by_id() {
    new_token dev
    tool --keypairgen --key-type EC:prime256v1 --label signer --id 07
    tool --read-object --type pubkey --label signer -o "$CASE/pub.der"
    tool --delete-object --type pubkey --label signer
    tool --write-object "$CASE/pub.der" --type pubkey --label 'signer public' --id 07
    local k='pkcs11:token=dev;object=signer'
    run CSIGN_PIN=$USER_PIN csign selfsign --key "$k" --subject 'CN=Paired' --import \
        -o "$CASE/self.pem"
    expect_rc 0
    echo data >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key 'pkcs11:token=dev;id=%07' "$CASE/f"
    expect_rc 0
    openssl cms -verify -binary -inform DER -in "$CASE/f.p7s" -content "$CASE/f" \
        -CAfile "$CASE/self.pem" -purpose any -out /dev/null 2>"$CASE/ossl.err" ||
        fail "openssl rejects: $(cat "$CASE/ossl.err")"
}

# A label that names one key before the login (a public key without its
# private key, with a certificate) and another after it (a private key with
# its public key under another label) is refused: the signature would not
# match the certificate checked before the login.
t_label_naming_another_key_after_login_refused() {
    new_token dev
    tool --keypairgen --key-type EC:prime256v1 --label tmp --id 01
    run CSIGN_PIN=$USER_PIN csign selfsign --key 'pkcs11:token=dev;object=tmp' \
        --subject 'CN=Before' --import -o "$CASE/a.pem"
    expect_rc 0
    tool --read-object --type pubkey --label tmp -o "$CASE/a.der"
    tool --delete-object --type privkey --label tmp
    tool --delete-object --type pubkey --label tmp
    tool --write-object "$CASE/a.der" --type pubkey --label rel --id 01
    tool --keypairgen --key-type EC:prime256v1 --label rel --id 02
    tool --read-object --type pubkey --id 02 -o "$CASE/b.der"
    tool --delete-object --type pubkey --id 02
    tool --write-object "$CASE/b.der" --type pubkey --label other --id 02
    echo data >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key 'pkcs11:token=dev;object=rel' "$CASE/f"
    expect_rc 3
    expect_err "names another key than before; name the key with id="
    [ ! -e "$CASE/f.p7s" ] || fail "a signature was written"
}

run_tests
