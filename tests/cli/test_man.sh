#!/usr/bin/env bash
# Man pages: docs/man/*.scd, turned into roff by scdoc (cmake/Man.cmake).
# Every command has a page; the options of each page are exactly those of
# the command's --help; the keys of csign-config(5) are those the
# configuration code accepts; every page renders without warnings.
. "$(dirname "$0")/lib.sh"

MAN_SRC=$CSIGN_TESTS/../docs/man
CONFIG_C=$CSIGN_TESTS/../src/cli/config.c
BUILD=$(dirname "$CSIGN_BIN")

need_scdoc() {
    command -v scdoc >/dev/null ||
        fail "scdoc is not installed, so no man page is built; run scripts/install-deps.sh, then cmake again"
}

# render PAGE WIDTH: the page as plain text, as man shows it (hyphens and
# minus signs as ASCII, whatever the locale).
render() {
    if command -v groff >/dev/null; then
        groff -man -Tutf8 -rLL="$2"n -P-cbou "$1" 2>/dev/null
    elif command -v mandoc >/dev/null; then
        mandoc -Tutf8 -Owidth="$2" "$1" | col -bx
    else
        MANWIDTH=$2 man -l "$1" 2>/dev/null | col -bx
    fi | sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g'
}

# render_warnings PAGE: what the formatter says about the page.
render_warnings() {
    if command -v man >/dev/null; then
        { MANWIDTH=80 man --warnings -l "$1" >/dev/null; } 2>&1
    elif command -v groff >/dev/null; then
        groff -man -Tutf8 -ww -z "$1" 2>&1
    else
        mandoc -Tlint -Wwarning "$1" 2>&1
    fi
}

# build_pages DIR: roff pages from the sources of docs/man (or from the
# sources in $2), as the build makes them.
build_pages() {
    local src=${2:-$MAN_SRC} f
    mkdir -p "$1"
    for f in "$src"/*.scd; do
        scdoc <"$f" >"$1/$(basename "$f" .scd)" 2>"$CASE/scdoc.err" ||
            fail "scdoc rejects $(basename "$f"): $(cat "$CASE/scdoc.err")"
    done
}

# page_opts PAGE SECTION: the options a page documents, one per line, as
# "-s, --long" or "--long": the terms of its SECTION (OPTIONS).
page_opts() {
    render "$1" 200 | awk -v s="$2" '/^[A-Z]/ {on = ($0 == s); next} on' |
        grep -oE '^       (-[a-zA-Z0-9], )?--[a-z0-9][a-z0-9-]*' | sed 's/^ *//' | sort -u
}

# help_opts [CMD]: the options `csign [CMD] --help` lists, in the same form.
help_opts() {
    "$CSIGN_BIN" "$@" --help | grep -oE '^ +(-[a-zA-Z0-9], )?--[a-z0-9][a-z0-9-]*' |
        sed 's/^ *//' | sort -u
}

help_commands() {
    "$CSIGN_BIN" --help | awk '/^Commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'
}

# compare WHAT HELP PAGE: prints one line per option that is in one list
# and not the other.
compare() {
    local what=$1
    comm -23 "$2" "$3" | sed "s|^|$what: --help has '|; s|\$|' but the man page does not|"
    comm -13 "$2" "$3" | sed "s|^|$what: the man page has '|; s|\$|' but --help does not|"
}

# check_options DIR: every command's options against its page in DIR, and
# the global options against csign.1; prints the differences.
check_options() {
    local dir=$1 cmd
    help_opts >"$CASE/help.txt"
    page_opts "$dir/csign.1" OPTIONS >"$CASE/page.txt"
    compare "csign" "$CASE/help.txt" "$CASE/page.txt"
    for cmd in $(help_commands); do
        if [ ! -f "$dir/csign-$cmd.1" ]; then
            echo "$cmd: no man page csign-$cmd.1"
            continue
        fi
        help_opts "$cmd" >"$CASE/help.txt"
        page_opts "$dir/csign-$cmd.1" OPTIONS >"$CASE/page.txt"
        [ -s "$CASE/help.txt" ] || echo "$cmd: no option found in --help"
        compare "csign $cmd" "$CASE/help.txt" "$CASE/page.txt"
    done
}

t_pages_build_from_source() {
    need_scdoc
    build_pages "$CASE/man"
    [ -s "$CASE/man/csign.1" ] || fail "no csign.1"
    [ -s "$CASE/man/csign-config.5" ] || fail "no csign-config.5"
}

t_build_makes_and_installs_pages() {
    need_scdoc
    local f page missing=""
    [ -f "$BUILD/cmake_install.cmake" ] || fail "no build folder next to $CSIGN_BIN"
    for f in "$MAN_SRC"/*.scd; do
        page=$(basename "$f" .scd)
        [ -s "$BUILD/man/$page" ] || missing="$missing $page"
    done
    [ -z "$missing" ] || fail "not built into $BUILD/man:$missing (scdoc missing when cmake ran? run scripts/install-deps.sh, then cmake again)"
    # DESTDIR too: files installed to absolute paths stay inside the case.
    DESTDIR=$CASE/root cmake --install "$BUILD" --prefix /usr >"$CASE/install.log" 2>&1 ||
        fail "cmake --install failed: $(tail -3 "$CASE/install.log")"
    for f in "$MAN_SRC"/*.scd; do
        page=$(basename "$f" .scd)
        [ -s "$CASE/root/usr/share/man/man${page##*.}/$page" ] || missing="$missing $page"
    done
    [ -z "$missing" ] || fail "not installed under share/man:$missing"
}

t_every_command_has_a_page_and_no_other() {
    need_scdoc
    local cmd f name cmds extra="" missing=""
    cmds=$(help_commands)
    [ "$(wc -w <<<"$cmds")" -ge 10 ] || fail "commands not found in --help: $cmds"
    for cmd in $cmds; do
        [ -f "$MAN_SRC/csign-$cmd.1.scd" ] || missing="$missing $cmd"
    done
    [ -z "$missing" ] || fail "commands without a page in docs/man:$missing"
    for f in "$MAN_SRC"/csign-*.1.scd; do
        name=$(basename "$f" .1.scd)
        grep -qxF -- "${name#csign-}" <<<"$cmds" || extra="$extra $name"
    done
    [ -z "$extra" ] || fail "pages for commands csign --help does not list:$extra"
    # csign(1) names every command, and links to its page.
    build_pages "$CASE/man"
    render "$CASE/man/csign.1" 200 >"$CASE/csign.txt"
    for cmd in $cmds; do
        grep -qF -- "csign-$cmd(1)" "$CASE/csign.txt" || missing="$missing $cmd"
    done
    [ -z "$missing" ] || fail "csign(1) does not refer to:$missing"
}

t_options_match_help() {
    need_scdoc
    build_pages "$CASE/man"
    check_options "$CASE/man" >"$CASE/diff.txt"
    [ ! -s "$CASE/diff.txt" ] || fail "man pages and --help differ:
$(cat "$CASE/diff.txt")"
}

# The check above must see an option a page lacks, one it has too many, and
# a short option that is missing.
t_options_check_catches_drift() {
    need_scdoc
    cp -r "$MAN_SRC" "$CASE/src"
    # Drop --pss from sign's page; give verify's page a --frobnicate.
    awk '/^\*--pss\*$/ {skip = 1; next} skip && /^\t/ {next} {skip = 0; print}' \
        "$MAN_SRC/csign-sign.1.scd" >"$CASE/src/csign-sign.1.scd"
    awk '{print} /^# OPTIONS$/ {print ""; print "*--frobnicate*"; print "\tNot an option."}' \
        "$MAN_SRC/csign-verify.1.scd" >"$CASE/src/csign-verify.1.scd"
    sed -i 's/^\*-o\*, \*--out\* _FILE_$/*--out* _FILE_/' "$CASE/src/csign-csr.1.scd"
    sed -i 's/^\*-V\*, \*--version\*$/*--version*/' "$CASE/src/csign.1.scd"
    rm "$CASE/src/csign-digest.1.scd"
    build_pages "$CASE/drift" "$CASE/src"
    check_options "$CASE/drift" >"$CASE/diff.txt"
    grep -qF "csign sign: --help has '--pss' but the man page does not" "$CASE/diff.txt" ||
        fail "a missing option is not caught: $(cat "$CASE/diff.txt")"
    grep -qF "csign verify: the man page has '--frobnicate' but --help does not" "$CASE/diff.txt" ||
        fail "an extra option is not caught: $(cat "$CASE/diff.txt")"
    grep -qF "csign csr: --help has '-o, --out'" "$CASE/diff.txt" ||
        fail "a missing short option is not caught: $(cat "$CASE/diff.txt")"
    grep -qF "csign: --help has '-V, --version'" "$CASE/diff.txt" ||
        fail "a missing global short option is not caught: $(cat "$CASE/diff.txt")"
    grep -qF "digest: no man page csign-digest.1" "$CASE/diff.txt" ||
        fail "a missing page is not caught: $(cat "$CASE/diff.txt")"
    [ "$(wc -l <"$CASE/diff.txt")" -eq 7 ] || fail "unexpected differences: $(cat "$CASE/diff.txt")"
}

t_pages_render_without_warnings() {
    need_scdoc
    local page out bad=""
    build_pages "$CASE/man"
    for page in "$CASE"/man/*; do
        out=$(render_warnings "$page")
        [ -z "$out" ] || bad="$bad
$(basename "$page"): $out"
        [ "$(render "$page" 80 | wc -l)" -gt 20 ] || bad="$bad
$(basename "$page"): renders to almost nothing"
    done
    [ -z "$bad" ] || fail "pages render with warnings:$bad"
}

# The keys csign-config(5) documents are exactly the settings config.c
# accepts; the options it names as not settings are those config.c refuses.
t_config_keys_match_code() {
    need_scdoc
    local code page word missing=""
    build_pages "$CASE/man"
    code=$(awk '/^} settings\[\] = \{/ {on = 1; next} on && /^\};/ {on = 0} on' "$CONFIG_C" |
        grep -oE '^ *\{"[a-z0-9-]+", K_' | grep -oE '[a-z0-9-]+' | grep -v '^K$' | sort -u)
    [ "$(wc -w <<<"$code")" -ge 20 ] || fail "settings not found in src/cli/config.c: $code"
    render "$CASE/man/csign-config.5" 200 >"$CASE/config5.txt"
    page=$(awk '/^[A-Z]/ {on = ($0 == "KEYS"); next} on' "$CASE/config5.txt" |
        grep -oE '^       [a-z0-9-]+$' | sed 's/^ *//' | sort -u)
    [ "$code" = "$page" ] || fail "keys differ (< code, > csign-config.5):
$(diff <(echo "$code") <(echo "$page") | grep '^[<>]')"
    for word in $(awk '/not_settings\[\] = \{/ {on = 1; next} on && /\};/ {on = 0} on' "$CONFIG_C" |
        grep -oE '"[a-z0-9-]+"' | tr -d '"'); do
        grep -qE -- "(^|[ (,])${word}[,);.]" "$CASE/config5.txt" || missing="$missing $word"
    done
    [ -z "$missing" ] || fail "csign-config.5 does not name these refused keys:$missing"
}

run_tests
