#!/usr/bin/env bash
# csign verify from the command line: the exit code of mixed results,
# repeated --expect-signer/--expect-subject and pasted fingerprints, -q,
# --manifest --ignore-missing, checksum lists as sha256sum -c reads them,
# and what a trust failure says. Software keys made with the openssl CLI
# stand in for signers.
. "$(dirname "$0")/lib.sh"

# pki: a root CA (CN=Dev Root) issuing two code-signing leaves, old and
# new (a key rotation), and an unrelated root (CN=Other Root).
pki() {
    local d=$CASE/pki
    mkdir -p "$d"
    for ca in root other; do
        local cn='Dev Root'
        [ $ca = other ] && cn='Other Root'
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/$ca.key" -subj "/CN=$cn" -days 30 \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
            -out "$d/$ca.pem" 2>/dev/null || fail "CA $ca"
    done
    printf '[l]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' \
        'extendedKeyUsage=codeSigning' >"$d/ext"
    for l in old new; do
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/$l.key" -subj "/CN=Release $l" -out "$d/$l.csr" 2>/dev/null
        openssl x509 -req -in "$d/$l.csr" -CA "$d/root.pem" -CAkey "$d/root.key" -days 10 \
            -extfile "$d/ext" -extensions l -out "$d/$l.pem" 2>/dev/null || fail "issue $l"
    done
}

# osign WHO FILE...: a detached DER signature FILE.p7s of each FILE by leaf WHO.
osign() {
    local who=$1 f
    shift
    for f in "$@"; do
        openssl cms -sign -binary -in "$f" -signer "$CASE/pki/$who.pem" \
            -inkey "$CASE/pki/$who.key" -outform DER -out "$f.p7s" 2>/dev/null ||
            fail "openssl cms -sign $f"
    done
}

# fp WHO: the SHA-256 fingerprint of leaf WHO as openssl prints it (AB:CD:...).
fp() {
    openssl x509 -in "$CASE/pki/$1.pem" -noout -fingerprint -sha256 | cut -d= -f2
}

vrun() { run csign verify --trust "$CASE/pki/root.pem" "$@"; }

# Three files a, b, c signed by the new leaf; a list of them (SHA256SUMS)
# signed the same way.
release() {
    pki
    mkdir -p "$CASE/rel"
    for f in a b c; do echo "file $f" >"$CASE/rel/$f"; done
    (cd "$CASE/rel" && sha256sum a b c >SHA256SUMS)
    osign new "$CASE/rel/a" "$CASE/rel/b" "$CASE/rel/c" "$CASE/rel/SHA256SUMS"
}

# One file tampered, one whose signature is missing: the verdict wins (1),
# in both modes. Without the tampered file the I/O error is the answer.
t_mixed_results_exit_one_in_both_modes() {
    release
    echo tampered >>"$CASE/rel/a"
    rm "$CASE/rel/b.p7s"
    vrun "$CASE/rel/a" "$CASE/rel/b" "$CASE/rel/c"
    expect_rc 1
    expect_out "FAIL $CASE/rel/a: content does not match"
    expect_err "1 of 3 signatures are not valid; 1 file could not be checked"
    vrun "$CASE/rel/b" "$CASE/rel/c"
    expect_rc 4
    # The same mix for a list: a changed file and a missing one.
    rm "$CASE/rel/b"
    vrun --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 1
    expect_out "CHANGED a"
    expect_out "MISSING b"
    # A certificate file that holds no certificate is malformed input.
    echo "not a certificate" >"$CASE/empty.pem"
    run csign verify --trust "$CASE/empty.pem" "$CASE/rel/c"
    expect_rc 5
    expect_one_error_line verify
    run csign verify --trust "$CASE/empty.pem" --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 5
    vrun --untrusted "$CASE/empty.pem" "$CASE/rel/c"
    expect_rc 5
    vrun --crl "$CASE/empty.pem" "$CASE/rel/c"
    expect_rc 5
    run csign verify --trust "$CASE/absent.pem" "$CASE/rel/c"
    expect_rc 4
}

# A key rotation: one call accepts the old and the new signer.
t_expect_signer_repeatable() {
    release
    local old new
    old=$(fp old) new=$(fp new)
    vrun --expect-signer "SHA256:${old//:/}" --expect-signer "SHA256:${new//:/}" "$CASE/rel/a"
    expect_rc 0
    expect_out "OK $CASE/rel/a"
    vrun --expect-signer "SHA256:${old//:/}" "$CASE/rel/a"
    expect_rc 1
    expect_out "signer is not the expected certificate (--expect-signer): its fingerprint"
    expect_out "is not the 1 given"
    vrun --expect-signer "$old" --expect-signer "$(fp old | tr -d :)" "$CASE/rel/a"
    expect_rc 1
    expect_out "SHA256:$(fp new | tr -d : | tr A-F a-f) is none of the 2 given"
    # Subjects likewise.
    vrun --expect-subject 'CN=Release old' --expect-subject 'CN=Release new' "$CASE/rel/a"
    expect_rc 0
    vrun --expect-subject 'CN=Release old' --expect-subject 'CN=Someone' "$CASE/rel/a"
    expect_rc 1
    expect_out "signer subject is not the expected one (--expect-subject): 'CN=Release new' is none of the 2 given"
    # The list's signer in --manifest mode too.
    vrun --expect-signer "$old" --expect-signer "$new" --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 0
}

# Fingerprints as people paste them: csign's SHA256:hex, bare hex as
# csign's JSON prints it, openssl's colon-separated pairs (with or without
# its label), any case. Anything else is a usage error naming the value.
t_expect_signer_paste_forms() {
    release
    local new hex json
    new=$(fp new)
    hex=$(tr -d : <<<"$new")
    vrun --json "$CASE/rel/a"
    json=$(jq -r '.[0].signer_sha256' "$CASE/out")
    for v in "SHA256:$hex" "sha256:${hex,,}" "$json" "${json^^}" "$new" "${new,,}" \
        "$(openssl x509 -in "$CASE/pki/new.pem" -noout -fingerprint -sha256)"; do
        vrun --expect-signer "$v" "$CASE/rel/a"
        [ "$RC" -eq 0 ] || fail "--expect-signer '$v' refused: exit $RC"
    done
    for v in "${hex:1}" "SHA256:${hex}00" "MD5:$hex" "${new:1}" "SHA256:${hex:0:63}g" "${new//:/-}"; do
        vrun --expect-signer "$v" "$CASE/rel/a"
        expect_rc 2
        expect_err "--expect-signer '$v' is not a SHA-256 fingerprint"
        expect_no_out "OK "
    done
}

# -q: no OK lines, per file and for a list; failures still printed; JSON
# unchanged.
t_quiet_prints_failures_only() {
    release
    vrun -q "$CASE/rel/a" "$CASE/rel/b"
    expect_rc 0
    [ ! -s "$CASE/out" ] || fail "-q printed: $(cat "$CASE/out")"
    vrun -q --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 0
    [ ! -s "$CASE/out" ] || fail "-q --manifest printed: $(cat "$CASE/out")"
    echo tampered >>"$CASE/rel/b"
    vrun -q "$CASE/rel/a" "$CASE/rel/b"
    expect_rc 1
    expect_out "FAIL $CASE/rel/b: content does not match"
    expect_no_out "OK "
    vrun -q --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 1
    expect_out "CHANGED b"
    expect_no_out "OK "
    # judged_at is "now": left out of the comparison.
    local j='walk(if type == "object" then del(.judged_at) else . end)'
    vrun --json "$CASE/rel/a" "$CASE/rel/b"
    jq -S "$j" "$CASE/out" >"$CASE/loud.json"
    vrun -q --json "$CASE/rel/a" "$CASE/rel/b"
    jq -S "$j" "$CASE/out" | cmp -s - "$CASE/loud.json" || fail "-q changed the JSON"
    grep -q '"valid"' "$CASE/loud.json" || fail "no valid record in the JSON"
    vrun --json --manifest "$CASE/rel/SHA256SUMS"
    jq -S "$j" "$CASE/out" >"$CASE/loud.json"
    vrun -q --json --manifest "$CASE/rel/SHA256SUMS"
    jq -S "$j" "$CASE/out" | cmp -s - "$CASE/loud.json" || fail "-q changed the manifest JSON"
    grep -q '"ok"' "$CASE/loud.json" || fail "no ok file in the manifest JSON"
}

# --ignore-missing: one artifact downloaded next to the list checks; a
# changed one still fails; none present fails as sha256sum does.
t_manifest_ignore_missing() {
    release
    rm "$CASE/rel/a" "$CASE/rel/c"
    vrun --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 1
    expect_out "MISSING a"
    vrun --manifest "$CASE/rel/SHA256SUMS" --ignore-missing
    expect_rc 0
    expect_out "OK b"
    expect_no_out "MISSING"
    vrun --manifest "$CASE/rel/SHA256SUMS" --ignore-missing --json
    expect_rc 0
    jq -e '.files == [{"path": "b", "status": "ok", "reason": null}]' "$CASE/out" >/dev/null ||
        fail "JSON files: $(jq -c .files "$CASE/out")"
    echo tampered >>"$CASE/rel/b"
    vrun --manifest "$CASE/rel/SHA256SUMS" --ignore-missing
    expect_rc 1
    expect_out "CHANGED b"
    expect_err "1 of 1 files are not as the signed manifest lists"
    rm "$CASE/rel/b"
    vrun --manifest "$CASE/rel/SHA256SUMS" --ignore-missing
    expect_rc 1
    expect_err "no file was verified"
    expect_one_error_line verify
    # sha256sum agrees on both counts.
    (cd "$CASE/rel" && sha256sum -c --ignore-missing SHA256SUMS) >/dev/null 2>&1 &&
        fail "sha256sum passed an empty check"
    vrun --ignore-missing "$CASE/rel/SHA256SUMS"
    expect_rc 2
    expect_err "--ignore-missing goes with --manifest"
}

# A list as people write it for sha256sum -c: --tag lines, GNU lines,
# comments and blank lines, a name with a newline (escaped by sha256sum),
# signed with openssl cms.
t_manifest_tagged_comments_blank_lines() {
    release
    local nl="new"$'\n'"line"
    echo "odd" >"$CASE/rel/$nl"
    mkdir "$CASE/rel/sub" && echo inner >"$CASE/rel/sub/d"
    (cd "$CASE/rel" && {
        echo "# release 1.0 checksums"
        echo
        sha256sum --tag a "$nl"
        echo "# made by hand"
        sha256sum b
        sha256sum --tag ./sub/d
    } >LIST) || fail "list"
    grep -q '^SHA256 (a) = ' "$CASE/rel/LIST" || fail "sha256sum --tag wrote: $(cat "$CASE/rel/LIST")"
    grep -q '^\\SHA256 (new\\nline) = ' "$CASE/rel/LIST" || fail "no escaped tagged line"
    (cd "$CASE/rel" && sha256sum --strict -c LIST) >/dev/null 2>&1 || fail "sha256sum -c refuses LIST"
    osign new "$CASE/rel/LIST"
    vrun --manifest "$CASE/rel/LIST"
    expect_rc 0
    expect_out "OK a"
    expect_out "OK b"
    expect_out "OK new\x0aline"
    expect_out "OK sub/d"
    [ "$(grep -c '^OK ' "$CASE/out")" -eq 5 ] || fail "not 4 files and the list OK"
    echo changed >>"$CASE/rel/a"
    vrun --manifest "$CASE/rel/LIST"
    expect_rc 1
    expect_out "CHANGED a"
    # The algorithm a tag names must agree with the digest's length.
    (cd "$CASE/rel" && sha256sum b | sed 's/^\([0-9a-f]*\)  b$/SHA512 (b) = \1/' >LIST2)
    grep -q '^SHA512 (b) = ' "$CASE/rel/LIST2" || fail "LIST2: $(cat "$CASE/rel/LIST2")"
    osign new "$CASE/rel/LIST2"
    vrun --manifest "$CASE/rel/LIST2"
    expect_rc 5
    expect_err "malformed manifest: manifest line 1 names SHA512 but its digest has 64 hex digits"
}

# A wrong --trust: the reason names where the chain stops and the anchors
# tried, on one line, per file and for a list.
t_wrong_anchor_names_chain_and_anchors() {
    release
    local other=$CASE/pki/other.pem
    run csign verify --trust "$other" "$CASE/rel/a"
    expect_rc 1
    expect_out "FAIL $CASE/rel/a: signer not trusted: chain stops at 'CN=Release new', issued by 'CN=Dev Root', which is neither among the 1 anchor in $other (CN=Other Root) nor in the signature or --untrusted"
    expect_one_error_line verify
    # With the root in the signature, the chain stops at it: self-signed.
    openssl cms -sign -binary -in "$CASE/rel/a" -signer "$CASE/pki/new.pem" \
        -inkey "$CASE/pki/new.key" -certfile "$CASE/pki/root.pem" -outform DER \
        -out "$CASE/rel/a.p7s" 2>/dev/null || fail "sign with the root"
    cat "$other" "$CASE/pki/old.pem" >"$CASE/two.pem"
    run csign verify --trust "$CASE/two.pem" --trust "$other" "$CASE/rel/a"
    expect_rc 1
    expect_out "signer not trusted: chain stops at 'CN=Dev Root' (self-signed), which is not among the 2 anchors in $CASE/two.pem, $other (CN=Other Root; CN=Release old)"
    run csign verify --trust "$other" --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 1
    expect_out "FAIL $CASE/rel/SHA256SUMS: signer not trusted: chain stops at 'CN=Release new', issued by 'CN=Dev Root'"
    expect_one_error_line verify
    # The right anchor still verifies; other chain failures keep their words.
    vrun "$CASE/rel/a"
    expect_rc 0
    vrun --at-time 2099-01-01T00:00:00Z "$CASE/rel/a"
    expect_rc 1
    expect_out "signer not trusted: certificate has expired"
}

run_tests
