#!/usr/bin/env bash
# csign sign --audit-log: one JSON line per signature written, checked
# with jq, sha256sum and `openssl x509 -fingerprint` as independent tools.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'
# The local TSA must be reached directly, whatever proxy the machine uses.
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
# The CI of the machine running these tests must not show in the logs.
unset GITHUB_ACTIONS GITHUB_REPOSITORY GITHUB_RUN_ID GITHUB_RUN_ATTEMPT GITHUB_SHA GITHUB_REF \
    GITHUB_WORKFLOW GITHUB_ACTOR GITLAB_CI CI_PROJECT_PATH CI_PIPELINE_ID CI_JOB_ID \
    CI_COMMIT_SHA CI_COMMIT_REF_NAME JENKINS_URL JOB_NAME BUILD_NUMBER BUILD_URL GIT_COMMIT
command -v jq >/dev/null || { echo "FAIL: jq is missing (scripts/install-deps.sh)"; exit 1; }

LOG=audit.log

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# The certificate's SHA-256 as openssl prints it, lowercase without colons.
cert_sha256() {
    openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
        tr 'A-F' 'a-f'
}

# q FILTER [LINE]: jq's raw answer for line LINE (default 1) of the log.
q() {
    sed -n "${2:-1}p" "$CASE/$LOG" | jq -r "$1"
}

# every_line_json: each line of the log is one JSON object on its own.
every_line_json() {
    local n=0
    while IFS= read -r line; do
        n=$((n + 1))
        [ "$(jq -c 'type' <<<"$line" 2>/dev/null)" = '"object"' ] ||
            fail "line $n of the log is not a JSON object: $line"
    done <"$CASE/$LOG"
}

# check_record N FILE SIG: line N records FILE signed into SIG by the
# test's key and certificate, as the independent tools compute them.
check_record() {
    local n=$1 file=$2 sig=$3
    [ "$(q .kind "$n")" = file ] || fail "kind: $(q .kind "$n")"
    [ "$(q .file.path "$n")" = "$(realpath "$file")" ] || fail "path: $(q .file.path "$n")"
    [ "$(q .file.size "$n")" = "$(stat -c %s "$file")" ] || fail "size: $(q .file.size "$n")"
    [ "$(q .file.digest.algorithm "$n")" = sha256 ] || fail "algorithm"
    [ "$(q .file.digest.hex "$n")" = "$(sha256 "$file")" ] || fail "digest of $file"
    [ "$(q .signature.path "$n")" = "$(realpath "$sig")" ] || fail "signature path"
    [ "$(q .signature.sha256 "$n")" = "$(sha256 "$sig")" ] || fail "signature SHA-256 of $sig"
    [ "$(q .key "$n")" = "$KEY" ] || fail "key: $(q .key "$n")"
    [ "$(q .certificate.sha256 "$n")" = "$(cert_sha256 "$CASE/root.pem")" ] ||
        fail "certificate SHA-256: $(q .certificate.sha256 "$n")"
    [ "$(q .certificate.subject "$n")" = "CN=Release Signing" ] || fail "subject"
}

# A run cut short after some signatures are in place (the token stops
# answering on the third file; --fail-fast puts each file in place on its
# own) leaves no signature without its line: the lines of a batch are in
# the log before the next batch is signed.
t_run_cut_short_keeps_the_lines_of_what_was_written() {
    signing_key
    echo one >f1
    echo two >f2
    echo three >f3
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_GATE="C_Sign@3:$CASE/never" csign sign \
        --module "$CSIGN_SHIM" --key "$KEY" --fail-fast --token-timeout 5 --audit-log "$LOG" \
        f1 f2 f3
    expect_rc 3
    [ -f f1.p7s ] && [ -f f2.p7s ] && [ ! -e f3.p7s ] || fail "not f1 and f2 only: $(ls)"
    [ "$(wc -l <"$CASE/$LOG")" -eq 2 ] || fail "lines: $(cat "$CASE/$LOG")"
    check_record 1 f1 f1.p7s
    check_record 2 f2 f2.p7s
}

t_one_file_one_line() {
    signing_key
    echo hello >a.txt
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --audit-log "$LOG" a.txt
    expect_rc 0
    [ "$(wc -l <"$LOG")" -eq 1 ] || fail "$(wc -l <"$LOG") lines"
    every_line_json
    check_record 1 a.txt a.txt.p7s
    q .time | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' ||
        fail "time: $(q .time)"
    [ "$(q .user)" = "$(id -un)" ] || fail "user: $(q .user)"
    [ "$(q .uid)" = "$(id -u)" ] || fail "uid: $(q .uid)"
    [ "$(q .host)" = "$(hostname)" ] || fail "host: $(q .host)"
    [ "$(q .ci)" = null ] || fail "ci outside CI: $(q .ci)"
    [ "$(q .timestamp)" = null ] || fail "timestamp: $(q .timestamp)"
    # Compact: one line, no spaces after the separators.
    ! grep -q '": ' "$LOG" || fail "the line is not compact"
    [ "$(stat -c %a "$LOG")" = "$(printf '%o' $((0640 & ~$(umask))))" ] ||
        fail "mode $(stat -c %a "$LOG")"
}

t_many_files_one_line_each_appended() {
    signing_key
    mkdir in sigs
    for i in 1 2 3 4 5; do head -c $((i * 1000)) /dev/urandom >"in/f$i"; done
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --audit-log "$LOG" --out-dir sigs in/f*
    expect_rc 0
    [ "$(wc -l <"$LOG")" -eq 5 ] || fail "$(wc -l <"$LOG") lines"
    for i in 1 2 3 4 5; do check_record "$i" "in/f$i" "sigs/f$i.p7s"; done
    # A second run appends; the first lines stay.
    echo more >in/g
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --audit-log "$LOG" in/g
    expect_rc 0
    [ "$(wc -l <"$LOG")" -eq 6 ] || fail "$(wc -l <"$LOG") lines after the second run"
    check_record 1 in/f1 sigs/f1.p7s
    check_record 6 in/g in/g.p7s
    every_line_json
}

# The key's pin-source goes neither into the log, nor the PIN anywhere.
t_no_pin_in_the_log() {
    local pin='Pq-zZ-secret-Wy'
    new_token dev "$pin"
    run CSIGN_PIN=$pin csign keygen --key "$KEY" --type ec:p256
    expect_rc 0
    run CSIGN_PIN=$pin csign selfsign --key "$KEY" --subject 'CN=Release Signing' --import \
        -o "$CASE/root.pem"
    expect_rc 0
    printf '%s\n' "$pin" >pin
    chmod 600 pin
    echo data >a.txt
    run csign sign --key "$KEY?pin-source=file:$CASE/pin" --audit-log "$LOG" a.txt
    expect_rc 0
    check_record 1 a.txt a.txt.p7s
    ! grep -qF "$pin" "$LOG" || fail "the PIN is in the log"
    ! grep -qi "pin-source\|pin-value" "$LOG" || fail "a PIN attribute is in the log"
    echo data2 >b.txt
    run CSIGN_PIN=$pin csign sign --key "$KEY" --audit-log "$LOG" b.txt
    expect_rc 0
    ! grep -qF "$pin" "$LOG" || fail "the PIN from the environment is in the log"
    [ "$(wc -l <"$LOG")" -eq 2 ] || fail "$(wc -l <"$LOG") lines"
}

t_github_actions_identifiers() {
    signing_key
    echo a >a.txt
    run CSIGN_PIN=$USER_PIN GITHUB_REPOSITORY=acme/tool GITHUB_RUN_ID=42 GITHUB_RUN_ATTEMPT=2 \
        GITHUB_SHA=0123abcd GITHUB_REF=refs/tags/v1.0 GITHUB_WORKFLOW=release \
        GITHUB_ACTOR=alice csign sign --key "$KEY" --audit-log "$LOG" a.txt
    expect_rc 0
    [ "$(head -1 "$LOG" | jq -c .ci)" = '{"system":"github-actions","GITHUB_REPOSITORY":"acme/tool","GITHUB_RUN_ID":"42","GITHUB_RUN_ATTEMPT":"2","GITHUB_SHA":"0123abcd","GITHUB_REF":"refs/tags/v1.0","GITHUB_WORKFLOW":"release","GITHUB_ACTOR":"alice"}' ] ||
        fail "ci: $(head -1 "$LOG" | jq -c .ci)"
}

t_gitlab_ci_identifiers() {
    signing_key
    echo a >a.txt
    run CSIGN_PIN=$USER_PIN CI_PROJECT_PATH=acme/tool CI_PIPELINE_ID=7 CI_JOB_ID=99 \
        CI_COMMIT_SHA=feed CI_COMMIT_REF_NAME=main csign sign --key "$KEY" --audit-log "$LOG" a.txt
    expect_rc 0
    [ "$(head -1 "$LOG" | jq -c .ci)" = '{"system":"gitlab-ci","CI_PROJECT_PATH":"acme/tool","CI_PIPELINE_ID":"7","CI_JOB_ID":"99","CI_COMMIT_SHA":"feed","CI_COMMIT_REF_NAME":"main"}' ] ||
        fail "ci: $(head -1 "$LOG" | jq -c .ci)"
}

t_jenkins_identifiers() {
    signing_key
    echo a >a.txt
    run CSIGN_PIN=$USER_PIN JOB_NAME=tool/release BUILD_NUMBER=12 \
        BUILD_URL=https://ci.example/job/12/ GIT_COMMIT=beef csign sign --key "$KEY" \
        --audit-log "$LOG" a.txt
    expect_rc 0
    [ "$(head -1 "$LOG" | jq -c .ci)" = '{"system":"jenkins","JOB_NAME":"tool/release","BUILD_NUMBER":"12","BUILD_URL":"https://ci.example/job/12/","GIT_COMMIT":"beef"}' ] ||
        fail "ci: $(head -1 "$LOG" | jq -c .ci)"
}

# A log that cannot be opened fails the run with exit 4 before the module
# is loaded (so before any PIN is asked for) and nothing is signed.
expect_log_refused() {
    local log=$1
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" --audit-log "$log" a.txt
    expect_rc 4
    expect_one_error_line sign
    expect_err "audit log '$log'"
    expect_err "--audit-log needs a writable regular file"
    [ ! -e a.txt.p7s ] || fail "a signature was written"
    [ "$(count_calls C_Initialize)" -eq 0 ] || fail "the module was loaded"
    [ "$(count_calls 'C_Login user')" -eq 0 ] || fail "the PIN was used"
}

t_log_in_missing_folder_fails_before_the_pin() {
    signing_key
    echo a >a.txt
    expect_log_refused "$CASE/no/such/folder/audit.log"
    expect_err "No such file or directory"
    # The same run with a good log signs (the refusal above was the log's).
    run CSIGN_PIN=$USER_PIN CSIGN_SHIM_LOG="$CASE/shim.log" csign sign --key "$KEY" \
        --module "$CSIGN_SHIM" --audit-log "$LOG" a.txt
    expect_rc 0
    [ "$(count_calls C_Initialize)" -eq 1 ] || fail "the module was not loaded"
}

t_log_in_read_only_folder_fails_before_the_pin() {
    signing_key
    echo a >a.txt
    mkdir ro
    chmod 555 ro
    if touch ro/probe 2>/dev/null; then
        # root writes anyway: /proc is a folder no one may create files in.
        rm -f ro/probe
        expect_log_refused /proc/self/audit.log
    else
        expect_log_refused "$CASE/ro/audit.log"
        expect_err "Permission denied"
    fi
}

t_log_that_is_not_a_file_is_refused() {
    signing_key
    echo a >a.txt
    mkdir folder
    expect_log_refused "$CASE/folder"
    # A FIFO without a reader is refused at once, not waited on.
    mkfifo fifo
    expect_log_refused "$CASE/fifo"
    expect_err "not a regular file"
}

# 8 processes, each signing 6 files at once, into one log: every line
# whole, none lost. Each loads its own copy of the module: csign takes
# turns on one module file until the login is done, and copies do not
# share that turn, so the processes sign and append at the same time.
# Each has its own copy of the token too: SoftHSM rewrites a token's files
# at every login, and the log, not the token, is what they share here.
t_eight_processes_one_log() {
    signing_key
    local p i pids=()
    for p in $(seq 8); do
        mkdir "p$p"
        for i in $(seq 6); do echo "process $p file $i" >"p$p/f$i"; done
        cp "$SOFTHSM_MODULE" "p$p/module.so"
        cp -a "$CASE/tokens" "p$p/tokens"
        printf 'directories.tokendir = %s/p%s/tokens\nobjectstore.backend = file\n' \
            "$CASE" "$p" >"p$p/softhsm2.conf"
    done
    for p in $(seq 8); do
        env CSIGN_PIN=$USER_PIN SOFTHSM2_CONF="$CASE/p$p/softhsm2.conf" "$CSIGN_BIN" sign \
            --module "$CASE/p$p/module.so" --key "$KEY" \
            --audit-log "$CASE/$LOG" "p$p"/f* >"$CASE/p$p.out" 2>"$CASE/p$p.err" </dev/null &
        pids+=($!)
    done
    for p in $(seq 8); do
        wait "${pids[$((p - 1))]}" || fail "process $p failed: $(cat "$CASE/p$p.err")"
    done
    every_line_json
    [ "$(wc -l <"$LOG")" -eq 48 ] || fail "$(wc -l <"$LOG") lines, expected 48"
    # Each file once, with its own digest and signature.
    [ "$(jq -r .file.path "$LOG" | sort -u | wc -l)" -eq 48 ] || fail "a file is missing"
    for p in $(seq 8); do
        for i in $(seq 6); do
            local n
            n=$(jq -r .file.path "$LOG" | grep -nxF "$(realpath "p$p/f$i")" | cut -d: -f1)
            [ -n "$n" ] || fail "p$p/f$i is not in the log"
            check_record "$n" "p$p/f$i" "p$p/f$i.p7s"
        done
    done
}

t_profile_setting() {
    signing_key
    echo a >a.txt
    printf '[profile release]\naudit-log = %s/from-profile.log\n' "$CASE" >conf
    chmod 600 conf
    run CSIGN_PIN=$USER_PIN csign sign --config conf --profile release --key "$KEY" a.txt
    expect_rc 0
    [ "$(wc -l <from-profile.log)" -eq 1 ] || fail "no line from the profile's log"
    LOG=from-profile.log check_record 1 a.txt a.txt.p7s
    # The option beats the profile.
    echo b >b.txt
    run CSIGN_PIN=$USER_PIN csign sign --config conf --profile release --key "$KEY" \
        --audit-log "$LOG" b.txt
    expect_rc 0
    [ "$(wc -l <from-profile.log)" -eq 1 ] || fail "the profile's log grew"
    check_record 1 b.txt b.txt.p7s
    # csign config shows the setting.
    run csign config --config conf --profile release sign
    expect_rc 0
    expect_out "audit-log"
}

t_timestamp_time_and_tsa() {
    signing_key
    start_tsa
    echo a >a.txt
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --tsa "$TSA_URL" --audit-log "$LOG" a.txt
    expect_rc 0
    check_record 1 a.txt a.txt.p7s
    [ "$(q .timestamp.tsa)" = "$TSA_URL" ] || fail "tsa: $(q .timestamp.tsa)"
    run csign verify --trust root.pem --tsa-trust tsaca.pem --json a.txt
    expect_rc 0
    local when
    when=$(jq -r '.files[0].timestamp.time' "$CASE/out")
    [ -n "$when" ] && [ "$when" != null ] || fail "verify shows no timestamp time"
    [ "$(q .timestamp.time)" = "$when" ] || fail "time: $(q .timestamp.time), verify: $when"
}

t_manifest_one_line() {
    signing_key
    echo a >a.txt
    echo b >b.txt
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SHA256SUMS --audit-log "$LOG" \
        a.txt b.txt
    expect_rc 0
    [ "$(wc -l <"$LOG")" -eq 1 ] || fail "$(wc -l <"$LOG") lines"
    [ "$(q .kind)" = manifest ] || fail "kind"
    [ "$(q .file.path)" = "$(realpath SHA256SUMS)" ] || fail "path"
    [ "$(q .file.size)" = "$(stat -c %s SHA256SUMS)" ] || fail "size"
    [ "$(q .file.digest.hex)" = "$(sha256 SHA256SUMS)" ] || fail "digest"
    [ "$(q .signature.path)" = "$(realpath SHA256SUMS.p7s)" ] || fail "signature path"
    [ "$(q .signature.sha256)" = "$(sha256 SHA256SUMS.p7s)" ] || fail "signature SHA-256"
    [ "$(q .certificate.sha256)" = "$(cert_sha256 root.pem)" ] || fail "certificate"
}

t_digest_hex_and_digest_list() {
    signing_key
    echo a >a.txt
    local d
    d=$(sha256 a.txt)
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest-hex "sha256:$d" -o a.p7s \
        --audit-log "$LOG"
    expect_rc 0
    [ "$(q .kind)" = digest ] || fail "kind"
    [ "$(q .file.path)" = null ] || fail "path of a bare digest"
    [ "$(q .file.digest.hex)" = "$d" ] || fail "digest"
    [ "$(q .signature.path)" = "$(realpath a.p7s)" ] || fail "signature path"
    [ "$(q .signature.sha256)" = "$(sha256 a.p7s)" ] || fail "signature SHA-256"
    mkdir sigs
    run csign digest a.txt
    expect_rc 0
    cp "$CASE/out" list
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --digest-list list --out-dir sigs \
        --audit-log "$LOG"
    expect_rc 0
    [ "$(wc -l <"$LOG")" -eq 2 ] || fail "$(wc -l <"$LOG") lines"
    [ "$(q .kind 2)" = digest-list ] || fail "kind"
    [ "$(q .file.path 2)" = a.txt ] || fail "listed name: $(q .file.path 2)"
    [ "$(q .file.digest.hex 2)" = "$d" ] || fail "listed digest"
    [ "$(q .signature.sha256 2)" = "$(sha256 sigs/a.txt.p7s)" ] || fail "signature SHA-256"
}

# The second line cannot be written: the first file is done, the second
# and third are reported failed, exit 4; the log holds one whole line.
t_write_failure_mid_run() {
    signing_key
    for i in 1 2 3; do echo "f$i" >"f$i"; done
    run_fsfault "write@2=ENOSPC:$LOG" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" \
        --audit-log "$LOG" f1 f2 f3
    expect_rc 4
    expect_out "signed f1 -> f1.p7s"
    expect_no_out "signed f2"
    expect_no_out "signed f3"
    expect_err "csign: sign: f2: signature written but not recorded: cannot write to audit log"
    expect_err "csign: sign: f3: signature written but not recorded"
    expect_err "No space left on device"
    [ "$(wc -l <"$LOG")" -eq 1 ] || fail "$(wc -l <"$LOG") lines"
    check_record 1 f1 f1.p7s
}

# A log that cannot be flushed fails every file it holds.
t_flush_failure_fails_the_run() {
    signing_key
    echo a >a.txt
    run_fsfault "fdatasync=EIO:$LOG" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --json \
        --audit-log "$LOG" a.txt
    expect_rc 4
    [ "$(jq -r '.files[0].status' "$CASE/out")" = error ] || fail "the file is not failed"
    jq -r '.files[0].reason' "$CASE/out" | grep -q "cannot flush audit log" ||
        fail "reason: $(jq -r '.files[0].reason' "$CASE/out")"
}

# The folder of a log csign creates is flushed (the first fsync of the
# run); when it cannot be, nothing is signed.
t_new_log_folder_flushed() {
    signing_key
    echo a >a.txt
    run_fsfault "fsync@1=EIO" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --audit-log "$LOG" \
        a.txt
    expect_rc 4
    expect_one_error_line sign
    expect_err "cannot flush folder '.' of new audit log 'audit.log': Input/output error"
    [ ! -e a.txt.p7s ] || fail "a signature was written"
    # Without the fault the same run signs (the refusal was the flush's).
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --audit-log "$LOG" a.txt
    expect_rc 0
    [ "$(wc -l <"$LOG")" -eq 1 ] || fail "$(wc -l <"$LOG") lines"
}

t_manifest_write_failure() {
    signing_key
    echo a >a.txt
    run_fsfault "write=ENOSPC:$LOG" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" \
        --manifest SHA256SUMS --audit-log "$LOG" a.txt
    expect_rc 4
    expect_one_error_line sign
    expect_err "SHA256SUMS and SHA256SUMS.p7s written but not recorded"
    expect_no_out "signed"
}

run_tests
