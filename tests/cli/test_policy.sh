#!/usr/bin/env bash
# sign --policy cabf and verify --policy cabf (docs/policy.md): each rule
# refused on its own and named, before the PIN is used for sign; the
# passing path on a slot that reports hardware (SoftHSM through the test
# shim with CKF_HW_SLOT set, and tpm2-pkcs11 on swtpm, a real module that
# reports itself as hardware).
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# The shim over SoftHSM, its slot reporting CKF_HW_SLOT (0x4).
HW=(CSIGN_SHIM_SLOT_FLAGS=0x4)

# key TYPE: the key $KEY on a new token 'dev'; its public key in pub.pem.
key() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type "$1" --pubout "$CASE/pub.pem"
    expect_rc 0
}

# ca: a CA (ca.pem, ca.key) made with openssl.
ca() {
    [ -f "$CASE/ca.pem" ] && return 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$CASE/ca.key" \
        -subj "/CN=Policy Test CA" -days 3650 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign -out "$CASE/ca.pem" 2>/dev/null || fail "CA"
}

# cert OUT DAYS EKU [PUB]: a certificate for pub.pem (or PUB) from the CA,
# valid for DAYS days from now, with extendedKeyUsage EKU.
cert() {
    ca
    printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
        "extendedKeyUsage=$3" >"$CASE/leaf.ext"
    openssl x509 -new -force_pubkey "${4:-$CASE/pub.pem}" -subj "/CN=Release Signing" \
        -CA "$CASE/ca.pem" -CAkey "$CASE/ca.key" -days "$2" -extfile "$CASE/leaf.ext" \
        -out "$1" 2>"$CASE/openssl.err" || fail "openssl x509 -new: $(cat "$CASE/openssl.err")"
}

# hw_sign ARGS...: csign sign through the shim, the slot reporting
# hardware, calls logged to shim.log.
hw_sign() {
    run "${HW[@]}" CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_PIN=$USER_PIN csign sign \
        --module "$CSIGN_SHIM" --key "$KEY" "$@"
}

# good_setup: a P-256 key, a 90-day code signing certificate (good.pem)
# and a running TSA: everything cabf asks for, but the hardware.
good_setup() {
    key ec:p256
    cert "$CASE/good.pem" 90 codeSigning
    start_tsa
    echo "release 1.0" >"$CASE/app.bin"
}

# logins: how often the shim saw C_Login ("C_Login user").
logins() {
    if [ -f "$CASE/shim.log" ]; then grep -c '^C_Login' "$CASE/shim.log"; else echo 0; fi
}

# One rule failed, this one, and the PIN was not used.
expect_only_rule() {
    expect_rc 2
    expect_one_error_line sign
    expect_err "policy cabf: 1 rule not met: [$1] "
    [ "$(logins)" -eq 0 ] || fail "C_Login was called"
    [ ! -e "$CASE/app.bin.p7s" ] || fail "a signature was written"
}

t_software_token_refused_before_the_pin() {
    good_setup
    # A PIN source that cannot be read: reading it would fail with exit 4.
    run CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --module "$CSIGN_SHIM" --key "$KEY" \
        --pin-source "file:$CASE/no-such-pin" --cert "$CASE/good.pem" --chain "$CASE/ca.pem" \
        --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_only_rule hardware
    expect_err "[hardware] token 'dev' is a software token (its slot lacks CKF_HW_SLOT)"
    expect_err "(BR 6.2.7.4.1)"
    [ "$(count_calls C_OpenSession)" -gt 0 ] || fail "the token was not looked at"
    [ ! -s "$TSA_LOG" ] || fail "the TSA was asked"
    # Without the policy the same run goes on to read the PIN.
    run csign sign --key "$KEY" --pin-source "file:$CASE/no-such-pin" --cert "$CASE/good.pem" \
        --tsa "$TSA_URL" "$CASE/app.bin"
    expect_rc 4
}

t_rsa2048_refused() {
    key rsa:2048
    cert "$CASE/c.pem" 90 codeSigning
    start_tsa
    echo x >"$CASE/app.bin"
    hw_sign --cert "$CASE/c.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_only_rule key
    expect_err "[key] an RSA key of 2048 bits: needs RSA of 3072 bits or more, or ECDSA on P-256"
    expect_err "(BR 6.1.5.2)"
    hw_sign --cert "$CASE/c.pem" --tsa "$TSA_URL" "$CASE/app.bin"
    expect_rc 0
}

t_rsa3072_accepted() {
    key rsa:3072
    cert "$CASE/c.pem" 90 codeSigning
    start_tsa
    echo x >"$CASE/app.bin"
    hw_sign --cert "$CASE/c.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_rc 0
    expect_out "timestamped by $TSA_URL"
}

# --digest takes SHA-256, SHA-384 and SHA-512 only, with or without a
# policy; the digest rule itself is tested in tests/unit/test_policy.c.
t_sha1_is_not_a_digest_choice() {
    good_setup
    hw_sign --cert "$CASE/good.pem" --tsa "$TSA_URL" --policy cabf --digest sha1 "$CASE/app.bin"
    expect_rc 2
    expect_err "unknown digest 'sha1'"
    hw_sign --cert "$CASE/good.pem" --tsa "$TSA_URL" --policy cabf --digest sha512 "$CASE/app.bin"
    expect_rc 0
}

t_certificate_without_code_signing_refused() {
    good_setup
    cert "$CASE/tls.pem" 90 serverAuth
    hw_sign --cert "$CASE/tls.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_only_rule code-signing
    expect_err "[code-signing] the certificate lacks extendedKeyUsage codeSigning"
    expect_err "(BR 7.1.2.3 f)"
    cert "$CASE/both.pem" 90 codeSigning,serverAuth
    hw_sign --cert "$CASE/both.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_only_rule code-signing
    expect_err "extendedKeyUsage has serverAuth"
    # Without the policy csign refuses the first too (for its own reasons)
    # but signs with the second.
    hw_sign --cert "$CASE/both.pem" --tsa "$TSA_URL" "$CASE/app.bin"
    expect_rc 0
}

t_too_long_validity_refused() {
    good_setup
    cert "$CASE/long.pem" 500 codeSigning
    hw_sign --cert "$CASE/long.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_only_rule lifetime
    expect_err "longer than the 460 days allowed for one issued on or after 2026-03-01 (BR 6.3.2)"
    # The period counts both ends (BR 1.6.1): 460 days from notBefore to
    # notAfter are one second too long.
    cert "$CASE/460.pem" 460 codeSigning
    hw_sign --cert "$CASE/460.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_only_rule lifetime
    cert "$CASE/459.pem" 459 codeSigning
    hw_sign --cert "$CASE/459.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_rc 0
}

t_missing_tsa_refused() {
    good_setup
    hw_sign --cert "$CASE/good.pem" --policy cabf "$CASE/app.bin"
    expect_only_rule timestamp
    expect_err "[timestamp] no TSA is given: add --tsa URL, or tsa = URL in the profile (BR 6.8)"
    hw_sign --cert "$CASE/good.pem" --tsa "$TSA_URL" --tsa-optional --policy cabf "$CASE/app.bin"
    expect_only_rule timestamp
    expect_err "[timestamp] --tsa-optional would keep a signature without a timestamp"
}

t_every_failing_rule_named_at_once() {
    key rsa:2048
    cert "$CASE/c.pem" 500 serverAuth
    echo x >"$CASE/app.bin"
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_PIN=$USER_PIN csign sign --module "$CSIGN_SHIM" \
        --key "$KEY" --cert "$CASE/c.pem" --policy cabf "$CASE/app.bin"
    expect_rc 2
    expect_one_error_line sign
    expect_err "policy cabf: 5 rules not met: [key] "
    expect_err "; [code-signing] "
    expect_err "; [lifetime] "
    expect_err "; [hardware] "
    expect_err "; [timestamp] "
    [ "$(logins)" -eq 0 ] || fail "C_Login was called"
}

t_passing_setup_signs_and_verifies() {
    good_setup
    hw_sign --cert "$CASE/good.pem" --chain "$CASE/ca.pem" --tsa "$TSA_URL" --policy cabf \
        "$CASE/app.bin"
    expect_rc 0
    expect_out "timestamped by $TSA_URL"
    [ "$(logins)" -eq 1 ] || fail "not one login"
    run csign verify --trust "$CASE/ca.pem" --tsa-trust "$CASE/tsaca.pem" --policy cabf \
        "$CASE/app.bin"
    expect_rc 0
    # Without --tsa-trust the timestamp is not checked: not enough.
    run csign verify --trust "$CASE/ca.pem" --policy cabf "$CASE/app.bin"
    expect_rc 1
    expect_out "[timestamp] the timestamp is not checked: give --tsa-trust"
}

t_profile_sets_the_policy_and_none_turns_it_off() {
    good_setup
    printf '[default]\npolicy = none\n[profile release]\npolicy = cabf\n' >"$CASE/cfg"
    chmod 600 "$CASE/cfg"
    run CSIGN_PIN=$USER_PIN csign sign --config "$CASE/cfg" --profile release --key "$KEY" \
        --cert "$CASE/good.pem" --tsa "$TSA_URL" "$CASE/app.bin"
    expect_rc 2
    expect_err "[hardware] token 'dev'"
    run csign config --config "$CASE/cfg" --profile release sign
    expect_rc 0
    expect_out "policy = cabf"
    run CSIGN_PIN=$USER_PIN csign sign --config "$CASE/cfg" --profile release --policy none \
        --key "$KEY" --cert "$CASE/good.pem" --tsa "$TSA_URL" "$CASE/app.bin"
    expect_rc 0
    run csign verify --config "$CASE/cfg" --profile release --trust "$CASE/ca.pem" "$CASE/app.bin"
    expect_rc 1
    expect_out "[timestamp] the timestamp is not checked"
    run csign verify --config "$CASE/cfg" --trust "$CASE/ca.pem" "$CASE/app.bin"
    expect_rc 0
    printf '[default]\npolicy = strict\n' >"$CASE/bad"
    chmod 600 "$CASE/bad"
    run csign verify --config "$CASE/bad" --trust "$CASE/ca.pem" "$CASE/app.bin"
    expect_rc 2
    expect_err "bad:2: unknown policy 'strict': use cabf"
}

# verify_cabf SIG...: verify --policy cabf of app.bin with SIG as signature.
verify_cabf() {
    run csign verify --trust "$CASE/ca.pem" --tsa-trust "$CASE/tsaca.pem" --policy cabf \
        --sig "$1" "$CASE/app.bin"
}

t_verify_refuses_without_timestamp() {
    good_setup
    hw_sign --cert "$CASE/good.pem" --chain "$CASE/ca.pem" -o "$CASE/plain.p7s" "$CASE/app.bin"
    expect_rc 0
    verify_cabf "$CASE/plain.p7s"
    expect_rc 1
    expect_out "policy cabf: 1 rule not met: [timestamp] the signature has no timestamp (BR 6.8)"
    run csign verify --trust "$CASE/ca.pem" --sig "$CASE/plain.p7s" "$CASE/app.bin"
    expect_rc 0
    # The same signature, stamped afterwards, passes.
    run csign timestamp --tsa "$TSA_URL" "$CASE/plain.p7s"
    expect_rc 0
    verify_cabf "$CASE/plain.p7s"
    expect_rc 0
}

t_verify_refuses_rsa2048() {
    key rsa:2048
    cert "$CASE/c.pem" 90 codeSigning
    start_tsa
    echo x >"$CASE/app.bin"
    hw_sign --cert "$CASE/c.pem" --chain "$CASE/ca.pem" --tsa "$TSA_URL" "$CASE/app.bin"
    expect_rc 0
    verify_cabf "$CASE/app.bin.p7s"
    expect_rc 1
    expect_out "policy cabf: 1 rule not met: [key] an RSA key of 2048 bits"
    run csign verify --trust "$CASE/ca.pem" --tsa-trust "$CASE/tsaca.pem" "$CASE/app.bin"
    expect_rc 0
}

t_verify_refuses_certificate_without_code_signing() {
    # csign does not sign with such a certificate: openssl does, with a
    # software key, and csign adds the timestamp.
    start_tsa
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CASE/sw.key" 2>/dev/null
    openssl pkey -in "$CASE/sw.key" -pubout -out "$CASE/sw.pub"
    cert "$CASE/tls.pem" 90 serverAuth "$CASE/sw.pub"
    echo x >"$CASE/app.bin"
    openssl cms -sign -binary -md sha256 -in "$CASE/app.bin" -signer "$CASE/tls.pem" \
        -inkey "$CASE/sw.key" -outform DER -out "$CASE/tls.p7s" 2>"$CASE/openssl.err" ||
        fail "openssl cms -sign: $(cat "$CASE/openssl.err")"
    run csign timestamp --tsa "$TSA_URL" "$CASE/tls.p7s"
    expect_rc 0
    verify_cabf "$CASE/tls.p7s"
    expect_rc 1
    expect_out "policy cabf: 1 rule not met: [code-signing] the certificate lacks extendedKeyUsage"
}

t_verify_refuses_too_long_validity() {
    good_setup
    cert "$CASE/long.pem" 500 codeSigning
    hw_sign --cert "$CASE/long.pem" --chain "$CASE/ca.pem" --tsa "$TSA_URL" "$CASE/app.bin"
    expect_rc 0
    verify_cabf "$CASE/app.bin.p7s"
    expect_rc 1
    expect_out "policy cabf: 1 rule not met: [lifetime] "
    run csign verify --trust "$CASE/ca.pem" --tsa-trust "$CASE/tsaca.pem" "$CASE/app.bin"
    expect_rc 0
}

t_verify_manifest_under_policy() {
    good_setup
    hw_sign --cert "$CASE/good.pem" --chain "$CASE/ca.pem" --manifest "$CASE/SHA256SUMS" \
        "$CASE/app.bin"
    expect_rc 0
    run csign verify --trust "$CASE/ca.pem" --tsa-trust "$CASE/tsaca.pem" --policy cabf \
        --manifest "$CASE/SHA256SUMS"
    expect_rc 1
    expect_out "[timestamp] the signature has no timestamp"
    hw_sign --cert "$CASE/good.pem" --chain "$CASE/ca.pem" --tsa "$TSA_URL" --policy cabf \
        --manifest "$CASE/SHA256SUMS" --force "$CASE/app.bin"
    expect_rc 0
    run csign verify --trust "$CASE/ca.pem" --tsa-trust "$CASE/tsaca.pem" --policy cabf \
        --manifest "$CASE/SHA256SUMS"
    expect_rc 0
}

# bash's completion offers the policies after --policy (the list is fixed
# in completion/csign.bash; zsh and fish are checked by test_completion.sh).
t_completion_offers_the_policies() {
    local bc=/usr/share/bash-completion/bash_completion
    [ -r "$bc" ] || fail "bash-completion is not installed"
    mkdir -p "$CASE/bin"
    ln -s "$CSIGN_BIN" "$CASE/bin/csign"
    local w
    for w in sign verify; do
        PATH=$CASE/bin:$PATH bash --norc --noprofile -c '. "$1"; . "$2"
            COMP_WORDS=(csign "$3" --policy ""); COMP_CWORD=3
            COMP_LINE="csign $3 --policy "; COMP_POINT=${#COMP_LINE}
            COMPREPLY=(); _csign csign; printf "%s\n" "${COMPREPLY[@]}"' _ "$bc" \
            "$SRC/completion/csign.bash" "$w" >"$CASE/out" 2>"$CASE/err"
        [ "$(sort "$CASE/out" | tr '\n' ' ')" = "cabf none " ] ||
            fail "$w --policy offers: $(cat "$CASE/out")"
    done
}

# ---- A real module that reports hardware: tpm2-pkcs11 on swtpm ----------

TPM_MODULE=""
for p in /usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so /usr/lib/pkcs11/libtpm2_pkcs11.so \
    /usr/lib/aarch64-linux-gnu/pkcs11/libtpm2_pkcs11.so /usr/lib64/pkcs11/libtpm2_pkcs11.so; do
    if [ -r "$p" ]; then TPM_MODULE=$p; break; fi
done

t_tpm_token_passes_the_policy() {
    # Missing, the TPM stack is a failure, as in test_tpm.sh.
    [ -n "$TPM_MODULE" ] && command -v swtpm >/dev/null ||
        fail "swtpm or tpm2-pkcs11 is not installed (scripts/install-deps.sh installs them)"
    start_tsa
    mkdir -p "$CASE/tpm/state" "$CASE/tpm/store"
    swtpm socket --tpm2 --tpmstate dir="$CASE/tpm/state" \
        --server type=unixio,path="$CASE/tpm/sock" --ctrl type=unixio,path="$CASE/tpm/sock.ctrl" \
        --flags not-need-init,startup-clear --daemon --pid file="$CASE/tpm/pid" ||
        fail "swtpm did not start"
    # swtpm is a daemon, not our child: wait for it to be gone.
    TPM_PID=$(cat "$CASE/tpm/pid")
    trap 'kill $TSA_PID $TPM_PID 2>/dev/null; timeout 20 tail --pid=$TPM_PID -f /dev/null' EXIT
    export TPM2_PKCS11_TCTI=swtpm:path=$CASE/tpm/sock TPM2_PKCS11_STORE=$CASE/tpm/store
    export CSIGN_MODULE=$TPM_MODULE
    local key='pkcs11:token=tpm;object=rel'
    # Under AddressSanitizer, see test_tpm.sh.
    local slow="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
    run CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN csign init-token --label tpm
    expect_rc 0
    expect_err "initialised hardware token 'tpm'"
    run CSIGN_PIN=$USER_PIN csign keygen --key "$key" --type ec:p256 --pubout "$CASE/pub.pem"
    expect_rc 0
    cert "$CASE/tpm.pem" 90 codeSigning
    echo "release 1.0" >"$CASE/app.bin"
    # The rules are met before the login: a wrong PIN is what stops it.
    run "$slow" CSIGN_PIN=0000 csign sign --key "$key" --cert "$CASE/tpm.pem" --tsa "$TSA_URL" \
        --policy cabf "$CASE/app.bin"
    expect_rc 3
    expect_no_err "policy cabf"
    run "$slow" CSIGN_PIN=$USER_PIN csign sign --key "$key" --cert "$CASE/tpm.pem" \
        --chain "$CASE/ca.pem" --tsa "$TSA_URL" --policy cabf "$CASE/app.bin"
    expect_rc 0
    expect_out "timestamped by $TSA_URL"
    verify_cabf "$CASE/app.bin.p7s"
    expect_rc 0
    run "$slow" CSIGN_PIN=$USER_PIN csign sign --key "$key" --cert "$CASE/tpm.pem" \
        --policy cabf --force "$CASE/app.bin"
    expect_rc 2
    expect_err "policy cabf: 1 rule not met: [timestamp]"
}

run_tests
