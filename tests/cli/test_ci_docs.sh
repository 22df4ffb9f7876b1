#!/usr/bin/env bash
# The CI recipes of docs/ci.md, taken from the page as they are and run
# (tests/cli/ci_recipe.py) against a SoftHSM token reached through
# 'p11-kit remote', with a local TSA: the GitHub Actions workflow, the
# GitLab CI pipeline and the plain shell scripts each sign a release and
# verify it; the verification fails for an altered file or another signer.
# Checked with openssl cms -verify and sha256sum -c as independent tools.
. "$(dirname "$0")/lib.sh"

TESTS_DIR=${CSIGN_TESTS:-$(cd "$(dirname "$0")/.." && pwd)}
DOC=$TESTS_DIR/../docs/ci.md
RECIPE=$(cd "$(dirname "$0")" && pwd)/ci_recipe.py
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

CLIENT_MODULE=""
for d in "$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)" \
    /usr/lib/x86_64-linux-gnu/pkcs11 /usr/lib/aarch64-linux-gnu/pkcs11 /usr/lib64/pkcs11; do
    if [ -n "$d" ] && [ -r "$d/p11-kit-client.so" ]; then CLIENT_MODULE=$d/p11-kit-client.so; break; fi
done
if [ -z "$CLIENT_MODULE" ] || ! command -v p11-kit >/dev/null || ! command -v jq >/dev/null; then
    echo "SKIP: p11-kit, p11-kit-client.so or jq is missing (scripts/install-deps.sh installs them)"
    exit 77
fi
# python3-yaml comes with scripts/install-deps.sh.
python3 -c 'import yaml' 2>/dev/null || { echo "FAIL: python3 cannot import yaml" >&2; exit 1; }

KEY='pkcs11:token=release;object=signing'
# A PIN that no digest or name in the logs can contain by chance.
PIN=ci-Secret-7731

extract() { # extract NAME: the block marked '<!-- ci: NAME -->' in docs/ci.md
    python3 "$RECIPE" extract "$DOC" "$1" || fail "docs/ci.md has no block '$1'"
}

# The token 'release' with the key 'signing' and a certificate from a small
# CA (ca.pem), a TSA (tsaca.pem, $TSA_URL), csign on PATH as 'csign', the
# repository's files ($CASE/repo/ci) and a release to sign ($CASE/dist).
setup_release() {
    new_token release "$PIN"
    run CSIGN_PIN=$PIN csign keygen --key "$KEY"
    expect_rc 0
    run CSIGN_PIN=$PIN csign csr --key "$KEY" --subject 'CN=Release Signing,O=Example' -o signing.csr
    expect_rc 0
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -subj "/CN=Example Release Root" -days 30 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
        -out ca.pem 2>/dev/null || fail "CA"
    printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
        extendedKeyUsage=codeSigning >leaf.ext
    openssl x509 -req -in signing.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
        -extfile leaf.ext -out signing.pem 2>/dev/null || fail "signing certificate"
    run CSIGN_PIN=$PIN csign import-cert --key "$KEY" --chain ca.pem signing.pem
    expect_rc 0
    SIGNER="SHA256:$(openssl x509 -in signing.pem -outform DER | sha256sum | cut -c1-64)"
    start_tsa
    mkdir -p bin repo/ci dist
    ln -s "$CSIGN_BIN" bin/csign
    export PATH=$CASE/bin:$PATH
    cp ca.pem repo/ci/release-root.pem
    cp tsaca.pem repo/ci/tsa-root.pem
    head -c 100000 /dev/urandom >dist/app-1.0.tar.gz
    echo "package" >dist/app-1.0.deb
    echo "read me" >'dist/release notes.txt'
    # The token as a network HSM: p11-kit's client module, and a transport
    # command that would be 'ssh signer@host' (docs/remote.md).
    REMOTE="|p11-kit remote --provider '$SOFTHSM_MODULE' 'pkcs11:token=release'"
}

# workspace NAME [dist]: a fresh checkout of the repository in $CASE/NAME,
# with the release files when asked. Everything is writable by all, as
# GitLab's Docker executor checks out with umask 0000.
workspace() {
    rm -rf "${CASE:?}/$1"
    cp -R repo "$CASE/$1" && chmod -R a+w "$CASE/$1" || fail "workspace $1"
    [ $# -lt 2 ] || cp -R dist "$CASE/$1/dist"
    WS=$CASE/$1
}

# check_release DIR: the signed list in DIR is sound, to csign and to
# openssl, and carries a timestamp from the test's TSA.
check_release() {
    local d=$1
    [ -f "$d/SHA256SUMS" ] && [ -f "$d/SHA256SUMS.p7s" ] || fail "no SHA256SUMS(.p7s) in $d"
    (cd "$d" && sha256sum --quiet -c SHA256SUMS) || fail "sha256sum -c SHA256SUMS fails"
    [ "$(wc -l <"$d/SHA256SUMS")" -eq 3 ] || fail "SHA256SUMS does not list the 3 files"
    openssl cms -verify -binary -inform DER -in "$d/SHA256SUMS.p7s" -content "$d/SHA256SUMS" \
        -CAfile ca.pem -purpose any -out /dev/null 2>/dev/null ||
        fail "openssl cms -verify rejects SHA256SUMS.p7s"
    run csign verify --trust ca.pem --tsa-trust tsaca.pem --require-timestamp \
        --expect-signer "$SIGNER" --manifest "$d/SHA256SUMS" --strict --json
    expect_rc 0
    jq -e '.manifest.timestamp.status == "valid" and .manifest.signer_subject ==
        "CN=Release Signing,O=Example" and (.files | length) == 3' "$CASE/out" >/dev/null ||
        fail "csign verify --json: $(cat "$CASE/out")"
    [ -s "$TSA_LOG" ] || fail "the TSA was not asked"
}

# no_pin_in LOG: the job's output never shows the PIN.
no_pin_in() {
    ! grep -qF -- "$PIN" "$1" || fail "the PIN appears in $1"
}

# tamper FILE: change one byte of FILE.
tamper() {
    # Byte 10 of random content may already be 'X': then write 'Y'.
    local b=X
    [ "$(dd if="$1" bs=1 skip=10 count=1 2>/dev/null)" != X ] || b=Y
    printf '%s' "$b" | dd of="$1" bs=1 seek=10 conv=notrunc 2>/dev/null || fail "tamper $1"
    [ "$(dd if="$1" bs=1 skip=10 count=1 2>/dev/null)" = "$b" ] || fail "tamper $1: unchanged"
}

t_blocks_parse() {
    local name
    for name in github gitlab; do
        extract $name >"$CASE/$name.yml"
        python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$CASE/$name.yml" ||
            fail "the $name YAML does not parse"
        if yq --version 2>/dev/null | grep -q .; then
            yq . "$CASE/$name.yml" >/dev/null || fail "yq rejects the $name YAML"
        fi
    done
    for name in signer-fingerprint shell-sign shell-verify from-source; do
        extract $name >"$CASE/$name.sh"
        sh -n "$CASE/$name.sh" || fail "the $name block is not valid sh"
    done
    # Building from source needs the build dependencies scripts/install-deps.sh
    # lists (too slow to build here; the packages cannot drift).
    local p deps=$TESTS_DIR/../scripts/install-deps.sh n=0
    for p in $(grep -oE '(lib[a-z0-9.+-]+-dev|build-essential|cmake|pkg-config|p11-kit-modules)\b' \
        "$CASE/from-source.sh"); do
        grep -qE "(^|[[:space:]])$p([[:space:]]|\$)" "$deps" || fail "install-deps.sh lacks $p"
        n=$((n + 1))
    done
    [ "$n" -ge 8 ] || fail "the from-source block names $n packages"
    grep -q 'cmake --install' "$CASE/from-source.sh" || fail "the from-source block does not install"
    # No tracing near the PIN, no PIN value on a command line.
    ! grep -nE '(^|[[:space:];])set -[a-z]*x|(ba)?sh -[a-z]*x' "$CASE"/*.sh "$CASE"/*.yml ||
        fail "a recipe traces a shell"
    # A PIN variable is expanded only alone on a line: a here-document's body.
    ! grep -hE '\$\{?[A-Z_]*PIN\b' "$CASE"/*.sh "$CASE"/*.yml | grep -vxE '\$\{?[A-Z_]*PIN\}?' ||
        fail "a recipe puts a PIN on a command line"
    ! grep -hoE -- '--pin-source[ =][^ ]*' "$CASE"/*.sh "$CASE"/*.yml |
        grep -vxE -- '--pin-source[ =](fd:[0-9]+|env:[A-Z_]+|file:[^$]+)' ||
        fail "a recipe gives --pin-source something else than a source"
    ! grep -n 'pin-value' "$CASE"/*.sh "$CASE"/*.yml || fail "a recipe uses pin-value"
}

t_signer_fingerprint() {
    setup_release
    extract signer-fingerprint >fp.sh
    SIGNING_KEY=$KEY sh -eu fp.sh >fp.out 2>fp.err || fail "the fingerprint block fails: $(cat fp.err)"
    [ "$(cat fp.out)" = "$SIGNER" ] || fail "fingerprint '$(cat fp.out)', expected '$SIGNER'"
}

t_github_actions() {
    setup_release
    extract github >release.yml
    export CI_SECRET_CSIGN_PIN=$PIN CI_VAR_CSIGN_MODULE=$CLIENT_MODULE \
        CI_VAR_P11_KIT_SERVER_ADDRESS=$REMOTE CI_VAR_SIGNING_KEY=$KEY CI_VAR_TSA_URL=$TSA_URL \
        CI_VAR_RELEASE_SIGNER=$SIGNER CI_VAR_CSIGN_DEB_URL=https://example.invalid/csign.deb
    workspace gh-sign dist
    python3 "$RECIPE" github release.yml sign "$WS" store gh-sign.log ||
        fail "the sign job fails: $(cat gh-sign.log)"
    no_pin_in gh-sign.log
    check_release store/signed-release

    workspace gh-verify
    python3 "$RECIPE" github release.yml verify "$WS" store gh-verify.log ||
        fail "the verify job fails: $(cat gh-verify.log)"
    grep -q '^ok app-1.0.tar.gz' gh-verify.log || fail "verify log: $(cat gh-verify.log)"
    grep -q '^signed by CN=Release Signing,O=Example at 20' gh-verify.log ||
        fail "verify log: $(cat gh-verify.log)"

    # Another signer than the pinned one: the job fails with 1.
    workspace gh-verify
    CI_VAR_RELEASE_SIGNER=SHA256:$(printf '%064d' 0) python3 "$RECIPE" github release.yml verify \
        "$WS" store gh-other.log
    RC=$?
    expect_rc 1
    grep -q "not the expected certificate" gh-other.log || fail "log: $(cat gh-other.log)"

    # An altered file: the job fails with 1 and names it.
    tamper store/signed-release/app-1.0.tar.gz
    workspace gh-verify
    python3 "$RECIPE" github release.yml verify "$WS" store gh-bad.log
    RC=$?
    expect_rc 1
    grep -q '^changed app-1.0.tar.gz' gh-bad.log || fail "log: $(cat gh-bad.log)"
}

t_gitlab_ci() {
    setup_release
    extract gitlab >gitlab-ci.yml
    extract gitlab-profile >repo/ci/csign.conf
    # The profile names Debian's amd64 path of the client module.
    local profile_module
    profile_module=$(sed -n 's/^module = //p' repo/ci/csign.conf)
    if [ "$profile_module" != "$CLIENT_MODULE" ]; then
        [ ! -e "$profile_module" ] || fail "the profile's module is not p11-kit-client.so"
        export CI_VAR_CSIGN_MODULE=$CLIENT_MODULE # another architecture
    fi
    export CI_SECRET_CSIGN_PIN=$PIN CI_VAR_P11_KIT_SERVER_ADDRESS=$REMOTE \
        CI_VAR_TSA_URL=$TSA_URL CI_VAR_RELEASE_SIGNER=$SIGNER \
        CI_VAR_CSIGN_DEB_URL=https://example.invalid/csign.deb
    workspace gl-sign dist
    [ "$(stat -c %a "$WS/ci/csign.conf")" = 666 ] || fail "the checkout is not world-writable"
    python3 "$RECIPE" gitlab gitlab-ci.yml sign "$WS" store gl-sign.log ||
        fail "the sign job fails: $(cat gl-sign.log)"
    no_pin_in gl-sign.log
    check_release store/sign/dist

    workspace gl-verify
    python3 "$RECIPE" gitlab gitlab-ci.yml verify "$WS" store gl-verify.log ||
        fail "the verify job fails: $(cat gl-verify.log)"
    grep -q '^ok app-1.0.tar.gz' gl-verify.log || fail "verify log: $(cat gl-verify.log)"
    jq -e '.status == "ok"' store/verify/verify.json >/dev/null || fail "verify.json"

    # A file added after signing (--strict), then an altered one.
    echo extra >store/sign/dist/extra.bin
    workspace gl-verify
    python3 "$RECIPE" gitlab gitlab-ci.yml verify "$WS" store gl-extra.log
    RC=$?
    expect_rc 1
    grep -q '^extra extra.bin' gl-extra.log || fail "log: $(cat gl-extra.log)"
    rm store/sign/dist/extra.bin
    tamper store/sign/dist/app-1.0.deb
    workspace gl-verify
    python3 "$RECIPE" gitlab gitlab-ci.yml verify "$WS" store gl-bad.log
    RC=$?
    expect_rc 1
    grep -q '^changed app-1.0.deb' gl-bad.log || fail "log: $(cat gl-bad.log)"
}

t_plain_shell() {
    setup_release
    workspace sh-sign dist
    extract shell-sign >"$WS/ci/sign.sh"
    extract shell-verify >"$WS/ci/verify.sh"
    # The token's own module here, without p11-kit.
    (cd "$WS" && env -u CSIGN_PIN SIGNING_PIN="$PIN" SIGNING_KEY="$KEY" TSA_URL="$TSA_URL" \
        CSIGN_MODULE="$SOFTHSM_MODULE" sh ci/sign.sh) >sh-sign.log 2>&1 ||
        fail "ci/sign.sh fails: $(cat sh-sign.log)"
    no_pin_in sh-sign.log
    check_release "$WS/dist"

    cp -R "$WS/dist" verify-dist
    workspace sh-verify
    cp -R verify-dist "$WS/dist"
    cp "$CASE/sh-sign/ci/verify.sh" "$WS/ci/"
    (cd "$WS" && RELEASE_SIGNER=$SIGNER sh ci/verify.sh) >sh-verify.log 2>&1 ||
        fail "ci/verify.sh fails: $(cat sh-verify.log)"
    grep -q '^OK dist/SHA256SUMS signed by CN=Release Signing' sh-verify.log ||
        fail "log: $(cat sh-verify.log)"

    tamper "$WS/dist/release notes.txt"
    (cd "$WS" && RELEASE_SIGNER=$SIGNER sh ci/verify.sh) >sh-bad.log 2>&1
    RC=$?
    expect_rc 1
    grep -q '^CHANGED release notes.txt' sh-bad.log || fail "log: $(cat sh-bad.log)"

    # An unset variable stops the script before csign runs.
    (cd "$WS" && env -u RELEASE_SIGNER sh ci/verify.sh) >sh-unset.log 2>&1
    RC=$?
    [ "$RC" -ne 0 ] || fail "ci/verify.sh passes without RELEASE_SIGNER"
}

run_tests
