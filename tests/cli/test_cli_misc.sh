#!/usr/bin/env bash
# Everyday command-line use: typo suggestions, --help layout and examples,
# timestamp reruns, digest --json, init-token PIN dialogs, the built-in store.
. "$(dirname "$0")/lib.sh"

COMMANDS="init-token list keygen csr selfsign import-cert sign verify digest timestamp"

t_unknown_command_suggests() {
    run csign sgin a.bin
    expect_rc 2
    expect_err "csign: unknown command 'sgin'; did you mean 'sign'? Try 'csign --help'."
    run csign help verfy
    expect_rc 2
    expect_err "unknown command 'verfy'; did you mean 'verify'?"
}

t_unknown_command_far_has_no_suggestion() {
    run csign frobnicate
    expect_rc 2
    expect_err "csign: unknown command 'frobnicate'. Try 'csign --help'."
    expect_no_err "did you mean"
}

t_unknown_option_suggests() {
    run csign sign --kye 'pkcs11:token=dev;object=k' a.bin
    expect_rc 2
    expect_err "csign: sign: unknown option '--kye'; did you mean '--key'? Try 'csign sign --help'."
    expect_one_error_line sign
    # A glued value is not repeated (it may be a secret).
    run csign verify --trsut=s3cret a.bin
    expect_rc 2
    expect_err "unknown option '--trsut'; did you mean '--trust'?"
    expect_secret_absent s3cret
    # Before the command too.
    run csign --verbsoe list
    expect_rc 2
    expect_err "unknown option '--verbsoe'; did you mean '--verbose'? Try 'csign --help'."
}

t_unknown_option_far_has_no_suggestion() {
    run csign list --frobnicate
    expect_rc 2
    expect_err "unknown option '--frobnicate'. Try 'csign list --help'."
    expect_no_err "did you mean"
}

run_tests
