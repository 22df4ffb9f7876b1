#!/usr/bin/env bash
# csign on a second PKCS#11 implementation: tpm2-pkcs11 on a software TPM
# (swtpm), one TPM per test, started in the test's folder and stopped after.
# The module reaches swtpm directly, without a resource manager, so every
# process here runs after the previous one has ended.
. "$(dirname "$0")/lib.sh"
# Letters no serial or hex field can hold: the PIN is looked for in the output.
USER_PIN=tpm-Pin-q

TPM_MODULE=""
for p in /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so /usr/lib/pkcs11/libtpm2_pkcs11.so \
    /usr/lib/aarch64-linux-gnu/pkcs11/libtpm2_pkcs11.so /usr/lib64/pkcs11/libtpm2_pkcs11.so; do
    if [ -r "$p" ]; then TPM_MODULE=$p; break; fi
done

# A missing TPM stack is a failure, not a skip: scripts/install-deps.sh
# installs it, and these tests must run wherever the suite runs.
if [ -z "$TPM_MODULE" ] || ! command -v swtpm >/dev/null; then
    echo "FAIL: swtpm or tpm2-pkcs11 is not installed (scripts/install-deps.sh installs them)" >&2
    exit 1
fi

KEY='pkcs11:token=tpm;object=rel'

# Under AddressSanitizer: tpm2-pkcs11 leaks in C_SignInit (tests/lsan.supp
# names the module). Runs that sign use the slow unwinder, which follows
# such a stack through libcrypto into the module so that the suppression
# matches it; it is too slow for every run.
SLOW_UNWIND="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

stop_tpm() {
    local pid
    pid=$(cat "$CASE/tpm/pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null
    # swtpm runs as a daemon, not as our child: wait for it to be gone.
    timeout 20 tail --pid="$pid" -f /dev/null
}

# start_tpm: a fresh swtpm in $CASE/tpm, and an initialised token 'tpm'
# (SO PIN $SO_PIN, user PIN $USER_PIN) made by csign.
start_tpm() {
    mkdir -p "$CASE/tpm/state" "$CASE/tpm/store"
    swtpm socket --tpm2 --tpmstate dir="$CASE/tpm/state" \
        --server type=unixio,path="$CASE/tpm/sock" --ctrl type=unixio,path="$CASE/tpm/sock.ctrl" \
        --flags not-need-init,startup-clear --daemon --pid file="$CASE/tpm/pid" ||
        fail "swtpm did not start"
    trap stop_tpm EXIT
    export TPM2_PKCS11_TCTI=swtpm:path=$CASE/tpm/sock TPM2_PKCS11_STORE=$CASE/tpm/store
    export CSIGN_MODULE=$TPM_MODULE
    run CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN csign init-token --label tpm
    expect_rc 0
}

tpm11() {
    pkcs11-tool --module "$TPM_MODULE" "$@"
}

# keygen_ok TYPE LABEL: a new key that the TPM keeps sensitive and sign-only.
keygen_ok() {
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=tpm;object=$2" --type "$1"
    expect_rc 0
    expect_out "object=$2"
    tpm11 --login --pin "$USER_PIN" -O --type privkey --label "$2" >"$CASE/attrs" 2>&1 ||
        fail "pkcs11-tool cannot list key $2"
    grep -q "Access: *sensitive, always sensitive, never extractable, local" "$CASE/attrs" ||
        fail "$1: key is not sensitive and non-extractable: $(cat "$CASE/attrs")"
    grep -q "Usage: *sign$" "$CASE/attrs" || fail "$1: key can do more than sign: $(cat "$CASE/attrs")"
}

ossl_verify() {
    openssl cms -verify -binary -inform DER -in "$2" -content "$1" -CAfile "$3" -purpose any \
        -out /dev/null 2>"$CASE/ossl.err" || fail "openssl cms -verify: $(cat "$CASE/ossl.err")"
}

t_init_token_reports_hardware() {
    start_tpm
    expect_err "initialised hardware token 'tpm'"
    expect_secret_absent "$USER_PIN"
    run CSIGN_PIN=$USER_PIN csign list --login
    expect_rc 0
    expect_out "token 'tpm'"
    expect_out "kind:         hardware token"
    tpm11 --login --pin "$USER_PIN" -O >/dev/null 2>&1 || fail "pkcs11-tool cannot log in"
}

t_keygen_every_type_the_tpm_makes() {
    start_tpm
    local t
    for t in ec:p256 ec:p384 ec:p521 rsa:2048 rsa:3072; do
        keygen_ok "$t" "k-${t/:/-}"
    done
    run CSIGN_PIN=$USER_PIN csign list --login
    expect_rc 0
    for t in ec:p256 ec:p384 ec:p521 rsa:2048 rsa:3072; do expect_out "object=k-${t/:/-}"; done
}

t_keygen_refuses_rsa4096_naming_the_limit() {
    start_tpm
    run CSIGN_PIN=$USER_PIN csign keygen --key "pkcs11:token=tpm;object=big" --type rsa:4096
    expect_rc 3
    expect_one_error_line keygen
    expect_err "token 'tpm' cannot make rsa:4096 keys: it supports RSA keys of 1024 to 3072 bits"
    [ -z "$(tpm11 --login --pin "$USER_PIN" -O 2>/dev/null)" ] || fail "objects left behind"
    # The TPM still works afterwards.
    keygen_ok ec:p256 after
}

# The whole path for one EC key: CSR, a certificate from a CA made here,
# import with the CA as chain, sign, verify with csign and with openssl.
ec_end_to_end() {
    local type=$1 subj=$2
    start_tpm
    keygen_ok "$type" rel
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject "$subj" -o "$CASE/req.pem"
    expect_rc 0
    openssl req -in "$CASE/req.pem" -verify -noout >/dev/null 2>&1 || fail "CSR does not verify"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CASE/ca.key" \
        -subj "/CN=TPM Test CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign -out "$CASE/ca.pem" 2>/dev/null || fail "CA"
    openssl x509 -req -in "$CASE/req.pem" -CA "$CASE/ca.pem" -CAkey "$CASE/ca.key" -days 30 \
        -copy_extensions copy -out "$CASE/leaf.pem" 2>/dev/null || fail "openssl x509 -req"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" --chain "$CASE/ca.pem" "$CASE/leaf.pem"
    expect_rc 0
    expect_err "stored CA certificate 'TPM Test CA'"
    echo "release 1.0" >"$CASE/data.bin"
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/data.bin"
    expect_rc 0
    # The chain came from the token: the signature carries the CA too.
    openssl cms -cmsout -print -inform DER -in "$CASE/data.bin.p7s" | grep -q "CN=TPM Test CA" ||
        fail "the CA certificate is not in the signature"
    ossl_verify "$CASE/data.bin" "$CASE/data.bin.p7s" "$CASE/ca.pem"
    run csign verify --trust "$CASE/ca.pem" "$CASE/data.bin"
    expect_rc 0
    echo tampered >>"$CASE/data.bin"
    run csign verify --trust "$CASE/ca.pem" "$CASE/data.bin"
    expect_rc 1
}

t_ec_p256_csr_import_chain_sign_verify() { ec_end_to_end ec:p256 'CN=TPM Release P-256'; }
t_ec_p384_csr_import_chain_sign_verify() { ec_end_to_end ec:p384 'CN=TPM Release P-384'; }

t_selfsign_import_sign_verify() {
    start_tpm
    keygen_ok ec:p256 rel
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject 'CN=TPM Root' --import \
        -o "$CASE/root.pem"
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign list
    expect_rc 0
    expect_out "CN=TPM Root"
    echo "release 2.0" >"$CASE/data.bin"
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/data.bin"
    expect_rc 0
    ossl_verify "$CASE/data.bin" "$CASE/data.bin.p7s" "$CASE/root.pem"
    run csign verify --trust "$CASE/root.pem" "$CASE/data.bin"
    expect_rc 0
}

# pkcs11-tool makes RSA keys that may sign and decrypt. PKCS#1 v1.5 goes
# through the module's CKM_SHA256_RSA_PKCS; RSASSA-PSS through
# CKM_RSA_X_509, padded by csign, which the module performs by raw RSA: the
# TPM allows that for such keys, not for csign's own sign-only keys.
t_rsa_pkcs1_and_pss_with_a_pkcs11_tool_key() {
    start_tpm
    tpm11 --login --pin "$USER_PIN" --keypairgen --key-type rsa:2048 --id 02 --label pk \
        >/dev/null 2>&1 || fail "pkcs11-tool --keypairgen"
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign selfsign --key 'pkcs11:token=tpm;object=pk' \
        --subject 'CN=TPM RSA' --import -o "$CASE/root.pem"
    expect_rc 0
    echo "release 3.0" >"$CASE/data.bin"
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign sign --key 'pkcs11:token=tpm;object=pk' -o "$CASE/v15.p7s" \
        "$CASE/data.bin"
    expect_rc 0
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign sign --pss --key 'pkcs11:token=tpm;object=pk' \
        -o "$CASE/pss.p7s" "$CASE/data.bin"
    expect_rc 0
    openssl cms -cmsout -print -inform DER -in "$CASE/pss.p7s" | grep -q rsassaPss ||
        fail "the --pss signature is not RSASSA-PSS"
    for s in v15 pss; do
        ossl_verify "$CASE/data.bin" "$CASE/$s.p7s" "$CASE/root.pem"
        run csign verify --trust "$CASE/root.pem" --sig "$CASE/$s.p7s" "$CASE/data.bin"
        expect_rc 0
    done
}

# csign keygen's RSA keys may only sign. The module signs them with its
# hashing mechanisms (CKM_SHA256_RSA_PKCS: the TPM's own signing command),
# to which csign gives the whole to-be-signed part of the request or
# certificate, and the signed attributes. RSASSA-PSS does not work with
# them: swtpm does not report FIPS 140-2 mode (TPM2_PT_MODES 0), so the
# module lists no PSS mechanism and makes PSS by padding in software and a
# raw RSA decryption (TPM2_RSA_Decrypt), which the TPM refuses for a key
# that may not decrypt (TPM_RC_ATTRIBUTES, "inconsistent attributes");
# docs/tokens.md.
rsa_keygen_key() {
    local type=$1
    start_tpm
    keygen_ok "$type" rel
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign selfsign --key "$KEY" --subject "CN=TPM $type" \
        --import -o "$CASE/root.pem"
    expect_rc 0
    openssl verify -CAfile "$CASE/root.pem" "$CASE/root.pem" >/dev/null 2>&1 ||
        fail "openssl rejects the certificate"
    run "$SLOW_UNWIND" CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject "CN=TPM $type" \
        -o "$CASE/req.pem"
    expect_rc 0
    openssl req -in "$CASE/req.pem" -verify -noout >/dev/null 2>&1 || fail "CSR does not verify"
    echo "release 4.0" >"$CASE/data.bin"
    # Through the test module, which logs the mechanism of each C_SignInit.
    run "$SLOW_UNWIND" CSIGN_SHIM_MODULE="$TPM_MODULE" CSIGN_SHIM_LOG="$CASE/shim.log" \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --key "$KEY" "$CASE/data.bin"
    expect_rc 0
    [ "$(grep '^C_SignInit' "$CASE/shim.log")" = "C_SignInit CKM_SHA256_RSA_PKCS" ] ||
        fail "mechanisms: $(grep '^C_SignInit' "$CASE/shim.log")"
    ossl_verify "$CASE/data.bin" "$CASE/data.bin.p7s" "$CASE/root.pem"
    run csign verify --trust "$CASE/root.pem" "$CASE/data.bin"
    expect_rc 0
    : >"$CASE/shim.log"
    run "$SLOW_UNWIND" CSIGN_SHIM_MODULE="$TPM_MODULE" CSIGN_SHIM_LOG="$CASE/shim.log" \
        CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" --pss --key "$KEY" \
        -o "$CASE/pss.p7s" "$CASE/data.bin"
    expect_rc 3
    [ "$(grep -c '^C_SignInit CKM_RSA_X_509' "$CASE/shim.log")" -ge 1 ] ||
        fail "mechanisms: $(grep '^C_SignInit' "$CASE/shim.log")"
    expect_err "the token could not sign: C_Sign on token 'tpm' failed: CKR_GENERAL_ERROR"
    expect_err "Esys_RSA_Decrypt: tpm:handle(1):inconsistent attributes"
    [ ! -e "$CASE/pss.p7s" ] || fail "a signature was written"
}

t_rsa2048_keygen_key_csr_selfsign_sign_verify() { rsa_keygen_key rsa:2048; }
t_rsa3072_keygen_key_csr_selfsign_sign_verify() { rsa_keygen_key rsa:3072; }

run_tests
