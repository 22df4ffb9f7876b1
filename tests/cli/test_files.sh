#!/usr/bin/env bash
# How csign opens the files it reads and puts in place the files it writes:
# manifest files on kernels without openat2, FIFOs and other files that
# are not regular, all-or-nothing manifest writes under disk faults, and
# the modes of new files. Faults come from tests/tools/fsfault.c.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# in_rel [VAR=value...] csign ARGS...: run in the folder $CASE/rel.
in_rel() {
    local envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    [ "${1:-}" = csign ] && shift
    (cd "$CASE/rel" && env "${envs[@]}" "$CSIGN_BIN" "$@") >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
}

# As in_rel, with file-system calls failing as RULES says.
in_rel_fsfault() {
    local rules=$1
    shift
    [ -n "${CSIGN_FSFAULT_LIB:-}" ] || fail "CSIGN_FSFAULT_LIB is not set"
    in_rel "LD_PRELOAD=$CSIGN_FSFAULT_LIB" "CSIGN_FSFAULT=$rules" \
        "CSIGN_FSFAULT_LOG=$CASE/fsfault.log" \
        "ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0" "$@"
}

# A release with a nested file, signed into rel/SHA256SUMS.
signed_release() {
    mkdir -p "$CASE/rel/sub/deeper"
    printf 'top' >"$CASE/rel/top.txt"
    printf 'same bytes' >"$CASE/rel/sub/f.txt"
    printf 'deep' >"$CASE/rel/sub/deeper/d.txt"
    in_rel CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SHA256SUMS \
        top.txt sub/f.txt sub/deeper/d.txt
    expect_rc 0
}

# fault_injected CALL: the shim failed CALL at least once in this case.
fault_injected() {
    grep -q "^$1 " "$CASE/fsfault.log" 2>/dev/null || fail "no $1 fault was injected"
}

# ---- manifest files on a kernel without openat2 ----------------------------

t_no_openat2_verify_nested_ok() {
    signing_key
    signed_release
    in_rel_fsfault 'openat2=ENOSYS' csign verify --trust "$CASE/root.pem" --manifest SHA256SUMS
    expect_rc 0
    fault_injected openat2
    expect_out "OK sub/deeper/d.txt"
    expect_out "OK sub/f.txt"
    expect_out "OK top.txt"
}

t_no_openat2_verify_refuses_folder_link() {
    signing_key
    signed_release
    # The same bytes outside, reached through a folder link.
    mkdir "$CASE/outside"
    mv "$CASE/rel/sub" "$CASE/outside/sub"
    ln -s ../outside/sub "$CASE/rel/sub"
    in_rel_fsfault 'openat2=ENOSYS' csign verify --trust "$CASE/root.pem" --manifest SHA256SUMS
    expect_rc 1
    fault_injected openat2
    expect_out "CHANGED sub/f.txt: 'sub/f.txt' goes through a symbolic link"
    expect_out "CHANGED sub/deeper/d.txt: 'sub/deeper/d.txt' goes through a symbolic link"
    expect_out "OK top.txt"
    expect_no_out "OK sub/"
    # A link deeper down, and one to the file itself, are refused too.
    rm "$CASE/rel/sub" && mkdir -p "$CASE/rel/sub" && mv "$CASE/outside/sub/f.txt" "$CASE/rel/sub/"
    ln -s ../../outside/sub/deeper "$CASE/rel/sub/deeper"
    ln -sf ../outside/top.txt "$CASE/rel/top.txt.link"
    printf 'top' >"$CASE/outside/top.txt"
    rm "$CASE/rel/top.txt" && mv "$CASE/rel/top.txt.link" "$CASE/rel/top.txt"
    in_rel_fsfault 'openat2=ENOSYS' csign verify --trust "$CASE/root.pem" --manifest SHA256SUMS
    expect_rc 1
    expect_out "OK sub/f.txt"
    expect_out "CHANGED sub/deeper/d.txt: 'sub/deeper/d.txt' goes through a symbolic link"
    expect_out "CHANGED top.txt: 'top.txt' goes through a symbolic link"
    # A missing folder on the way is MISSING, as with openat2.
    rm "$CASE/rel/sub/deeper"
    in_rel_fsfault 'openat2=ENOSYS' csign verify --trust "$CASE/root.pem" --manifest SHA256SUMS
    expect_rc 1
    expect_out "MISSING sub/deeper/d.txt"
}

t_no_openat2_sign_manifest_nested_ok() {
    signing_key
    mkdir -p "$CASE/rel/a/b"
    printf 'nested' >"$CASE/rel/a/b/c.txt"
    printf 'top' >"$CASE/rel/top.txt"
    in_rel_fsfault 'openat2=ENOSYS' CSIGN_PIN=$USER_PIN csign sign --key "$KEY" \
        --manifest SHA256SUMS a/b/c.txt top.txt
    expect_rc 0
    fault_injected openat2
    (cd "$CASE/rel" && sha256sum --strict -c SHA256SUMS) >/dev/null 2>&1 ||
        fail "sha256sum -c rejects the manifest"
}

# wait_stopped PID: waits (up to 20 s) until process PID has stopped itself.
wait_stopped() {
    local i state
    for ((i = 0; i < 400; i++)); do
        state=$(sed -E 's/.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null)
        [ "$state" = T ] && return 0
        [ -n "$state" ] || break
        sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null
    fail "csign did not reach the point where the test acts"
}

# sign --manifest resolves the folders of the files it is given before it
# logs in; a folder swapped for a link to the outside after that must not
# get the outside's bytes signed.
t_no_openat2_sign_manifest_refuses_swapped_folder() {
    signing_key
    mkdir -p "$CASE/rel/sub" "$CASE/outside"
    printf 'reviewed' >"$CASE/rel/sub/f.txt"
    printf 'not reviewed' >"$CASE/outside/f.txt"
    # csign stops itself at its first openat2 (the listed file), the
    # folder becomes a link to the outside, then csign goes on without
    # openat2.
    (cd "$CASE/rel" && exec env "LD_PRELOAD=$CSIGN_FSFAULT_LIB" \
        "CSIGN_FSFAULT=openat2@1=STOP,openat2=ENOSYS" \
        "ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0" CSIGN_PIN=$USER_PIN \
        "$CSIGN_BIN" sign --key "$KEY" --manifest SHA256SUMS sub/f.txt) \
        >"$CASE/out" 2>"$CASE/err" </dev/null &
    local pid=$!
    wait_stopped $pid
    mv "$CASE/rel/sub" "$CASE/rel/sub.reviewed"
    ln -s ../outside "$CASE/rel/sub"
    kill -CONT $pid
    wait $pid
    RC=$?
    expect_rc 5
    expect_err "'sub/f.txt' goes through a symbolic link"
    expect_err "no manifest written"
    [ ! -e "$CASE/rel/SHA256SUMS" ] && [ ! -e "$CASE/rel/SHA256SUMS.p7s" ] ||
        fail "a manifest was written: $(cat "$CASE/rel/SHA256SUMS" 2>/dev/null)"
}

# ---- inputs that are not regular files -------------------------------------

# run_bounded [VAR=value...] csign ARGS...: as run, but the test fails when
# csign has not finished after 20 s.
run_bounded() {
    local envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    [ "${1:-}" = csign ] && shift
    env "${envs[@]}" timeout 20 "$CSIGN_BIN" "$@" >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    [ "$RC" -ne 124 ] || fail "csign did not finish within 20 s: csign $*"
}

t_fifo_signature_refused() {
    signing_key
    printf 'content' >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/f"
    expect_rc 0
    rm "$CASE/f.p7s" && mkfifo "$CASE/f.p7s"
    run_bounded csign verify --trust "$CASE/root.pem" "$CASE/f"
    expect_rc 4
    grep -qF "'$CASE/f.p7s' is not a regular file" "$CASE/out" "$CASE/err" ||
        fail "no reason given"
    # The same through --sig and with --manifest.
    run_bounded csign verify --trust "$CASE/root.pem" --sig "$CASE/f.p7s" "$CASE/f"
    expect_rc 4
    mkdir "$CASE/rel" && printf 'x' >"$CASE/rel/x"
    in_rel CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SHA256SUMS x
    expect_rc 0
    rm "$CASE/rel/SHA256SUMS.p7s" && mkfifo "$CASE/rel/SHA256SUMS.p7s"
    run_bounded csign verify --trust "$CASE/root.pem" --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 4
    expect_err "SHA256SUMS.p7s' is not a regular file"
    rm "$CASE/rel/SHA256SUMS.p7s" && mv "$CASE/rel/SHA256SUMS" "$CASE/rel/SHA256SUMS.p7s"
    mkfifo "$CASE/rel/SHA256SUMS"
    run_bounded csign verify --trust "$CASE/root.pem" --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 4
    expect_err "SHA256SUMS' is not a regular file"
}

t_fifo_content_refused() {
    signing_key
    printf 'content' >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/f"
    expect_rc 0
    rm "$CASE/f" && mkfifo "$CASE/f"
    # As verify --manifest reports a listed FIFO: the content is not what
    # was signed (exit 1).
    run_bounded csign verify --trust "$CASE/root.pem" "$CASE/f"
    expect_rc 1
    expect_out "FAIL $CASE/f: '$CASE/f' is not a regular file"
    # sign and digest refuse it as sign --manifest does (exit 5).
    run_bounded CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force "$CASE/f"
    expect_rc 5
    expect_err "'$CASE/f' is not a regular file"
    run_bounded csign digest "$CASE/f"
    expect_rc 5
    expect_err "csign: digest: '$CASE/f' is not a regular file"
}

t_fifo_trust_refused() {
    signing_key
    printf 'content' >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/f"
    expect_rc 0
    mkfifo "$CASE/trust.pem"
    run_bounded csign verify --trust "$CASE/trust.pem" "$CASE/f"
    expect_rc 4
    expect_one_error_line verify
    expect_err "'$CASE/trust.pem' is not a regular file"
    run_bounded csign verify --trust "$CASE/root.pem" --untrusted "$CASE/trust.pem" "$CASE/f"
    expect_rc 4
    # Standard input is still read when asked for with "-".
    printf 'content' | "$CSIGN_BIN" verify --trust "$CASE/root.pem" --sig "$CASE/f.p7s" - \
        >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
    "$CSIGN_BIN" verify --trust - "$CASE/f" <"$CASE/root.pem" >"$CASE/out" 2>"$CASE/err"
    RC=$?
    expect_rc 0
}

t_folder_content_refused() {
    signing_key
    printf 'content' >"$CASE/f"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/f"
    expect_rc 0
    mkdir "$CASE/dir"
    run csign verify --trust "$CASE/root.pem" --sig "$CASE/f.p7s" "$CASE/dir"
    expect_rc 1
    expect_out "FAIL $CASE/dir: '$CASE/dir' is not a regular file"
    run csign digest "$CASE/dir"
    expect_rc 5
    expect_err "'$CASE/dir' is not a regular file"
    run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" -o "$CASE/d.p7s" "$CASE/dir"
    expect_rc 5
    [ ! -e "$CASE/d.p7s" ] || fail "signed a folder"
}

# ---- sign --manifest: the list and its signature land together -------------

# manifest_fault FORCE RULES WANT [MESSAGE]: signs rel/a and rel/b into
# rel/SHA256SUMS (over an older signed list when FORCE is --force) with
# file-system calls failing as RULES says; csign must fail with exit 4 and
# leave WANT: "old" (each old file byte for byte, or none where there was
# none) or "new" (both new files, verifying). Never one without the other,
# never a temporary.
manifest_fault() {
    local force=$1 rules=$2 want=$3 msg=${4:-}
    rm -rf "$CASE/rel" "$CASE/old" "$CASE/fsfault.log"
    mkdir -p "$CASE/rel" "$CASE/old"
    printf 'one' >"$CASE/rel/a"
    printf 'two' >"$CASE/rel/b"
    if [ -n "$force" ]; then
        in_rel CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SHA256SUMS a b
        expect_rc 0
        cp "$CASE/rel/SHA256SUMS" "$CASE/rel/SHA256SUMS.p7s" "$CASE/old/"
        printf 'two, changed' >"$CASE/rel/b"
    fi
    in_rel_fsfault "$rules" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" $force \
        --manifest SHA256SUMS a b
    [ -s "$CASE/fsfault.log" ] || fail "$rules: no fault was injected"
    local rc=$RC
    cp "$CASE/err" "$CASE/sign.err"
    ! ls -a "$CASE/rel" | grep -q csign-tmp || fail "$rules $force: temporary left: $(ls "$CASE/rel")"
    local f
    case $want in
    old)
        for f in SHA256SUMS SHA256SUMS.p7s; do
            if [ -n "$force" ]; then
                cmp -s "$CASE/old/$f" "$CASE/rel/$f" || fail "$rules $force: $f is not the old one"
            else
                [ ! -e "$CASE/rel/$f" ] || fail "$rules: $f was left behind"
            fi
        done
        ;;
    new)
        for f in SHA256SUMS SHA256SUMS.p7s; do
            [ -f "$CASE/rel/$f" ] || fail "$rules $force: $f is gone"
            ! cmp -s "$CASE/old/$f" "$CASE/rel/$f" || fail "$rules $force: $f is the old one"
        done
        grep -q "$(printf 'two, changed' | sha256sum | cut -c1-64)" "$CASE/rel/SHA256SUMS" ||
            [ -z "$force" ] || fail "$rules: the list is not the new one"
        run csign verify --trust "$CASE/root.pem" --manifest "$CASE/rel/SHA256SUMS"
        expect_rc 0
        ;;
    esac
    cp "$CASE/sign.err" "$CASE/err"
    RC=$rc
    expect_rc 4
    expect_one_error_line sign
    [ -z "$msg" ] || expect_err "$msg"
}

t_manifest_write_faults_keep_old() {
    signing_key
    local force
    for force in "" --force; do
        manifest_fault "$force" 'write@1=ENOSPC:SHA256SUMS' old "No space left on device"
        manifest_fault "$force" 'write@2=ENOSPC:SHA256SUMS' old "No space left on device"
        manifest_fault "$force" 'fdatasync@1=EIO:SHA256SUMS' old "Input/output error"
        manifest_fault "$force" 'fdatasync@2=EIO:SHA256SUMS' old "Input/output error"
    done
}

t_manifest_rename_faults_keep_old() {
    signing_key
    # Without --force the names are created (renameat2 RENAME_NOREPLACE).
    manifest_fault "" 'renameat2@1=EIO:SHA256SUMS' old "Input/output error"
    manifest_fault "" 'renameat2@2=EIO:SHA256SUMS' old "Input/output error"
    # With it, the second failing after the first replaced its old file.
    manifest_fault --force 'rename@1=EIO:SHA256SUMS' old "cannot replace"
    manifest_fault --force 'rename@2=EIO:SHA256SUMS' old "cannot replace"
    manifest_fault --force 'link@1=EIO:SHA256SUMS' old "cannot keep the old"
    manifest_fault --force 'link@2=EIO:SHA256SUMS' old "cannot keep the old"
    # Where there are no hard links, the old files are moved aside instead.
    manifest_fault --force 'link=EPERM:SHA256SUMS,rename@2=EIO:SHA256SUMS' old "cannot replace"
    manifest_fault --force 'link=EPERM:SHA256SUMS,rename@1=EIO:SHA256SUMS' old "cannot replace"
    in_rel_fsfault 'link=EPERM:SHA256SUMS' CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --force \
        --manifest SHA256SUMS a b
    expect_rc 0
    fault_injected link
    ! ls -a "$CASE/rel" | grep -q csign-tmp || fail "temporary left: $(ls "$CASE/rel")"
    run csign verify --trust "$CASE/root.pem" --manifest "$CASE/rel/SHA256SUMS"
    expect_rc 0
}

# A folder that cannot be flushed after both renames: both new files stay,
# and the error says they are there but may not be durable.
t_manifest_folder_flush_fault_keeps_new() {
    signing_key
    local force
    for force in "" --force; do
        manifest_fault "$force" "fsync=EIO:$CASE/rel" new "cannot flush folder '.': Input/output \
error; 'SHA256SUMS.p7s' and 'SHA256SUMS' are in place but may not survive a crash"
    done
}

# ---- sign of many files: each file on its own -----------------------------

# sign_files [--force] RULES: signs files/a, files/b and files/c.
sign_files() {
    local force=
    [ "$1" = --force ] && { force=--force; shift; }
    in_rel_fsfault "$1" CSIGN_PIN=$USER_PIN csign sign --key "$KEY" $force \
        "$CASE/files/a" "$CASE/files/b" "$CASE/files/c"
}

t_sign_many_one_fails_others_land() {
    signing_key
    mkdir -p "$CASE/rel" "$CASE/files"
    for f in a b c; do printf '%s' "$f" >"$CASE/files/$f"; done
    for rules in 'renameat2=EIO:b.p7s' 'fdatasync=EIO:b.p7s'; do
        rm -f "$CASE"/files/*.p7s
        sign_files "$rules"
        expect_rc 4
        expect_err "csign: sign: $CASE/files/b: "
        [ ! -e "$CASE/files/b.p7s" ] || fail "$rules: b.p7s was written"
        for f in a c; do
            run csign verify --trust "$CASE/root.pem" "$CASE/files/$f"
            expect_rc 0
        done
        ! ls -a "$CASE/files" | grep -q csign-tmp || fail "$rules: temporary left"
    done
    # With --force a failed replacement leaves the old signature.
    sign_files --force ''
    expect_rc 0
    cp "$CASE/files/b.p7s" "$CASE/old-b.p7s"
    printf 'b, changed' >"$CASE/files/b"
    sign_files --force 'rename=EIO:b.p7s'
    expect_rc 4
    cmp -s "$CASE/old-b.p7s" "$CASE/files/b.p7s" || fail "the old b.p7s was not kept"
    run csign verify --trust "$CASE/root.pem" "$CASE/files/a"
    expect_rc 0
}

# A folder that cannot be flushed: the signatures stay (and with --force
# the old ones are not lost), each reported as maybe not durable.
t_sign_many_folder_flush_fault_keeps_files() {
    signing_key
    mkdir -p "$CASE/rel" "$CASE/files"
    for f in a b c; do printf '%s' "$f" >"$CASE/files/$f"; done
    local force
    for force in "" --force; do
        rm -f "$CASE"/files/*.p7s
        [ -z "$force" ] || { sign_files ''; expect_rc 0; }
        for f in a b c; do printf '%s, %s' "$f" "${force:-new}" >"$CASE/files/$f"; done
        sign_files $force "fsync=EIO:$CASE/files"
        local rc=$RC
        cp "$CASE/err" "$CASE/sign.err"
        for f in a b c; do
            run csign verify --trust "$CASE/root.pem" "$CASE/files/$f"
            expect_rc 0
        done
        ! ls -a "$CASE/files" | grep -q csign-tmp || fail "temporary left"
        cp "$CASE/sign.err" "$CASE/err"
        RC=$rc
        expect_rc 4
        expect_err "csign: sign: $CASE/files/b: cannot flush folder '$CASE/files': Input/output \
error; '$CASE/files/b.p7s' is in place but may not survive a crash"
    done
}

# ---- modes of the files written ---------------------------------------------

# mode_of FILE: its permission bits, in octal.
mode_of() {
    stat -c %a "$1"
}

t_new_files_follow_umask() {
    signing_key
    mkdir -p "$CASE/rel"
    printf 'x' >"$CASE/rel/x"
    local mask want
    for mask in 077 022 027; do
        case $mask in 077) want=600 ;; 022) want=644 ;; 027) want=640 ;; esac
        rm -f "$CASE"/rel/*.p7s "$CASE/rel/SHA256SUMS"
        (umask $mask && cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" x \
            >/dev/null 2>&1 && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" \
            --manifest SHA256SUMS x >/dev/null 2>&1) || fail "umask $mask: sign failed"
        for f in x.p7s SHA256SUMS SHA256SUMS.p7s; do
            [ "$(mode_of "$CASE/rel/$f")" = $want ] ||
                fail "umask $mask: $f has mode $(mode_of "$CASE/rel/$f"), expected $want"
        done
    done
}

t_force_keeps_permissions_not_setuid() {
    signing_key
    mkdir -p "$CASE/rel"
    printf 'x' >"$CASE/rel/x"
    in_rel CSIGN_PIN=$USER_PIN csign sign --key "$KEY" x
    expect_rc 0
    in_rel CSIGN_PIN=$USER_PIN csign sign --key "$KEY" --manifest SHA256SUMS x
    expect_rc 0
    chmod 4755 "$CASE/rel/x.p7s"
    chmod 6750 "$CASE/rel/SHA256SUMS"
    chmod 2640 "$CASE/rel/SHA256SUMS.p7s"
    [ "$(mode_of "$CASE/rel/x.p7s")" = 4755 ] || fail "cannot make a set-user-ID file here"
    (umask 022 && cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --force x \
        >/dev/null 2>&1 && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --force \
        --manifest SHA256SUMS x >/dev/null 2>&1) || fail "sign --force failed"
    [ "$(mode_of "$CASE/rel/x.p7s")" = 755 ] || fail "x.p7s: mode $(mode_of "$CASE/rel/x.p7s")"
    [ "$(mode_of "$CASE/rel/SHA256SUMS")" = 750 ] ||
        fail "SHA256SUMS: mode $(mode_of "$CASE/rel/SHA256SUMS")"
    [ "$(mode_of "$CASE/rel/SHA256SUMS.p7s")" = 640 ] ||
        fail "SHA256SUMS.p7s: mode $(mode_of "$CASE/rel/SHA256SUMS.p7s")"
}

# --force on a signature that is a symbolic link replaces the link; the
# file it points to gives neither its mode nor loses its bytes.
t_force_replaces_link_not_target() {
    signing_key
    mkdir -p "$CASE/rel"
    printf 'x' >"$CASE/rel/x"
    printf 'keep me' >"$CASE/target"
    chmod 4700 "$CASE/target"
    ln -s ../target "$CASE/rel/x.p7s"
    (umask 022 && cd "$CASE/rel" && CSIGN_PIN=$USER_PIN "$CSIGN_BIN" sign --key "$KEY" --force x \
        >/dev/null 2>&1) || fail "sign --force failed"
    [ -f "$CASE/rel/x.p7s" ] && [ ! -L "$CASE/rel/x.p7s" ] || fail "x.p7s is not a file"
    [ "$(mode_of "$CASE/rel/x.p7s")" = 644 ] || fail "x.p7s: mode $(mode_of "$CASE/rel/x.p7s")"
    [ "$(cat "$CASE/target")" = 'keep me' ] || fail "the link's target changed"
    [ "$(mode_of "$CASE/target")" = 4700 ] || fail "the link's target changed mode"
    run csign verify --trust "$CASE/root.pem" "$CASE/rel/x"
    expect_rc 0
}

run_tests
