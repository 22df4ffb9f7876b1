# bash completion for csign                                  -*- shell-script -*-
# SPDX-License-Identifier: Apache-2.0
#
# Commands and options are read from `csign --help` and `csign CMD --help`
# (once per shell session, then cached), so options added to csign complete
# without changing this file. Values that are fixed lists (key types,
# digests, PIN source kinds, policies) are listed here. pkcs11: URIs come from
# `csign list --json` only once the word starts with "pkcs11:"; that listing
# never logs in and gives up after CSIGN_COMPLETE_TIMEOUT seconds (default 2).
# See docs/completion.md.

# shellcheck disable=SC2207 # compgen -W words have no blanks

_csign_key_types="ec:p256 ec:p384 ec:p521 rsa:2048 rsa:3072 rsa:4096"
_csign_digests="sha256 sha384 sha512"
_csign_pin_kinds="env: fd: file: prompt"
_csign_policies="cabf none"

declare -gA _csign_opt_cache 2>/dev/null || declare -A _csign_opt_cache
_csign_r=""

# The csign binary the line runs (./build/csign as well as csign on PATH).
_csign_bin() {
    local b=${COMP_WORDS[0]:-csign}
    # shellcheck disable=SC2088 # the word holds a literal "~/"
    [[ $b == "~/"* ]] && b=$HOME/${b#"~/"}
    if [[ $b == */* ]]; then
        [[ -x $b ]] && printf '%s\n' "$b" && return
    fi
    type -P csign
}

# These helpers run in the completing shell itself (not in $(...)), so that
# what they read stays in the cache; each leaves its answer in _csign_r.

# Command names from the "Commands:" part of `csign --help`.
_csign_commands() {
    local bin=$1 key="$1|:commands"
    if [[ -z ${_csign_opt_cache[$key]+set} ]]; then
        _csign_opt_cache[$key]=$(env -u CSIGN_PIN -u CSIGN_SO_PIN "$bin" --help 2>/dev/null </dev/null |
            sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p' | tr '\n' ' ')
        _csign_opt_cache[$key]+="help"
    fi
    _csign_r=${_csign_opt_cache[$key]}
}

# The options of CMD (or of csign itself without CMD) from its --help, one
# per line as "--name ARG" ("--name" for flags), short forms as "-x ARG".
_csign_options() {
    local bin=$1 cmd=$2 key="$1|$2"
    if [[ -z ${_csign_opt_cache[$key]+set} ]]; then
        local args=(--help)
        [[ -n $cmd ]] && args=("$cmd" --help)
        _csign_opt_cache[$key]=$(env -u CSIGN_PIN -u CSIGN_SO_PIN "$bin" "${args[@]}" 2>/dev/null </dev/null |
            sed -n '/^Options:/,/^Examples:/p' |
            sed -n -E 's/^  (-([A-Za-z0-9]), |    )--([A-Za-z0-9][A-Za-z0-9-]*)( ([^ ]+))?( .*)?$/--\3 \5\n-\2 \5/p' |
            sed -E 's/ +$//; /^-( |$)/d')
    fi
    _csign_r=${_csign_opt_cache[$key]}
}

# The argument name of option OPT of CMD ("" for a flag, "?" when unknown).
_csign_opt_arg() {
    local line lines
    _csign_options "$1" "$2"
    mapfile -t lines <<<"$_csign_r"
    for line in "${lines[@]}"; do
        if [[ ${line%% *} == "$3" ]]; then
            _csign_r=""
            [[ $line == *" "* ]] && _csign_r=${line#* }
            return 0
        fi
    done
    _csign_r="?"
}

# Candidate pkcs11: URIs of token, key and certificate objects, from a listing
# that does not log in: no PIN variable, nothing on stdin, a short timeout.
# The --module, --config and --profile given on the line are passed on.
_csign_uris() {
    local bin=$1 what=$2 i extra=()
    for ((i = 1; i < ${#words[@]} - 1; i++)); do
        case ${words[i]} in
        --module | --config | --profile) extra+=("${words[i]}" "${words[i + 1]}") ;;
        --module=* | --config=* | --profile=*) extra+=("${words[i]}") ;;
        esac
    done
    local t=${CSIGN_COMPLETE_TIMEOUT:-2}
    env -u CSIGN_PIN -u CSIGN_SO_PIN timeout -k 1 "$t" "$bin" list --json "${extra[@]}" \
        </dev/null 2>/dev/null |
        grep -o '"\(uri\|key_uri\)": *"pkcs11:[^"]*"' | sed 's/^[^:]*: *"//; s/"$//' |
        case $what in
        key) grep ';type=private' ;;
        cert) grep ';type=cert' ;;
        *) grep -v ';type=' ;;
        esac | sort -u
}

# Removes from each COMPREPLY entry the part of the word before the last
# character that splits words for readline (":", "=", ";" when unescaped),
# as readline replaces only the text after it.
_csign_trim_breaks() {
    local w=$1 i c cut=-1 n=${#1}
    for ((i = 0; i < n; i++)); do
        c=${w:i:1}
        if [[ $c == \\ ]]; then
            ((i++))
            continue
        fi
        [[ $c == [=:\;] && $COMP_WORDBREAKS == *"$c"* ]] && cut=$i
    done
    ((cut < 0)) && return
    local pre=${w:0:cut+1} k
    for k in "${!COMPREPLY[@]}"; do
        COMPREPLY[k]=${COMPREPLY[k]#"$pre"}
    done
}

# Completes a pkcs11: URI in cur; only "pkcs11:" itself until the user has
# typed it. what: key, cert or token.
_csign_complete_uri() {
    local bin=$1 what=$2 quote=""
    local w=$cur
    if [[ $w == [\'\"]* ]]; then
        quote=${w:0:1}
        w=${w:1}
    fi
    if [[ $w != pkcs11:* ]]; then
        [[ pkcs11: == "$w"* ]] && COMPREPLY+=("pkcs11:") && compopt -o nospace 2>/dev/null
        [[ -n $quote ]] || _csign_trim_breaks "$w"
        return
    fi
    local uri u
    while IFS= read -r uri; do
        if [[ -z $quote ]]; then
            u=${uri//;/\\;}
        else
            u=$uri
        fi
        [[ $u == "$w"* ]] && COMPREPLY+=("$u")
    done < <(_csign_uris "$bin" "$what")
    [[ -n $quote ]] || _csign_trim_breaks "$w"
}

# Completes the value of option opt (argument name arg) of command cmd.
_csign_complete_value() {
    local bin=$1 cmd=$2 opt=$3 arg=$4
    case $opt in
    --type)
        [[ $cmd == keygen ]] && COMPREPLY=($(compgen -W "$_csign_key_types" -- "$cur"))
        _csign_trim_breaks "$cur"
        return
        ;;
    --digest | --md | --tsa-digest)
        COMPREPLY=($(compgen -W "$_csign_digests" -- "$cur"))
        return
        ;;
    --policy)
        COMPREPLY=($(compgen -W "$_csign_policies" -- "$cur"))
        return
        ;;
    --digest-hex)
        local d
        for d in $_csign_digests; do [[ $d: == "$cur"* ]] && COMPREPLY+=("$d:"); done
        compopt -o nospace 2>/dev/null
        _csign_trim_breaks "$cur"
        return
        ;;
    --pin-source | --so-pin-source)
        case $cur in
        file:*)
            local p=${cur#file:}
            mapfile -t COMPREPLY < <(compgen -f -- "$p")
            compopt -o filenames 2>/dev/null
            [[ $COMP_WORDBREAKS == *:* ]] || COMPREPLY=("${COMPREPLY[@]/#/file:}")
            ;;
        env:*)
            local p=${cur#env:}
            COMPREPLY=($(compgen -e -- "$p"))
            [[ $COMP_WORDBREAKS == *:* ]] || COMPREPLY=("${COMPREPLY[@]/#/env:}")
            ;;
        fd:*) ;;
        *)
            COMPREPLY=($(compgen -W "$_csign_pin_kinds" -- "$cur"))
            [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
            _csign_trim_breaks "$cur"
            ;;
        esac
        return
        ;;
    --module)
        _filedir so
        return
        ;;
    --out-dir)
        _filedir -d
        return
        ;;
    esac
    case $arg in
    URI)
        _csign_complete_uri "$bin" "$([[ $cmd == keygen ]] && echo token || echo key)"
        ;;
    "FILE|URI")
        if [[ $cur == pkcs11:* || $cur == [\'\"]pkcs11:* ]]; then
            _csign_complete_uri "$bin" cert
        else
            _filedir
            [[ pkcs11: == "$cur"* && -n $cur ]] && COMPREPLY+=("pkcs11:") && compopt -o nospace 2>/dev/null
        fi
        ;;
    FILE | PATH | SIG) _filedir ;;
    DIR) _filedir -d ;;
    *) ;; # numbers, names, URLs, times: nothing to offer
    esac
}

_csign() {
    local cur prev words cword
    # ":" and "=" belong to words here (pkcs11:token=dev, env:NAME).
    _init_completion -n =: || return

    local bin
    bin=$(_csign_bin) || return
    [[ -n $bin ]] || return

    # The command is the first word that is not an option.
    local i cmd="" cmdi=0
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} != -* ]]; then
            cmd=${words[i]}
            cmdi=$i
            break
        fi
    done

    # --opt=value
    local opt="" arg joined=""
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*}
        cur=${cur#*=}
        joined=1
    elif [[ $prev == -* && $cword -gt 1 ]]; then
        opt=$prev
    fi
    if [[ -n $opt ]]; then
        _csign_opt_arg "$bin" "$cmd" "$opt"
        arg=$_csign_r
        if [[ -n $arg && $arg != "?" ]]; then
            _csign_complete_value "$bin" "$cmd" "$opt" "$arg"
            return
        fi
        [[ -z $joined ]] || return # --flag=... takes no value
    fi

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            _csign_options "$bin" ""
            COMPREPLY=($(compgen -W "$(cut -d' ' -f1 <<<"$_csign_r")" -- "$cur"))
        else
            _csign_commands "$bin"
            COMPREPLY=($(compgen -W "$_csign_r" -- "$cur"))
        fi
        return
    fi

    if [[ $cmd == help ]]; then
        if ((cword == cmdi + 1)); then
            _csign_commands "$bin"
            COMPREPLY=($(compgen -W "$_csign_r" -- "$cur"))
        fi
        return
    fi

    if [[ $cur == -* ]]; then
        local o=() line lines
        _csign_options "$bin" "$cmd"
        mapfile -t lines <<<"$_csign_r"
        for line in "${lines[@]}"; do
            [[ -n $line ]] && o+=("${line%% *}")
        done
        COMPREPLY=($(compgen -W "${o[*]}" -- "$cur"))
        return
    fi

    # Operands: files (the files to sign, verify, digest or timestamp).
    _filedir
}

complete -F _csign csign
