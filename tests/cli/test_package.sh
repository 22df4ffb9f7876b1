#!/usr/bin/env bash
# Installing csign (docs/install.md): `cmake --install` into a prefix, and
# the Debian package of scripts/package.sh, linted, extracted into a
# temporary root (no root rights, no container) and run from there.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'
SRC=$(cd "$CSIGN_TESTS/.." && pwd)
# The build folder that made $CSIGN_BIN.
BUILD=$(cd "$(dirname "$CSIGN_BIN")" && pwd)

for tool in cmake dpkg dpkg-deb lintian; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"
        exit 77
    fi
done

# The one version, from project(csign VERSION ...) in CMakeLists.txt.
PROJECT_VERSION=$(sed -nE 's/^project\(csign VERSION ([0-9.]+)[ )].*/\1/p' "$SRC/CMakeLists.txt")
[ -n "$PROJECT_VERSION" ] || { echo "FAIL: no project(csign VERSION ...) in CMakeLists.txt"; exit 1; }

# The package is the Release build of scripts/package.sh whichever build
# runs this script. A CSIGN_SANITIZE suite would build and check the very
# same package again (the normal suite does it), so its cases say so and
# pass without building.
packaging_here() {
    if grep -qx 'CSIGN_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
        echo "    not run in a CSIGN_SANITIZE build: the package is the same Release build" \
            "that the suite without sanitizers builds and checks"
        return 1
    fi
}

# need_deb: builds the package once (the first case that needs it) and sets
# DEB to its path.
PKG=$ROOT/package
need_deb() {
    mkdir -p "$PKG"
    [ ! -f "$PKG/failed" ] || fail "scripts/package.sh failed in an earlier case"
    if [ ! -s "$PKG/path" ]; then
        if ! bash "$SRC/scripts/package.sh" "$PKG/build" >"$PKG/path" 2>"$PKG/log"; then
            touch "$PKG/failed"
            tail -n 40 "$PKG/log" >&2
            fail "scripts/package.sh failed"
        fi
    fi
    DEB=$(cat "$PKG/path")
    [[ $DEB == *.deb && -f $DEB ]] || fail "scripts/package.sh printed '$DEB', not a .deb"
}

# version_of BINARY: the version `BINARY --version` prints.
version_of() {
    "$1" --version | sed -nE '1s/^csign ([^ ]+) .*/\1/p'
}

t_cmake_install_puts_binary_and_docs_under_the_prefix() {
    local p=$CASE/prefix doc f
    cmake --install "$BUILD" --prefix "$p" >"$CASE/out" 2>"$CASE/err" || fail "cmake --install failed"
    [ -x "$p/bin/csign" ] || fail "no executable bin/csign under the prefix"
    [ "$(version_of "$p/bin/csign")" = "$PROJECT_VERSION" ] ||
        fail "installed csign --version is not $PROJECT_VERSION"
    doc=$p/share/doc/csign
    for f in README.md LICENSE; do
        cmp -s "$SRC/$f" "$doc/$f" || fail "share/doc/csign/$f is missing or differs"
    done
    for f in "$SRC"/docs/*.md "$SRC"/docs/json/*; do
        [ -e "$f" ] || continue
        cmp -s "$f" "$doc/${f#"$SRC"/}" || fail "share/doc/csign/${f#"$SRC"/} is missing or differs"
    done
    [ -f "$doc/docs/json/csign.schema.json" ] || fail "no docs/json under share/doc/csign"
    # What only the Debian package needs stays out of an install from source.
    if [ -e "$doc/copyright" ] || [ -e "$doc/changelog.gz" ]; then
        fail "Debian-only files installed under share/doc/csign"
    fi
    # Every file went under the prefix, none to an absolute path outside it.
    [ -s "$BUILD/install_manifest.txt" ] || fail "cmake --install wrote no install_manifest.txt"
    if grep -v -- "^$p/" "$BUILD/install_manifest.txt" >"$CASE/outside"; then
        fail "installed outside the prefix: $(tr '\n' ' ' <"$CASE/outside")"
    fi
}

t_deb_has_no_lintian_error() {
    packaging_here || return 0
    need_deb
    # Warnings are printed, errors fail the test (or are overridden, with
    # the reason, in packaging/debian/lintian-overrides).
    lintian --no-cfg "$DEB" >"$CASE/lintian" 2>"$CASE/lintian.err"
    local rc=$?
    sed 's/^/    lintian: /' "$CASE/lintian"
    if grep -q '^E:' "$CASE/lintian"; then
        fail "lintian errors: $(grep '^E:' "$CASE/lintian" | tr '\n' ' ')"
    fi
    [ "$rc" -eq 0 ] || fail "lintian exited with $rc: $(cat "$CASE/lintian.err")"
}

t_deb_control_fields() {
    packaging_here || return 0
    need_deb
    local deps dep
    dpkg-deb -I "$DEB" >"$CASE/info" || fail "dpkg-deb -I cannot read the package"
    field() { dpkg-deb -f "$DEB" "$1"; }
    [ "$(field Package)" = csign ] || fail "Package is '$(field Package)'"
    [ "$(field Version)" = "$PROJECT_VERSION" ] ||
        fail "Version is '$(field Version)', project(csign VERSION) is $PROJECT_VERSION"
    [ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
        fail "Architecture is '$(field Architecture)'"
    [[ $(field Maintainer) == *?' <'?*@?*'>' ]] || fail "Maintainer is '$(field Maintainer)'"
    [ "$(field Section)" = utils ] || fail "Section is '$(field Section)'"
    [ "$(field Priority)" = optional ] || fail "Priority is '$(field Priority)'"
    [[ $(field Homepage) == http*://* ]] || fail "Homepage is '$(field Homepage)'"
    grep -q '^ Description: .*PKCS#11' "$CASE/info" || fail "no Description"
    [ "$(dpkg-deb -f "$DEB" Description | wc -l)" -gt 2 ] || fail "no extended Description"
    # Depends: the libraries dpkg-shlibdeps found (the names may carry the
    # t64 suffix of the 64-bit time_t transition), and what csign loads
    # with dlopen.
    deps=$(field Depends | tr ',' '\n' | sed -E 's/^ *//; s/ .*//')
    for dep in libc6 'libssl3(t64)?' 'libp11-kit0(t64)?' 'libjansson4(t64)?' 'libinih1(t64)?' \
        'libcurl4(t64)?' p11-kit-modules; do
        grep -qxE "$dep" <<<"$deps" || fail "Depends lacks $dep: $(field Depends)"
    done
    grep -qE '^libssl3(t64)? *\(>= *3' < <(field Depends | tr ',' '\n' | sed 's/^ *//') ||
        fail "libssl3 without a version from dpkg-shlibdeps: $(field Depends)"
    [ "$(field Recommends)" = softhsm2 ] || fail "Recommends is '$(field Recommends)'"
}

t_deb_files_modes_and_debian_docs() {
    packaging_here || return 0
    need_deb
    local root=$CASE/root
    dpkg-deb -c "$DEB" >"$CASE/list" || fail "dpkg-deb -c cannot list the package"
    awk '$2 != "root/root" {print; bad = 1} END {exit bad}' "$CASE/list" >"$CASE/bad" ||
        fail "files not owned by root: $(cat "$CASE/bad")"
    awk '/^d/ && $1 != "drwxr-xr-x" {print; bad = 1}
         /^-/ && $6 == "./usr/bin/csign" && $1 != "-rwxr-xr-x" {print; bad = 1}
         /^-/ && $6 != "./usr/bin/csign" && $1 != "-rw-r--r--" {print; bad = 1}
         END {exit bad}' "$CASE/list" >"$CASE/bad" || fail "unusual modes: $(cat "$CASE/bad")"
    for f in usr/bin/csign usr/share/doc/csign/copyright usr/share/doc/csign/changelog.gz \
        usr/share/doc/csign/README.md usr/share/doc/csign/docs/sign.md \
        usr/share/man/man1/csign.1.gz usr/share/man/man1/csign-sign.1.gz \
        usr/share/man/man5/csign-config.5.gz usr/share/bash-completion/completions/csign \
        usr/share/zsh/vendor-completions/_csign usr/share/fish/vendor_completions.d/csign.fish; do
        grep -qE " \./$f( |$)" "$CASE/list" || fail "the package lacks /$f"
    done
    # Man pages are compressed.
    if grep -E ' \./usr/share/man/.*[^z]$' "$CASE/list" | grep -v '^d' >"$CASE/bad"; then
        fail "uncompressed man pages: $(cat "$CASE/bad")"
    fi
    dpkg -x "$DEB" "$root" || fail "dpkg -x failed"
    if command -v readelf >/dev/null; then
        ! readelf -S "$root/usr/bin/csign" | grep -qE '\.symtab|\.debug_' ||
            fail "usr/bin/csign is not stripped"
    fi
    # Nothing in it names the folder it was built in (the same tree builds
    # the same binary wherever it is checked out).
    ! grep -qaF -- "$SRC/" "$root/usr/bin/csign" || fail "usr/bin/csign holds the source folder's path"
    zcat "$root/usr/share/doc/csign/changelog.gz" | head -n 1 >"$CASE/first"
    grep -q "^csign ($PROJECT_VERSION) " "$CASE/first" ||
        fail "changelog starts with '$(cat "$CASE/first")', not version $PROJECT_VERSION"
    grep -q '^License: Apache-2.0' "$root/usr/share/doc/csign/copyright" || fail "copyright"
}

t_deb_extracted_binary_signs_and_verifies() {
    packaging_here || return 0
    need_deb
    local root=$CASE/root
    dpkg -x "$DEB" "$root" || fail "dpkg -x failed"
    # From here on `run csign` is the packaged binary.
    CSIGN_BIN=$root/usr/bin/csign
    run csign --version
    expect_rc 0
    expect_out "csign $(dpkg-deb -f "$DEB" Version) "
    signing_key
    head -c 100000 /dev/urandom >"$CASE/release.tar"
    run CSIGN_PIN="$USER_PIN" csign sign --key "$KEY" "$CASE/release.tar"
    expect_rc 0
    expect_out "signed $CASE/release.tar -> $CASE/release.tar.p7s"
    run csign verify --trust "$CASE/root.pem" "$CASE/release.tar"
    expect_rc 0
    openssl cms -verify -binary -inform DER -in "$CASE/release.tar.p7s" \
        -content "$CASE/release.tar" -CAfile "$CASE/root.pem" -purpose any -out /dev/null \
        2>"$CASE/ossl.err" || fail "openssl rejects the signature: $(cat "$CASE/ossl.err")"
    echo x >>"$CASE/release.tar"
    run csign verify --trust "$CASE/root.pem" "$CASE/release.tar"
    expect_rc 1
}

run_tests
