# fish completion for csign
# SPDX-License-Identifier: Apache-2.0
#
# Commands and options are read from `csign --help` and `csign CMD --help`
# (once per shell session, then cached), so options added to csign complete
# without changing this file. pkcs11: URIs come from `csign list --json` only
# once the word starts with "pkcs11:"; that listing never logs in and gives
# up after CSIGN_COMPLETE_TIMEOUT seconds (default 2). See
# docs/completion.md.

function __csign_bin
    set -l tokens (commandline -opc)
    set -l b $tokens[1]
    if string match -q '*/*' -- $b; and test -x $b
        echo $b
    else
        command -s csign
    end
end

# Cached output of `csign ARGS --help` in a global variable per binary and
# command.
function __csign_help
    set -l bin $argv[1]
    set -l cmd $argv[2]
    set -l var __csign_help_(string escape --style=var -- "$bin|$cmd")
    if not set -q $var
        if test -n "$cmd"
            set -g $var (env -u CSIGN_PIN -u CSIGN_SO_PIN $bin $cmd --help 2>/dev/null </dev/null)
        else
            set -g $var (env -u CSIGN_PIN -u CSIGN_SO_PIN $bin --help 2>/dev/null </dev/null)
        end
    end
    printf '%s\n' $$var
end

# The command of the line: the first word after csign that is not an option.
function __csign_cmd
    for w in (commandline -opc)[2..-1]
        if not string match -q -- '-*' $w
            echo $w
            return 0
        end
    end
    return 1
end

function __csign_commands
    # No csign program (an alias or function is not one): nothing to offer.
    set -l bin (__csign_bin); or return
    __csign_help $bin '' | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\)  *\(.*\)/\1\t\2/p'
    printf 'help\tshow the help of a command\n'
end

# "--name ARG<TAB>description", short forms as "-x ARG<TAB>description".
function __csign_option_lines
    set -l cmd (__csign_cmd)
    set -l bin (__csign_bin); or return
    __csign_help $bin "$cmd" | sed -n '/^Options:/,/^Examples:/p' |
        sed -n -E 's/^  (-([A-Za-z0-9]), |    )--([A-Za-z0-9][A-Za-z0-9-]*)( ([^ ]+))? +(.*)$/--\3 \5\t\6\n-\2 \5\t\6/p' |
        sed -E 's/ +\t/\t/; /^-( |\t)/d'
end

function __csign_options
    __csign_option_lines | sed -E 's/^([^ \t]*)[^\t]*/\1/'
end

# The argument name of the option before the cursor ("" for a flag or
# anything else).
function __csign_prev_arg
    set -l prev (commandline -opc)[-1]
    string match -q -- '-*' $prev; or return 1
    for line in (__csign_option_lines)
        set -l head (string split -m1 \t -- $line)[1]
        set -l parts (string split -m1 ' ' -- $head)
        if test "$parts[1]" = "$prev"
            test (count $parts) -gt 1; or return 1
            echo $parts[2]
            return 0
        end
    end
    return 1
end

function __csign_wants_value
    set -l arg (__csign_prev_arg); or return 1
    test -n "$arg"
end

function __csign_prev_is
    set -l prev (commandline -opc)[-1]
    contains -- $prev $argv
end

function __csign_uris
    set -l what $argv[1]
    set -l cur (commandline -ct)
    if not string match -q -- 'pkcs11:*' $cur
        echo pkcs11:
        return
    end
    set -l tokens (commandline -opc)
    set -l extra
    for i in (seq 2 (math (count $tokens) - 1))
        switch $tokens[$i]
            case --module --config --profile
                set -a extra $tokens[$i] $tokens[(math $i + 1)]
            case '--module=*' '--config=*' '--profile=*'
                set -a extra $tokens[$i]
        end
    end
    set -l t 2
    set -q CSIGN_COMPLETE_TIMEOUT; and set t $CSIGN_COMPLETE_TIMEOUT
    set -l bin (__csign_bin); or return
    set -l uris (env -u CSIGN_PIN -u CSIGN_SO_PIN timeout -k 1 $t $bin list --json $extra \
        </dev/null 2>/dev/null | grep -o '"\(uri\|key_uri\)": *"pkcs11:[^"]*"' |
        sed 's/^[^:]*: *"//; s/"$//' | sort -u)
    switch $what
        case key
            string match -- '*;type=private' $uris
        case cert
            string match -- '*;type=cert' $uris
        case '*'
            string match -v -- '*;type=*' $uris
    end
end

function __csign_value
    set -l prev (commandline -opc)[-1]
    set -l cmd (__csign_cmd)
    set -l arg (__csign_prev_arg)
    set -l cur (commandline -ct)
    switch $prev
        case --type
            test "$cmd" = keygen; and printf '%s\n' ec:p256 ec:p384 ec:p521 rsa:2048 rsa:3072 rsa:4096
            return
        case --digest --md --tsa-digest
            printf '%s\n' sha256 sha384 sha512
            return
        case --policy
            printf '%s\n' cabf none
            return
        case --digest-hex
            printf '%s\n' sha256: sha384: sha512:
            return
        case --pin-source --so-pin-source
            switch $cur
                case 'file:*'
                    __fish_complete_path (string replace -r '^file:' '' -- $cur) | sed 's/^/file:/'
                case 'env:*'
                    # Only what csign inherits: exported variables.
                    set -xn | string replace -r '^' 'env:'
                case 'fd:*'
                case '*'
                    printf '%s\n' env: fd: file: prompt
            end
            return
        case --module
            __fish_complete_suffix .so
            return
        case --out-dir
            __fish_complete_directories $cur
            return
    end
    switch $arg
        case URI
            if test "$cmd" = keygen
                __csign_uris token
            else
                __csign_uris key
            end
        case 'FILE|URI'
            if string match -q -- 'pkcs11:*' $cur
                __csign_uris cert
            else
                __fish_complete_path $cur
                echo pkcs11:
            end
        case FILE PATH SIG
            __fish_complete_path $cur
        case DIR
            __fish_complete_directories $cur
    end
end

complete -c csign -e
complete -c csign -f
complete -c csign -n 'not __csign_cmd; and not __csign_wants_value' -a '(__csign_commands)'
complete -c csign -n '__csign_cmd; and not __csign_wants_value; and not __csign_prev_is help' -F
complete -c csign -n '__csign_prev_is help' -a '(__csign_commands)'
complete -c csign -n 'not __csign_wants_value; and string match -q -- "-*" (commandline -ct)' \
    -a '(__csign_option_lines | sed -E "s/^([^ \t]*)[^\t]*/\1/")'
complete -c csign -n __csign_wants_value -x -a '(__csign_value)'
