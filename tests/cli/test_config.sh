#!/usr/bin/env bash
# Configuration files and profiles: settings written once (docs/config.md),
# their order and precedence, the errors that name file and line, and
# csign config.
. "$(dirname "$0")/lib.sh"

KEY='pkcs11:token=dev;object=rel'

# Every case reads only its own files: no system file, a user file under
# the case's HOME, no named file.
conf_env() {
    export CSIGN_SYSTEM_CONFIG=$CASE/etc-config XDG_CONFIG_HOME=$CASE/home/.config
    unset CSIGN_CONFIG CSIGN_PROFILE CSIGN_TOKEN_TIMEOUT
    mkdir -p "$CASE/home/.config/csign"
    USER_CONF=$CASE/home/.config/csign/config
    : >"$CASE/e"
}

# user_conf: the user file from standard input, mode 0600.
user_conf() {
    cat >"$USER_CONF"
    chmod 600 "$USER_CONF"
}

# A PIN file csign may read (0600).
pin_file() {
    printf '%s\n' "$USER_PIN" >"$CASE/pin"
    chmod 600 "$CASE/pin"
}

# The key, certificate and PIN source written once; sign and verify then
# need nothing but the file.
t_sign_and_verify_with_settings_from_the_user_file() {
    conf_env
    signing_key
    pin_file
    user_conf <<EOF
# written once
[default]
module = $SOFTHSM_MODULE
key = $KEY
pin-source = file:$CASE/pin
trust = $CASE/root.pem
EOF
    echo "release" >"$CASE/a.bin"
    run csign sign "$CASE/a.bin"
    expect_rc 0
    [ -s "$CASE/a.bin.p7s" ] || fail "no signature written"
    run csign verify "$CASE/a.bin"
    expect_rc 0
    # The same files without the settings: the options are really missing.
    run XDG_CONFIG_HOME=$CASE/none csign verify "$CASE/a.bin"
    expect_rc 2
    expect_err "--trust"
    # A URI on the command line beats the file's pin-source.
    sed -i "s#^pin-source = .*#pin-source = file:$CASE/no-pin#" "$USER_CONF"
    run csign sign --force "$CASE/a.bin"
    expect_rc 4
    expect_err "no-pin"
    run csign sign --force --key "$KEY?pin-source=file:$CASE/pin" "$CASE/a.bin"
    expect_rc 0
}

# tsa and tsa-optional from a profile reach sign: a TSA that cannot be
# reached fails the run, unless the profile makes the timestamp optional.
t_tsa_settings_reach_sign() {
    conf_env
    signing_key
    pin_file
    user_conf <<EOF
[default]
key = $KEY
pin-source = file:$CASE/pin
[profile stamped]
tsa = http://127.0.0.1:1/
tsa-retries = 0
[profile optional]
tsa = http://127.0.0.1:1/
tsa-retries = 0
tsa-optional = yes
EOF
    echo x >"$CASE/a.bin"
    run csign sign --profile stamped "$CASE/a.bin"
    expect_rc 4
    [ ! -e "$CASE/a.bin.p7s" ] || fail "signature written without the timestamp"
    run CSIGN_PROFILE=optional csign sign "$CASE/a.bin"
    expect_rc 0
    expect_err "timestamp"
    [ -s "$CASE/a.bin.p7s" ] || fail "no signature written"
}

# option > environment > profile > [default], seen through csign config.
t_precedence() {
    conf_env
    user_conf <<EOF
[default]
module = /default/module.so
token-timeout = 11
digest = sha384
[profile p]
module = /profile/module.so
EOF
    run csign config --json
    expect_rc 0
    [ "$(jq -r '.settings[] | select(.key=="module") | .value' "$CASE/out")" = /default/module.so ] ||
        fail "[default] module not used"
    run csign config --json --profile p
    [ "$(jq -r '.settings[] | select(.key=="module") | .value' "$CASE/out")" = /profile/module.so ] ||
        fail "profile does not beat [default]"
    run CSIGN_MODULE=/env/module.so csign config --json --profile p
    [ "$(jq -r '.settings[] | select(.key=="module") | .source + " " + .value + " " + .variable' \
        "$CASE/out")" = "environment /env/module.so CSIGN_MODULE" ] ||
        fail "environment does not beat the profile"
    run CSIGN_MODULE=/env/module.so csign config --json --profile p --module /opt/module.so
    [ "$(jq -r '.settings[] | select(.key=="module") | .source + " " + .value' "$CASE/out")" = \
        "option /opt/module.so" ] || fail "option does not beat the environment"
    # The effect on a command: the option beats the file's value.
    run csign digest "$CASE/e"
    expect_rc 0
    expect_out "sha384:"
    run csign digest --digest sha512 "$CASE/e"
    expect_out "sha512:"
    # A bad value from a file is reported with its file and line; a
    # variable that is set beats it.
    printf '[default]\ntoken-timeout = soon\n' | user_conf
    run csign list
    expect_rc 2
    expect_err "$USER_CONF:2: "
    run CSIGN_TOKEN_TIMEOUT=5 csign list
    expect_rc 0
}

# Later files beat earlier ones: system, user, ./.csign, --config.
t_file_order() {
    conf_env
    printf '[default]\ndigest = sha256\n' >"$CASE/etc-config"
    chmod 644 "$CASE/etc-config"
    run csign digest "$CASE/e"
    expect_out "sha256:"
    printf '[default]\ndigest = sha384\n' | user_conf
    run csign digest "$CASE/e"
    expect_out "sha384:"
    printf '[default]\ndigest = sha512\n' >"$CASE/.csign"
    chmod 600 "$CASE/.csign"
    run csign digest "$CASE/e"
    expect_out "sha512:"
    printf '[default]\ndigest = sha256\n' >"$CASE/named"
    chmod 600 "$CASE/named"
    run csign digest --config "$CASE/named" "$CASE/e"
    expect_out "sha256:"
    run CSIGN_CONFIG=$CASE/named csign digest "$CASE/e"
    expect_out "sha256:"
}

t_profile_selection() {
    conf_env
    user_conf <<EOF
[default]
digest = sha256
[profile release]
digest = sha512
[profile dev]
EOF
    run csign digest "$CASE/e"
    expect_out "sha256:"
    run csign digest --profile release "$CASE/e"
    expect_out "sha512:"
    run CSIGN_PROFILE=release csign digest "$CASE/e"
    expect_out "sha512:"
    # An empty profile is still a profile: [default] applies.
    run csign digest --profile dev "$CASE/e"
    expect_rc 0
    expect_out "sha256:"
    # --profile beats CSIGN_PROFILE.
    run CSIGN_PROFILE=release csign digest --profile dev "$CASE/e"
    expect_out "sha256:"
}

# A flag set to false in a profile turns off [default]'s true.
t_flag_turned_off_by_profile() {
    conf_env
    new_token dev
    printf '[default]\njson = true\n[profile plain]\njson = no\n' | user_conf
    run csign list
    expect_rc 0
    jq -e '.tokens[0]' "$CASE/out" >/dev/null || fail "json = true not applied"
    run csign list --profile plain
    expect_rc 0
    expect_out "token 'dev'"
    expect_no_out '"tokens"'
}

t_unknown_profile() {
    conf_env
    printf '[default]\ndigest = sha256\n' | user_conf
    run csign digest --profile nosuch "$CASE/e"
    expect_rc 2
    expect_one_error_line digest
    expect_err "profile 'nosuch'"
    run CSIGN_PROFILE=nosuch csign config
    expect_rc 2
    expect_err "profile 'nosuch'"
}

t_unknown_key_names_file_and_line() {
    conf_env
    user_conf <<EOF
[default]
digest = sha256

kye = pkcs11:token=dev
EOF
    run csign digest "$CASE/e"
    expect_rc 2
    expect_one_error_line digest
    expect_err "$USER_CONF:4: unknown key 'kye'; did you mean 'key'?"
    # A key close to no setting is not given a guess.
    printf '[default]\nsigning-key = x\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "$USER_CONF:2: unknown key 'signing-key' (keys are"
    expect_no_err "did you mean"
    # A flag's near miss is named too.
    printf '[default]\ntsa-optinal = true\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "unknown key 'tsa-optinal'; did you mean 'tsa-optional'?"
    # A key that names one run, not a setting.
    printf '[default]\nforce = true\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "$USER_CONF:2: 'force' is not a setting"
    # A key outside a section, an unknown section, a line that is no key.
    printf 'digest = sha256\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "$USER_CONF:1: 'digest' is outside a section"
    printf '[defaults]\ndigest = sha256\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "$USER_CONF:2: unknown section [defaults]"
    printf '[default]\n\njust words\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "$USER_CONF:3: not a 'key = value' line"
    # A line longer than inih reads is refused, not cut.
    { echo '[default]'; printf 'key = pkcs11:object=%0300d\n' 0; } | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "$USER_CONF:2: line longer than"
    # A flag takes true or false only.
    printf '[default]\npem = maybe\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 2
    expect_err "$USER_CONF:2: 'pem' is a flag"
    # --help reads no file.
    run csign digest --help
    expect_rc 0
    expect_out "--config FILE"
}

t_pin_value_refused() {
    conf_env
    for k in pin so-pin user-pin; do
        printf '[default]\n%s = 987654\n' "$k" | user_conf
        run csign list
        expect_rc 2
        expect_one_error_line list
        expect_err "$USER_CONF:2: a PIN value is not allowed in a configuration file; use pin-source"
        expect_secret_absent 987654
    done
}

t_file_writable_by_others_refused() {
    conf_env
    printf '[default]\ndigest = sha384\n' | user_conf
    chmod 666 "$USER_CONF"
    run csign digest "$CASE/e"
    expect_rc 2
    expect_one_error_line digest
    expect_err "'$USER_CONF' is writable by others; chmod go-w"
    chmod 620 "$USER_CONF"
    run csign digest "$CASE/e"
    expect_rc 2
    chmod 644 "$USER_CONF"
    run csign digest "$CASE/e"
    expect_rc 0
    expect_out "sha384:"
}

# A file of another user (not root) is refused. Only root can make one.
t_file_of_another_user_refused() {
    conf_env
    [ "$(id -u)" -eq 0 ] || return 0
    printf '[default]\ndigest = sha384\n' | user_conf
    chown 65534 "$USER_CONF"
    run csign digest "$CASE/e"
    expect_rc 2
    expect_one_error_line digest
    expect_err "'$USER_CONF' is owned by another user (uid 65534)"
    chown 0 "$USER_CONF"
    run csign digest "$CASE/e"
    expect_rc 0
    expect_out "sha384:"
}

# A repeatable option may be repeated; a later layer replaces the list and
# the command line replaces them all.
t_repeated_trust() {
    conf_env
    user_conf <<EOF
[default]
trust = /a.pem
trust = /b.pem
[profile one]
trust = /c.pem
EOF
    run csign config verify --json
    expect_rc 0
    [ "$(jq -r '[.settings[] | select(.key=="trust") | "\(.value)@\(.line)"] | join(" ")' \
        "$CASE/out")" = "/a.pem@2 /b.pem@3" ] || fail "trust list from the file"
    run csign config verify --json --profile one
    [ "$(jq -r '[.settings[] | select(.key=="trust") | .value] | join(" ")' "$CASE/out")" = \
        /c.pem ] || fail "the profile does not replace the list"
    # Both files reach verify: the first one that cannot be read is named.
    echo data >"$CASE/f"
    run csign verify "$CASE/f"
    expect_rc 4
    expect_err "/a.pem"
    # Given on the command line, the files' list is not used at all.
    run csign verify --trust /z.pem "$CASE/f"
    expect_rc 4
    expect_err "/z.pem"
    expect_no_err "/a.pem"
}

# A setting applies only to commands that have the option.
t_setting_only_where_it_applies() {
    conf_env
    printf '[default]\ntrust = /a.pem\npem = true\n' | user_conf
    run csign digest "$CASE/e"
    expect_rc 0
    expect_out "sha256:"
    run csign config digest
    expect_rc 0
    expect_no_out "trust"
}

t_config_text_and_json() {
    conf_env
    user_conf <<EOF
[default]
key = $KEY
tsa = http://tsa.example.com/
tsa = http://tsa2.example.com/
pss = yes
EOF
    run csign config
    expect_rc 0
    expect_out "module = (SoftHSM2 with csign's own token store)  # default"
    expect_out "key = $KEY  # from $USER_CONF:2"
    expect_out "tsa = http://tsa2.example.com/  # from $USER_CONF:4"
    expect_out "pss = true  # from $USER_CONF:5"
    run csign config --json
    expect_rc 0
    jq -e '.schema == 1 and .command == "config" and .profile == null and
        (.settings | length) == 5 and
        (.settings[] | select(.key == "key") |
            .value == "'"$KEY"'" and .source == "file" and .line == 2 and .file == "'"$USER_CONF"'") and
        (.settings[0] | .key == "module" and .source == "default" and .value == null)' \
        "$CASE/out" >/dev/null || fail "csign config --json"
    run CSIGN_TOKEN_TIMEOUT=7 csign config sign
    expect_out "token-timeout = 7  # from environment CSIGN_TOKEN_TIMEOUT"
    # The PIN variable shows as the source that reads it, never its value.
    run CSIGN_PIN=24682468 csign config --json
    expect_secret_absent 24682468
    [ "$(jq -r '.settings[] | select(.key=="pin-source") | .value' "$CASE/out")" = env:CSIGN_PIN ] ||
        fail "pin-source from CSIGN_PIN"
    run csign config nosuch
    expect_rc 2
    expect_err "unknown command 'nosuch'"
}

t_missing_named_file() {
    conf_env
    run csign digest --config "$CASE/nope" "$CASE/e"
    expect_rc 4
    expect_one_error_line digest
    expect_err "'$CASE/nope' does not exist; check --config or CSIGN_CONFIG"
    run CSIGN_CONFIG=$CASE/nope csign config
    expect_rc 4
    # A folder is not a configuration file.
    run csign digest --config "$CASE" "$CASE/e"
    expect_rc 4
    expect_err "is not a regular file"
    # The usual files may be missing.
    run csign digest "$CASE/e"
    expect_rc 0
}

run_tests
