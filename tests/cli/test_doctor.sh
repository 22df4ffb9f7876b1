#!/usr/bin/env bash
# csign doctor: a preflight of the signing set-up (docs/doctor.md), against
# a real SoftHSM token, openssl-made certificates and the test TSA.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=release'
SCHEMA=$CSIGN_TESTS/../docs/json/csign.schema.json

# line STATUS NAME: stdout has the check NAME with STATUS.
line() { grep -qE "^$1 +$2: " "$CASE/out" || fail "no '$1 $2' line"; }
no_line() { ! grep -qE "^$1 +$2: " "$CASE/out" || fail "a '$1 $2' line"; }

# valid_doc: $CASE/out is a doctor document the schema accepts, exit code $RC.
valid_doc() {
    /usr/bin/python3 - "$SCHEMA" "$CASE/out" "$RC" <<'PY' || fail "schema: $(cat "$CASE/out")"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
assert doc["command"] == "doctor", doc["command"]
assert doc["exit_code"] == int(sys.argv[3]), (doc["exit_code"], sys.argv[3])
PY
}

# A CA (ca.pem, ca.key) and, for the key $KEY made on token 'dev', a
# certificate it issues with the extensions in $1 for $2 days, stored on
# the token.
ca_cert() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type ec:p256
    expect_rc 0
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -subj "/CN=Test CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign -out ca.pem 2>/dev/null || fail "CA"
    run CSIGN_PIN=$USER_PIN csign csr --key "$KEY" --subject 'CN=Release' -o release.csr
    expect_rc 0
    printf '%s\n' basicConstraints=critical,CA:FALSE "$1" >leaf.ext
    openssl x509 -req -in release.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days "$2" \
        -extfile leaf.ext -out release.pem 2>/dev/null || fail "leaf certificate"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$KEY" release.pem
    expect_rc 0
}
CODE_SIGNING='keyUsage=critical,digitalSignature
extendedKeyUsage=codeSigning'

t_all_ok() {
    signing_key
    start_tsa
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY" --trust root.pem --tsa "$TSA_URL"
    expect_rc 0
    for c in module token pin login key key-extractable key-sensitive key-sign key-mechanism \
        cert cert-key cert-eku cert-ku cert-expiry chain tsa; do
        line ok "$c"
    done
    [ "$(grep -cvE '^ok ' "$CASE/out")" -eq 0 ] || fail "a line that is not ok"
    expect_out "ok   module: $SOFTHSM_MODULE (SoftHSM"
    expect_out "ok   tsa: $TSA_URL gave a timestamp"
    [ "$(grep -cx request "$TSA_LOG")" -eq 1 ] || fail "the TSA was not asked once"
    [ ! -s "$CASE/err" ] || fail "stderr is not empty"
}

t_without_login_no_pin_is_read_and_private_checks_warn() {
    signing_key
    # A PIN source that cannot be read: never touched without --login.
    run csign doctor --key "$KEY" --trust root.pem --pin-source file:/nonexistent/pin
    expect_rc 0
    line warn login
    line warn key-extractable
    expect_out "not checked: the private key is not visible without a login"
    line ok cert-key
    line warn tsa
    # The same with --login does read it.
    run csign doctor --login --key "$KEY" --trust root.pem --pin-source file:/nonexistent/pin
    [ "$RC" -ne 0 ] || fail "the PIN file was not read with --login"
}

t_json_document() {
    command -v jq >/dev/null || fail "jq is missing"
    signing_key
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY" --trust root.pem --json
    expect_rc 0
    valid_doc
    jq -e '.ok == true and .status == "ok" and
        ([.checks[] | select(.name == "key-extractable")][0] |
            .status == "ok" and .fix == null) and
        ([.checks[] | select(.status == "fail")] | length) == 0 and
        ([.checks[] | select(.name == "tsa")][0].status == "warn")' "$CASE/out" >/dev/null ||
        fail "document"
    # A failed check: exit 1, ok false, the check with its fix.
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY" --trust "$CASE/other.pem" --json
    expect_rc 4 # the trust file does not exist: not run
    valid_doc
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
        -subj "/CN=Other" -days 30 -out other.pem 2>/dev/null || fail "other root"
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY" --trust other.pem --json
    expect_rc 1
    valid_doc
    jq -e '.ok == false and .status == "invalid" and
        ([.checks[] | select(.status == "fail")] | map(.name)) == ["chain"] and
        ([.checks[] | select(.name == "chain")][0].fix | contains("--trust"))' \
        "$CASE/out" >/dev/null || fail "failed document"
    # The schema can say no: ok true with a failed check.
    jq '.ok = true' "$CASE/out" >bad.json && cp bad.json "$CASE/out"
    ! (valid_doc) 2>/dev/null || fail "the schema accepted ok with exit code 1"
}

t_key_without_certificate() {
    new_token dev
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type ec:p256
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY"
    expect_rc 1
    line fail cert
    expect_out "key 'release' has no certificate on the token; fix: store a certificate with 'csign import-cert"
    line ok key
    expect_one_error_line doctor
    expect_err "csign: doctor: 1 check failed: cert"
}

t_extractable_key_fails() {
    new_token dev
    p11 --login --pin "$USER_PIN" --token-label dev --keypairgen --key-type EC:prime256v1 \
        --label loose --id 0a --usage-sign --extractable >/dev/null 2>&1 || fail "pkcs11-tool"
    run CSIGN_PIN=$USER_PIN csign doctor --login --key 'pkcs11:token=dev;object=loose'
    expect_rc 1
    line fail key-extractable
    expect_out "CKA_EXTRACTABLE true); fix: make a new key with 'csign keygen'"
    expect_err "key-extractable"
    # csign's own keys pass the same check.
    run CSIGN_PIN=$USER_PIN csign keygen --key "$KEY" --type ec:p256
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY"
    line ok key-extractable
    line ok key-sensitive
}

t_certificate_expiring_soon_warns() {
    ca_cert "$CODE_SIGNING" 5
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY" --trust ca.pem
    expect_rc 0
    line warn cert-expiry
    expect_out "days left until the certificate expires"
    expect_out "(warning under 30); fix: renew the certificate"
    line ok chain
    line ok cert-eku
    # Under the threshold given: no warning.
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY" --trust ca.pem --warn-days 3
    expect_rc 0
    line ok cert-expiry
    run csign doctor --key "$KEY" --warn-days soon
    expect_rc 2
}

t_certificate_without_code_signing_fails() {
    ca_cert 'keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth' 60
    run CSIGN_PIN=$USER_PIN csign doctor --login --key "$KEY" --trust ca.pem
    expect_rc 1
    line fail cert-eku
    expect_out "lacks extendedKeyUsage codeSigning; fix: ask the CA for a code-signing certificate"
    line ok cert-ku
    line ok cert-expiry
}

t_wrong_pin_with_login_fails() {
    signing_key
    run CSIGN_PIN=wrong-Pin-q csign doctor --login --key "$KEY" --trust root.pem
    expect_rc 1
    line fail login
    expect_out "PIN rejected by token 'dev'"
    expect_out "fix: check the PIN that environment variable CSIGN_PIN gives"
    expect_secret_absent wrong-Pin-q
    # The checks that need the private key say why they did not run.
    line warn key-extractable
    line ok cert-eku
    # The token now says so.
    run csign doctor --key "$KEY" --trust root.pem
    expect_rc 0
    line warn pin
}

# PIN states SoftHSM never reaches, through the test shim's token flags.
t_pin_states() {
    [ -n "$CSIGN_SHIM" ] || fail "CSIGN_SHIM is not set"
    signing_key
    run CSIGN_SHIM_TOKEN_FLAGS=0x10000 csign doctor --module "$CSIGN_SHIM" --key "$KEY"
    expect_rc 0
    line warn pin
    expect_out "few tries may be left"
    run CSIGN_SHIM_TOKEN_FLAGS=0x20000 csign doctor --module "$CSIGN_SHIM" --key "$KEY"
    expect_rc 1
    line fail pin
    expect_out "fix: log in once with the right PIN and --pin-final-try"
    # Asked to spend that try: the login decides.
    run CSIGN_SHIM_TOKEN_FLAGS=0x20000 CSIGN_PIN=$USER_PIN csign doctor --module "$CSIGN_SHIM" \
        --key "$KEY" --login --pin-final-try
    expect_rc 0
    line warn pin
    line ok login
    # Locked: --login does not try the PIN at all.
    run CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_TOKEN_FLAGS=0x40000 CSIGN_PIN=$USER_PIN \
        csign doctor --login --module "$CSIGN_SHIM" --key "$KEY"
    expect_rc 1
    line fail pin
    line fail login
    expect_out "the user PIN is locked; fix: unlock the user PIN with the SO PIN"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "C_Login with a locked PIN"
    expect_err "2 checks failed: pin, login"
    # A PIN pad is named.
    run CSIGN_SHIM_TOKEN_FLAGS=0x100 csign doctor --module "$CSIGN_SHIM" --key "$KEY"
    expect_out "protected authentication path (PIN pad)"
}

t_missing_module_stops_the_run() {
    run csign doctor --module /nonexistent/libnothing.so --key "$KEY"
    expect_rc 3
    line fail module
    expect_out "fix: name the vendor's PKCS#11 module with --module PATH"
    no_line ok token
    expect_one_error_line doctor
    command -v jq >/dev/null || fail "jq is missing"
    run csign doctor --module /nonexistent/libnothing.so --key "$KEY" --json
    expect_rc 3
    valid_doc
    jq -e '.ok == false and .checks[0].name == "module" and .checks[0].status == "fail"' \
        "$CASE/out" >/dev/null || fail "document"
}

t_no_token_stops_the_run() {
    new_token dev
    run csign doctor --key 'pkcs11:token=prod;object=release'
    expect_rc 3
    line ok module
    line fail token
    expect_out "fix: 'csign list' shows the tokens"
}

t_tsa_that_refuses_fails() {
    signing_key
    start_tsa
    # Port 1 on the loopback: nothing listens, the connection is refused.
    run csign doctor --key "$KEY" --trust root.pem --tsa http://127.0.0.1:1/ --tsa "$TSA_URL" \
        --tsa-retries 0
    expect_rc 1
    expect_out "fail tsa: no timestamp: http://127.0.0.1:1/: "
    expect_out "fix: check the URL and the network"
    expect_out "ok   tsa: $TSA_URL gave a timestamp"
    expect_err "1 check failed: tsa"
}

# --policy cabf: the rules sign would refuse before the PIN are a failed
# check that names them; without a policy there is no policy line.
t_policy_names_the_rules_not_met() {
    ca_cert "$CODE_SIGNING" 90
    start_tsa
    run csign doctor --key "$KEY" --tsa "$TSA_URL" --policy cabf
    expect_rc 1
    line fail policy
    expect_out "[hardware] token 'dev' is a software token"
    expect_err "1 check failed: policy"
    run csign doctor --key "$KEY" --tsa "$TSA_URL"
    expect_rc 0
    no_line '[a-z]+' policy
}

# The same set-up on a slot that reports hardware (the test shim over
# SoftHSM) meets every rule.
t_policy_met_on_a_hardware_slot() {
    ca_cert "$CODE_SIGNING" 90
    start_tsa
    run CSIGN_SHIM_SLOT_FLAGS=0x4 csign doctor --module "$CSIGN_SHIM" --key "$KEY" \
        --tsa "$TSA_URL" --policy cabf
    expect_rc 0
    expect_out "ok   policy: cabf: every rule met"
    # tsa-optional in a profile would let sign keep a signature without a
    # timestamp: the policy check says so, as sign would refuse.
    mkdir -p home/.config/csign
    printf '[profile hw]\npolicy = cabf\ntsa = %s\ntsa-optional = true\n' "$TSA_URL" \
        >home/.config/csign/config
    chmod 600 home/.config/csign/config
    run CSIGN_SHIM_SLOT_FLAGS=0x4 csign doctor --profile hw --module "$CSIGN_SHIM" --key "$KEY"
    expect_rc 1
    line fail policy
    expect_out "[timestamp] --tsa-optional"
}

# A token without a mechanism for the key's signature (the shim lists only
# CKM_RSA_PKCS for an EC key) fails as sign would, before any PIN.
t_token_without_the_signing_mechanism_fails() {
    signing_key
    run CSIGN_SHIM_MECHS=CKM_RSA_PKCS csign doctor --module "$CSIGN_SHIM" --key "$KEY" \
        --trust root.pem
    expect_rc 1
    line fail key-mechanism
    expect_out "ECDSA"
    expect_err "1 check failed: key-mechanism"
    run csign doctor --key "$KEY" --trust root.pem
    expect_rc 0
    expect_out "ok   key-mechanism: the token offers ECDSA signing with SHA256"
}

t_profile_needs_no_options() {
    signing_key
    start_tsa
    mkdir -p home/.config/csign
    cat >home/.config/csign/config <<EOF2
[profile release]
key = $KEY
pin-source = env:RELEASE_PIN
trust = $CASE/root.pem
tsa = $TSA_URL

[profile soon]
key = $KEY
warn-days = 400
EOF2
    chmod 600 home/.config/csign/config
    run RELEASE_PIN=$USER_PIN csign doctor --profile release --login
    expect_rc 0
    [ "$(grep -cvE '^ok ' "$CASE/out")" -eq 0 ] || fail "a line that is not ok"
    line ok tsa
    line ok chain
    # warn-days from a profile: the self-signed certificate has 365 days.
    run csign doctor --profile soon
    expect_rc 0
    line warn cert-expiry
    expect_out "(warning under 400)"
    # Without the profile there is no key.
    run csign doctor
    expect_rc 1
    line fail key
}

# doctor --help's examples run as written (with a profile named release).
t_help_examples_run() {
    local line ran=0
    signing_key
    mkdir -p home/.config/csign
    printf '[profile release]\nkey = %s\ntrust = %s/root.pem\n' "$KEY" "$CASE" \
        >home/.config/csign/config
    chmod 600 home/.config/csign/config
    cp root.pem dev.pem
    export CSIGN_PIN=$USER_PIN
    csign() { "$CSIGN_BIN" "$@"; }
    while IFS= read -r line; do
        eval "$line" >"$CASE/out" 2>"$CASE/err" || fail "example failed: $line"
        ran=$((ran + 1))
    done < <("$CSIGN_BIN" doctor --help | awk '/^Examples:/ {on = 1; next} on' |
        sed -e ':a' -e '/\\$/N; s/ *\\\n */ /; ta' -e 's/^  //')
    [ "$ran" -ge 2 ] || fail "only $ran examples ran"
}

run_tests
