#!/usr/bin/env bash
# Runs the main cases of the command-line tests (tests/cli) with every csign
# run under valgrind's memcheck, and fails when valgrind reports an error in
# any of them: invalid reads or writes, use of uninitialised values, bad
# frees, or a leak of memory that nothing points to any more.
#
# Usage: scripts/valgrind.sh BUILD_DIR [test_NAME.sh...]
#   BUILD_DIR  a configured and built tree without sanitizers (valgrind and
#              AddressSanitizer do not mix), e.g. build
#   test_*.sh  only these scripts: the chosen cases of those in the set
#              below, every case of the others (default: the whole set)
#
# The tests see csign through a wrapper that runs the real binary under
# valgrind with a log file per run; csign's exit codes pass through
# unchanged unless valgrind found an error (then the run exits with 97, and
# the test fails too). After the tests, the logs are searched for errors.
# Suppressions for code csign loads but does not build: tests/valgrind.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build=${1:?usage: scripts/valgrind.sh BUILD_DIR [test_NAME.sh...]}
shift
build=$(realpath -e -- "$build")

# The set: for each script, the cases run under valgrind. A csign run
# costs about 2 s of CPU under valgrind, so these are the main flows and
# their failure paths (where leaks tend to hide), chosen for the whole run
# to stay within about 6 minutes on 2 cores. Left out everywhere:
# - cases that depend on timing (time-outs, stalls, signals sent at a
#   chosen moment, races between processes), that measure memory or
#   speed, or that hash gigabytes;
# - RSA keys made by csign keygen: SoftHSM takes 10 to 90 s for one under
#   valgrind. csign makes an EC key in almost every case (signing_key in
#   tests/cli/lib.sh), and signs with an RSA key made by pkcs11-tool in
#   test_pkcs11_tool.sh's t_rsa_key_without_id_chain_from_token.
# - links in a manifest's folder: valgrind 3.19 does not know openat2, so
#   csign takes the path of kernels without it, which refuses them.
declare -A cases
# Left out: t_fail_fast_stops_at_a_write_failure (a race with another
# writer), t_file_changing_while_hashed (a writer racing 2 GiB),
# t_sigterm_leaves_nothing (a signal mid-run),
# t_huge_sparse_file_constant_memory (4 GiB, peak memory),
# t_interop_each_key_type (RSA keys); for time: the 200- and 300-file
# batches and the checks done before login.
cases[test_sign.sh]="
    t_pem_output t_chain_from_token_included
    t_cert_and_chain_files t_jobs_give_identical_digests
    t_one_failure_does_not_stop_the_others t_stdin_and_pipe t_usage_errors
    t_digest_override t_faulty_token_leaves_no_file t_key_without_certificate
    t_json_records"
# Left out: t_huge_sparse_file_and_pipe (4 GiB, peak memory),
# t_accepts_csign_signatures (RSA keys).
cases[test_verify.sh]="
    t_accepts_openssl_signature t_content_changes t_wrong_anchor t_leaf_usage
    t_expired t_weak_digest t_pss_with_sha1_mgf_refused
    t_pem_with_hidden_trailing_data t_ber_indefinite_length_refused
    t_ca_excluding_code_signing t_trailing_bytes t_malformed
    t_attached_signature_over_other_content t_two_signers
    t_no_signed_attributes t_expect_signer_and_subject t_min_rsa_bits
    t_untrusted_intermediate t_usage_and_io_errors t_json_and_stdin
    t_jobs_give_identical_verdicts t_file_names_escaped
    t_signature_path_too_long t_oversized_signature"
# Left out: t_keygen_each_type, t_keygen_rsa4096, t_rsa2048_warns (RSA
# keys).
cases[test_keygen.sh]="
    t_default_type_and_id_is_key_identifier t_explicit_id
    t_duplicate_label_or_id_refused t_label_from_another_tool_refused
    t_token_ignoring_template_is_caught t_failed_delete_is_reported
    t_failed_id_update_leaves_nothing t_generation_failure
    t_label_with_nul_refused t_bad_type_and_missing_label
    t_pubout_existing_refused_before_login t_software_token_noted
    t_token_leaving_decrypt_on_is_caught t_token_without_keypair_mechanism
    t_curve_refused_by_token"
# All of it.
cases[test_list.sh]="
    t_no_token_is_not_an_error t_empty_token t_populated_public_view
    t_login_shows_private_attributes t_key_uri_finds_the_key_with_pkcs11_tool
    t_json_parses_and_matches_schema
    t_json_without_login_has_nulls_for_private_attributes
    t_uri_matching_no_token_lists_candidates t_two_tokens_same_label
    t_pin_value_in_uri_refused t_unknown_uri_attribute_refused t_not_a_uri
    t_two_uris_refused t_label_with_control_characters_is_escaped
    t_invalid_utf8_label_kept_in_json
    t_certificate_linked_when_filtered_by_type
    t_uninitialised_store_token_not_listed"
# Left out: t_links_and_special_files (openat2); for time: variants of the
# cases below (sorting, SHA-512, an edited list) and usage errors.
cases[test_manifest.sh]="
    t_manifest_matches_sha256sum t_changed_missing_extra
    t_signature_and_trust_checked t_jobs_identical_results
    t_foreign_list_accepted t_malformed_lists_refused t_failed_file_writes_nothing"
# PIN sources and the secret's handling; left out: t_interrupted_prompt_
# restores_echo (a signal at the prompt) and t_env_pin_removed_* (they read
# /proc of a csign caught running); the rest for time.
cases[test_login.sh]="
    t_env_pin_logs_in_once t_wrong_pin_exit_3_one_attempt
    t_pin_file_trailing_newline_stripped t_pin_from_descriptor
    t_prompt_on_terminal_without_echo t_overlong_pin_refused
    t_pin_with_nul_refused_before_login"
# Certificate requests, self-signed certificates, imports; the rest for
# time.
cases[test_certs.sh]="
    t_csr_der_to_file_and_openssl_form t_selfsign_import_then_list
    t_import_ca_issued_with_chain t_failed_import_leaves_nothing"
# Keys that pkcs11-tool made; the rest for time.
cases[test_pkcs11_tool.sh]="
    t_rsa_key_without_id_chain_from_token
    t_key_without_id_selfsign_import_then_sign"
# A time-stamping authority on the loopback, honest and hostile, and CRLs;
# left out: the cases with time-outs, failover and signals; the rest for
# time.
cases[test_timestamp.sh]="
    t_sign_with_timestamp_checked_by_openssl t_timestamp_command
    t_hostile_tokens t_revocation_and_timestamps"
# Signatures edited element by element; the rest for time.
cases[test_strict.sh]="
    t_signature_algorithm_must_fit_the_key t_signed_attributes_once"
# A new token and its two PINs; the rest for time.
cases[test_init_token.sh]="
    t_fresh_home_init_then_list t_prompted_pins_confirmed"
# Keys that need a login per signature, raw EC points; left out: RSA keys.
cases[test_mechanisms.sh]="
    t_always_auth_context_login_per_signature t_raw_ec_point_p521"
# One --json document per command, also for runs that fail early.
cases[test_json.sh]="
    t_sign_verify_digest_documents t_failure_before_any_file_is_a_document
    t_list_and_config_documents"
# Configuration files: read, applied and shown; refused files.
cases[test_config.sh]="
    t_sign_and_verify_with_settings_from_the_user_file t_unknown_key_names_file_and_line
    t_config_text_and_json"
# Not in the set at all:
#   test_timeout.sh, test_concurrency.sh, test_bench.sh: time-outs,
#     signals, races and speed are what they test
#   test_tpm.sh: a TPM simulator with time-outs of its own
#   test_guide.sh, test_quickstart.sh: the documents' walk-throughs of the
#     commands above
#   test_basics.sh, test_sign_batch.sh, test_digest.sh, test_module.sh,
#     test_files.sh: for time (name them on the command line to run
#     them whole: scripts/valgrind.sh BUILD_DIR test_strict.sh)

if [ $# -gt 0 ]; then
    scripts=("$@")
else
    # The longest first, so that the two cores finish together.
    scripts=(test_manifest.sh test_sign.sh test_verify.sh test_timestamp.sh test_keygen.sh
        test_list.sh test_certs.sh test_strict.sh test_login.sh test_mechanisms.sh
        test_pkcs11_tool.sh test_init_token.sh test_json.sh test_config.sh)
    for s in "${scripts[@]}"; do
        [ -n "${cases[$s]+set}" ] || { echo "valgrind.sh: $s is not in the set" >&2; exit 2; }
    done
    [ "${#scripts[@]}" -eq "${#cases[@]}" ] || {
        echo "valgrind.sh: the order names ${#scripts[@]} scripts, the set ${#cases[@]}" >&2
        exit 2
    }
fi
command -v valgrind >/dev/null || {
    echo "valgrind.sh: valgrind is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
}

# The environment ctest gives the command-line tests (TEST_ENV in
# tests/CMakeLists.txt), as this build recorded it; the sanitizers' options
# are not needed.
ctestfile=$build/tests/CTestTestfile.cmake
envline=$(grep -m1 '^set_tests_properties(\[=\[cli_test_' "$ctestfile" 2>/dev/null |
    sed -n 's/.* ENVIRONMENT "\([^"]*\)".*/\1/p') || true
if [ -z "$envline" ]; then
    echo "valgrind.sh: no command-line tests in $ctestfile (configure and build $build first)" >&2
    exit 1
fi
IFS=';' read -r -a envs <<<"$envline"
for e in "${envs[@]}"; do
    case $e in CSIGN_*=*) export "${e?}" ;; esac
done
real=${CSIGN_BIN:?}
[ -x "$real" ] || { echo "valgrind.sh: $real is not built" >&2; exit 1; }
if ldd "$real" | grep -q -e libasan -e libubsan; then
    echo "valgrind.sh: $real is built with sanitizers; give a build without them" >&2
    exit 1
fi

out=$build/valgrind
rm -rf "$out"
mkdir -p "$out/logs"

# The wrapper the tests run as csign.
cat >"$out/csign" <<EOF
#!/bin/sh
log=\$(mktemp "$out/logs/csign.XXXXXX") || exit 98
exec valgrind --tool=memcheck --error-exitcode=97 --leak-check=full \\
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=40 \\
    --suppressions="$root/tests/valgrind.supp" --gen-suppressions=all \\
    --log-file="\$log" "$real" "\$@"
EOF
chmod +x "$out/csign"
export CSIGN_BIN=$out/csign

# One script per core: more would only make each slower.
jobs=$(nproc 2>/dev/null || echo 2)
echo "== valgrind $(valgrind --version) on ${#scripts[@]} test scripts, up to $jobs at a time"
start=$SECONDS
run_one() {
    local s=$1 names t only=""
    [ -f "$CSIGN_TESTS/cli/$s" ] || { echo "valgrind.sh: no tests/cli/$s" >&2; return 1; }
    names=$(grep -o '^t_[A-Za-z0-9_]*' "$CSIGN_TESTS/cli/$s")
    # A script named on the command line but not in the set runs whole.
    if [ -n "${cases[$s]+set}" ]; then
        for t in ${cases[$s]}; do
            grep -qx -- "$t" <<<"$names" || {
                echo "valgrind.sh: $s has no case $t" >&2
                return 1
            }
        done
        only="^($(tr -s ' \n' '|' <<<"${cases[$s]}" | sed 's/^|//; s/|$//'))\$"
    fi
    CSIGN_ONLY=$only timeout 1800 bash "$CSIGN_TESTS/cli/$s"
}
failed=()
for s in "${scripts[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    (
        t0=$SECONDS
        if run_one "$s" >"$out/$s.log" 2>&1; then rc=0; else rc=$?; fi
        echo "$rc" >"$out/$s.rc"
        printf '%-22s %s (%ds)\n' "$s" "$(tail -1 "$out/$s.log")" $((SECONDS - t0))
    ) &
done
wait
for s in "${scripts[@]}"; do
    if [ "$(cat "$out/$s.rc" 2>/dev/null || echo 1)" -ne 0 ]; then
        failed+=("$s")
        echo "--- $s failed:"
        grep -v '^ok ' "$out/$s.log" | sed 's/^/    /'
    fi
done

runs=$(find "$out/logs" -type f | wc -l)
mapfile -t bad < <(grep -lE 'ERROR SUMMARY: [1-9]' "$out/logs"/* 2>/dev/null || true)
mapfile -t odd < <(grep -L 'ERROR SUMMARY:' "$out/logs"/* 2>/dev/null || true)
# The first few logs with errors, without valgrind's banner and notes
# (such as its one on mlock2, docs/checks.md); the rest by name.
for log in "${bad[@]:0:5}"; do
    echo "--- valgrind errors in $log:"
    sed -e '/^--[0-9]*-- /d' -e 's/^==[0-9]*== //' \
        -e '/^Memcheck, a memory error detector/,/^Parent PID/{/^Command:/!d}' "$log" | head -150
done
if [ "${#bad[@]}" -gt 5 ]; then
    echo "--- $((${#bad[@]} - 5)) more logs with errors: ${bad[*]:5}"
fi
echo "valgrind.sh: $runs csign runs in $((SECONDS - start))s, ${#bad[@]} with errors," \
    "${#failed[@]} test scripts failed"
# A run without a summary ended in a way valgrind could not report on
# (a signal that kills, such as SIGKILL); none of the cases above does that.
if [ "${#odd[@]}" -gt 0 ]; then
    echo "valgrind.sh: ${#odd[@]} runs ended without valgrind's summary: ${odd[*]}" >&2
    exit 1
fi
[ "$runs" -gt 0 ] || { echo "valgrind.sh: csign never ran" >&2; exit 1; }
[ "${#bad[@]}" -eq 0 ] && [ "${#failed[@]}" -eq 0 ]
