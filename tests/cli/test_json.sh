#!/usr/bin/env bash
# --json: one document per run in every command, checked against the
# documented schema (docs/json/csign.schema.json, docs/json.md).
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=release'
SCHEMA=$CSIGN_TESTS/../docs/json/csign.schema.json

# valid_doc COMMAND: $CASE/out is one JSON document of COMMAND that the
# schema accepts, with the exit code $RC.
valid_doc() {
    /usr/bin/python3 - "$SCHEMA" "$CASE/out" "$1" "$RC" <<'PY' || fail "schema: $(cat "$CASE/out")"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
assert doc["command"] == sys.argv[3], doc["command"]
assert doc["exit_code"] == int(sys.argv[4]), (doc["exit_code"], sys.argv[4])
PY
}

t_schema_refuses_a_wrong_document() {
    # The check itself can fail: a document without the envelope does not pass.
    echo '[{"path": "a", "verdict": "valid"}]' >"$CASE/out"
    RC=0
    ! (valid_doc verify) 2>/dev/null || fail "the schema accepted an array of records"
    echo '{"schema": 1, "command": "verify", "status": "ok", "exit_code": 1, "error": null,
        "files": []}' >"$CASE/out"
    RC=1
    ! (valid_doc verify) 2>/dev/null || fail "the schema accepted status ok with exit code 1"
}

t_sign_verify_digest_documents() {
    signing_key
    echo one >a.bin
    echo two >b.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --json a.bin b.bin missing.bin
    expect_rc 4
    valid_doc sign
    jq -e '.status == "error" and (.error | contains("1 of 3")) and
        [.files[].status] == ["ok", "ok", "error"]' "$CASE/out" >/dev/null || fail "sign"
    run csign verify --trust root.pem --json a.bin b.bin
    expect_rc 0
    valid_doc verify
    jq -e '.status == "ok" and .error == null and [.files[].status] == ["ok", "ok"]' \
        "$CASE/out" >/dev/null || fail "verify"
    echo changed >>b.bin
    run csign verify --trust root.pem --json a.bin b.bin
    expect_rc 1
    valid_doc verify
    jq -e '.status == "invalid" and .files[1].status == "invalid"' "$CASE/out" >/dev/null ||
        fail "verify invalid"
    run csign digest --json a.bin
    expect_rc 0
    valid_doc digest
    # Digests computed elsewhere: one record per line of the list.
    run csign digest b.bin a.bin
    cp "$CASE/out" digests.txt
    mkdir sigs
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --json --digest-list digests.txt --out-dir sigs
    expect_rc 0
    valid_doc sign
    jq -e --arg d "$(sha256sum b.bin | cut -d' ' -f1)" '[.files[].path] == ["b.bin", "a.bin"] and
        .files[0].signature == "sigs/b.bin.p7s" and .files[0].digest == $d' "$CASE/out" \
        >/dev/null || fail "sign --digest-list: $(cat "$CASE/out")"
}

t_manifest_documents() {
    signing_key
    mkdir rel
    echo one >rel/a
    echo two >rel/b
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --json --manifest rel/SHA256SUMS rel/a rel/b
    expect_rc 0
    valid_doc sign
    jq -e '.manifest.path == "rel/SHA256SUMS" and (.files | length) == 2' "$CASE/out" \
        >/dev/null || fail "sign manifest"
    run csign verify --trust root.pem --json --manifest rel/SHA256SUMS
    expect_rc 0
    valid_doc verify
    jq -e '.manifest.signer_subject == "CN=Release Signing" and [.files[].status] == ["ok", "ok"]' \
        "$CASE/out" >/dev/null || fail "verify manifest"
}

t_failure_before_any_file_is_a_document() {
    echo a >a.bin
    run csign verify --json --trust missing.pem a.bin
    expect_rc 4
    valid_doc verify
    jq -e '.status == "error" and .files == [] and (.error | contains("missing.pem"))' \
        "$CASE/out" >/dev/null || fail "verify early failure"
    expect_err "csign: verify:"
    run CSIGN_PIN=$USER_PIN csign sign --json --key 'pkcs11:token=absent;object=x' a.bin
    expect_rc 3
    valid_doc sign
    run csign digest --json --digest md5 a.bin
    expect_rc 2
    valid_doc digest
    run csign list --json --module /nonexistent/module.so
    [ "$RC" -ne 0 ] || fail "list of a missing module succeeded"
    valid_doc list
    # --help prints help, not a document.
    run csign verify --json --help
    expect_rc 0
    ! jq -e . "$CASE/out" >/dev/null 2>&1 || fail "--help printed JSON"
}

t_list_and_config_documents() {
    new_token dev
    run csign list --json
    expect_rc 0
    valid_doc list
    jq -e '.tokens[0].label == "dev"' "$CASE/out" >/dev/null || fail "list"
    printf '[default]\ndigest = sha384\n' >cfg
    chmod 600 cfg
    run csign config --json --config cfg
    expect_rc 0
    valid_doc config
    jq -e '[.settings[] | select(.key == "digest") | .value] == ["sha384"]' "$CASE/out" \
        >/dev/null || fail "config"
}

t_timestamp_document() {
    [ -n "${CSIGN_TSA_TOOL:-}" ] || fail "CSIGN_TSA_TOOL is not set"
    signing_key
    echo one >a.bin
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" a.bin
    expect_rc 0
    start_tsa
    run csign timestamp --json --tsa "$TSA_URL" a.bin.p7s missing.p7s
    expect_rc 4
    valid_doc timestamp
    jq -e --arg u "$TSA_URL" '.files[0].timestamp_authority == $u and
        .files[0].already_timestamped == false and .files[1].status == "error"' "$CASE/out" \
        >/dev/null || fail "timestamp"
    expect_no_out "timestamped a.bin.p7s"
    run csign timestamp --json --tsa "$TSA_URL" a.bin.p7s
    expect_rc 0
    valid_doc timestamp
    jq -e '.files[0].already_timestamped and (.files[0].timestamp_time | test("^20"))' \
        "$CASE/out" >/dev/null || fail "timestamp kept"
}

run_tests
