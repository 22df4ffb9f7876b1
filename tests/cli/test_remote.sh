#!/usr/bin/env bash
# Tokens behind p11-kit's RPC (docs/remote.md): csign loads p11-kit-client.so
# and reaches a SoftHSM token through 'p11-kit server' on a unix socket, or
# through a command running 'p11-kit remote' (as 'ssh host p11-kit remote'
# would); and what csign says when that server is gone.
. "$(dirname "$0")/lib.sh"

CLIENT_MODULE=""
for d in "$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)" \
    /usr/lib/x86_64-linux-gnu/pkcs11 /usr/lib/aarch64-linux-gnu/pkcs11 /usr/lib64/pkcs11; do
    if [ -n "$d" ] && [ -r "$d/p11-kit-client.so" ]; then CLIENT_MODULE=$d/p11-kit-client.so; break; fi
done
if [ -z "$CLIENT_MODULE" ] || ! command -v p11-kit >/dev/null; then
    echo "SKIP: p11-kit or p11-kit-client.so is missing (scripts/install-deps.sh installs them)"
    exit 77
fi

KEY='pkcs11:token=dev;object=rel'
SERVER_PID=""

ossl_verify() { # ossl_verify FILE SIG CAFILE
    openssl cms -verify -binary -inform DER -in "$2" -content "$1" -CAfile "$3" \
        -purpose any -out /dev/null 2>/dev/null
}

# stop_server: kills the server and the processes serving its connections.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    local kids
    kids=$(pgrep -P "$SERVER_PID" || true)
    kill -9 "$SERVER_PID" $kids 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# listening SOCKET: whether a process listens on the unix socket SOCKET
# (the file appears at bind(), a moment before listen()).
listening() {
    awk -v p="$1" '$NF == p && $4 == "00010000" { found = 1 } END { exit !found }' /proc/net/unix
}

# start_server [VAR=value...] [PROVIDER [TOKEN-URI]]: 'p11-kit server' in the
# foreground on $CASE/p11.sock exporting the case's token 'dev' of PROVIDER
# (SoftHSM unless given), with the variables in its environment; points
# csign at it through CSIGN_MODULE and P11_KIT_SERVER_ADDRESS. It is killed
# when the test ends.
start_server() {
    local envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    local provider=${1:-$SOFTHSM_MODULE} uri=${2:-pkcs11:token=dev}
    SOCK=$CASE/p11.sock
    rm -f "$SOCK"
    # A provider built with the address sanitizer (the test shim in the
    # sanitizer build) needs its runtime loaded first in the server.
    local asan
    asan=$(ldd "$provider" 2>/dev/null | awk '/libasan/ {print $3}')
    [ -z "$asan" ] || envs+=("LD_PRELOAD=$asan" "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0")
    env "${envs[@]}" SOFTHSM2_CONF="$SOFTHSM2_CONF" p11-kit server -f -n "$SOCK" \
        --provider "$provider" "$uri" >"$CASE/server.out" 2>"$CASE/server.err" &
    SERVER_PID=$!
    trap stop_server EXIT
    for _ in $(seq 400); do
        listening "$SOCK" && break
        kill -0 "$SERVER_PID" 2>/dev/null || fail "p11-kit server exited: $(cat "$CASE/server.err")"
        sleep 0.025
    done
    listening "$SOCK" || fail "p11-kit server did not listen on $SOCK"
    export CSIGN_MODULE=$CLIENT_MODULE P11_KIT_SERVER_ADDRESS=unix:path=$SOCK
}

# A test CA ($CASE/ca.pem) that issues code-signing certificates.
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CASE/ca.key" \
        -subj "/CN=Remote Test CA" -days 30 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign -out "$CASE/ca.pem" 2>/dev/null || fail "CA"
    printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
        extendedKeyUsage=critical,codeSigning >"$CASE/leaf.ext"
}

# remote_key TYPE NAME: through the server, a key NAME of TYPE, a request
# for it, its certificate from the test CA stored beside it (with the CA).
remote_key() {
    local k="pkcs11:token=dev;object=$2"
    run CSIGN_PIN=$USER_PIN csign keygen --key "$k" --type "$1"
    expect_rc 0
    run CSIGN_PIN=$USER_PIN csign csr --key "$k" --subject "CN=$2" -o "$CASE/$2.csr"
    expect_rc 0
    openssl req -verify -noout -in "$CASE/$2.csr" 2>/dev/null || fail "$2: the request does not verify"
    openssl x509 -req -in "$CASE/$2.csr" -CA "$CASE/ca.pem" -CAkey "$CASE/ca.key" \
        -CAcreateserial -days 30 -extfile "$CASE/leaf.ext" -out "$CASE/$2.pem" 2>/dev/null ||
        fail "$2: certificate"
    run CSIGN_PIN=$USER_PIN csign import-cert --key "$k" --chain "$CASE/ca.pem" "$CASE/$2.pem"
    expect_rc 0
}

# sign_many NAME [ARGS...]: signs 12 files with key NAME through the server,
# checks every signature with openssl and with csign verify.
sign_many() {
    local name=$1
    shift
    mkdir -p "$CASE/$name"
    for i in $(seq 12); do head -c $((i * 97)) /dev/urandom >"$CASE/$name/f$i"; done
    run CSIGN_PIN=$USER_PIN csign sign --key "pkcs11:token=dev;object=$name" "$@" "$CASE/$name"/f*
    expect_rc 0
    for i in $(seq 12); do
        ossl_verify "$CASE/$name/f$i" "$CASE/$name/f$i.p7s" "$CASE/ca.pem" ||
            fail "$name: f$i.p7s does not verify with openssl"
    done
    run csign verify --trust "$CASE/ca.pem" "$CASE/$name"/f?  "$CASE/$name"/f??
    expect_rc 0
}

# Every key type csign makes, made, certified and used through the socket.
t_socket_all_key_types() {
    new_token dev
    make_ca
    start_server
    run csign list
    expect_rc 0
    expect_out "token 'dev'"
    for t in ec:p256 ec:p384 ec:p521 rsa:2048 rsa:3072; do
        remote_key "$t" "k-${t/:/-}"
        sign_many "k-${t/:/-}"
    done
    sign_many k-rsa-2048 --pss --force
    sign_many k-rsa-3072 --pss --force
    openssl cms -cmsout -print -inform DER -in "$CASE/k-rsa-3072/f1.p7s" | grep -q rsassaPss ||
        fail "--pss did not make an RSASSA-PSS signature"
    # The keys are on the token, as an independent client sees it there.
    p11 --login --pin "$USER_PIN" --list-objects --type privkey 2>/dev/null | grep -c 'label:  *k-' >"$CASE/n"
    [ "$(cat "$CASE/n")" -eq 5 ] || fail "$(cat "$CASE/n") keys on the token, expected 5"
    # The server's connections are gone with csign: nothing is left behind.
    for _ in $(seq 200); do [ -z "$(pgrep -P "$SERVER_PID")" ] && break; sleep 0.025; done
    [ -z "$(pgrep -P "$SERVER_PID")" ] || fail "a connection of the server outlived csign"
}

# The mechanisms that cross p11-kit's RPC (a shim on the server side logs
# them): ECDSA and RSA-PSS hash here, and the token is given the hash.
t_socket_mechanisms() {
    new_token dev
    make_ca
    start_server CSIGN_SHIM_LOG="$CASE/shim.log" "$CSIGN_SHIM"
    remote_key ec:p256 ec
    remote_key rsa:2048 rsa
    : >"$CASE/shim.log"
    sign_many ec
    sign_many rsa --pss
    grep -x 'C_SignInit CKM_ECDSA' "$CASE/shim.log" >/dev/null || fail "ECDSA not through CKM_ECDSA"
    grep -x 'C_SignInit CKM_RSA_PKCS_PSS' "$CASE/shim.log" >/dev/null ||
        fail "PSS not through CKM_RSA_PKCS_PSS"
    ! grep -E 'C_SignInit CKM_(SHA|ECDSA_SHA)' "$CASE/shim.log" | grep -v 'CKM_SHA256_RSA_PKCS$' |
        grep -q . || fail "a hashing mechanism crossed the wire: $(grep SignInit "$CASE/shim.log")"
}

# A hashing mechanism the token lists but refuses through the server
# (CKR_MECHANISM_INVALID, as an older p11-kit server answers for one it
# cannot carry): the hash is made here and the plain mechanism signs.
t_refused_hashing_mechanism_falls_back() {
    new_token dev
    make_ca
    start_server CSIGN_SHIM_LOG="$CASE/shim.log" CSIGN_SHIM_FAIL=C_SignInit@1=0x70 "$CSIGN_SHIM"
    remote_key rsa:2048 rsa
    : >"$CASE/shim.log"
    sign_many rsa
    [ "$(grep -cx 'C_SignInit CKM_SHA256_RSA_PKCS' "$CASE/shim.log")" -eq 12 ] ||
        fail "not every signature tried CKM_SHA256_RSA_PKCS first: $(grep SignInit "$CASE/shim.log")"
    [ "$(grep -cx 'C_SignInit CKM_RSA_PKCS' "$CASE/shim.log")" -eq 1 ] ||
        fail "the refused signature did not fall back to CKM_RSA_PKCS: $(grep SignInit "$CASE/shim.log")"
}

# The command transport: no socket, a command whose standard input and
# output carry the RPC (ssh HOST p11-kit remote ... in real use).
t_command_transport() {
    new_token dev
    make_ca
    cat >"$CASE/remote.sh" <<EOF
#!/bin/sh
env >"$CASE/remote.env"
exec p11-kit remote --provider "$SOFTHSM_MODULE" 'pkcs11:token=dev'
EOF
    chmod +x "$CASE/remote.sh"
    export CSIGN_MODULE=$CLIENT_MODULE P11_KIT_SERVER_ADDRESS="|$CASE/remote.sh"
    run csign list
    expect_rc 0
    expect_out "token 'dev'"
    for t in ec:p256 rsa:3072; do
        remote_key "$t" "k-${t/:/-}"
        sign_many "k-${t/:/-}"
    done
    sign_many k-rsa-3072 --pss --force
    # The PIN was taken out of the environment before the command started.
    grep -q CSIGN_PIN "$CASE/remote.env" && fail "the transport command saw CSIGN_PIN"
    # Quoted arguments in the address work as in a shell.
    export P11_KIT_SERVER_ADDRESS="|p11-kit remote --provider '$SOFTHSM_MODULE' 'pkcs11:token=dev'"
    run csign list
    expect_rc 0
    expect_out "key 'k-ec-p256'"
}

# A whole module exported (no token URI): its free slot crosses too, so
# init-token works through it; a server exporting one initialised token
# has no free slot and csign says where to initialise.
t_init_token_remote() {
    new_token dev
    export CSIGN_MODULE=$CLIENT_MODULE
    export P11_KIT_SERVER_ADDRESS="|p11-kit remote '$SOFTHSM_MODULE'"
    run CSIGN_SO_PIN=$SO_PIN CSIGN_PIN=$USER_PIN csign init-token --label second
    expect_rc 0
    softhsm2-util --show-slots | grep -q 'Label: *second' || fail "no token 'second' on SoftHSM"
    start_server
    run CSIGN_SO_PIN=$SO_PIN CSIGN_PIN=$USER_PIN csign init-token --label third
    expect_rc 3
    expect_one_error_line init-token
    expect_err "the module exports no slot with an uninitialised token; with p11-kit server, init the token on the server host"
}

# No server: every command says the module's server cannot be reached.
t_server_not_running() {
    new_token dev
    export CSIGN_MODULE=$CLIENT_MODULE P11_KIT_SERVER_ADDRESS=unix:path=$CASE/none.sock
    echo a >"$CASE/a"
    for cmd in "list" "list --json" "keygen --key pkcs11:token=dev;object=k" \
        "sign --key $KEY $CASE/a" "init-token --label x" "csr --key $KEY --subject CN=x"; do
        # shellcheck disable=SC2086
        run CSIGN_PIN=$USER_PIN CSIGN_SO_PIN=$SO_PIN csign $cmd
        expect_rc 3
        expect_one_error_line "${cmd%% *}"
        expect_err "cannot reach its server at 'unix:path=$CASE/none.sock'"
        expect_no_err "init-token --label"
        expect_no_err "no free slot"
    done
    [ ! -e "$CASE/a.p7s" ] || fail "a signature without a token"
    # A socket left by a server that died the hard way is no different.
    start_server
    stop_server
    [ -S "$SOCK" ] || fail "the dead server's socket is gone"
    run csign list
    expect_rc 3
    expect_err "cannot reach its server at 'unix:path=$SOCK'"
    # The default address, when none is set.
    unset P11_KIT_SERVER_ADDRESS
    run csign list
    expect_rc 3
    expect_err "P11_KIT_SERVER_ADDRESS is not set"
    # A transport command that does not speak the protocol.
    run P11_KIT_SERVER_ADDRESS='|false' csign list
    expect_rc 3
    expect_one_error_line list
    expect_err "cannot reach its server through the command 'false'"
}

# A server that is up but exports no token: not an empty module (and no
# endless asking for a slot list of 0 slots: bounded by timeout(1)).
t_server_exports_nothing() {
    new_token dev
    start_server "$SOFTHSM_MODULE" 'pkcs11:token=other'
    timeout 60 "$CSIGN_BIN" list >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 0
    expect_err "its p11-kit server exports none"
    CSIGN_PIN=$USER_PIN timeout 60 "$CSIGN_BIN" sign --key "$KEY" /dev/null -o "$CASE/x.p7s" \
        >"$CASE/out" 2>"$CASE/err" </dev/null
    RC=$?
    expect_rc 3
    expect_err "its p11-kit server exports none"
    expect_no_err "init-token"
}

# The server dies while a batch is being signed: the 5th C_Sign waits
# (the shim's gate on the server side) until the server is killed.
t_server_dies_mid_batch() {
    new_token dev
    make_ca
    start_server CSIGN_SHIM_LOG="$CASE/shim.log" "CSIGN_SHIM_GATE=C_Sign@5:$CASE/go" "$CSIGN_SHIM"
    remote_key ec:p256 rel
    mkdir "$CASE/b"
    for i in $(seq -w 40); do head -c 3000 /dev/urandom >"$CASE/b/f$i"; done
    : >"$CASE/shim.log"
    (
        run CSIGN_PIN=$USER_PIN csign sign --key "$KEY" "$CASE/b"/f*
        echo "$RC" >"$CASE/rc"
    ) &
    local signer=$!
    for _ in $(seq 2400); do
        [ "$(grep -cx C_Sign "$CASE/shim.log")" -ge 5 ] && break
        sleep 0.025
    done
    [ "$(grep -cx C_Sign "$CASE/shim.log")" -ge 5 ] || fail "the 5th signature never started"
    stop_server
    touch "$CASE/go"
    wait "$signer"
    RC=$(cat "$CASE/rc")
    [ "$RC" -ne 141 ] || fail "csign died of SIGPIPE"
    expect_rc 3
    # The four signed first are whole, valid and reported; no other output.
    local signed
    signed=$(grep -c '^signed ' "$CASE/out")
    [ "$signed" -eq 4 ] || fail "$signed files reported signed, expected 4"
    for i in 01 02 03 04; do
        expect_out "signed $CASE/b/f$i -> $CASE/b/f$i.p7s"
        ossl_verify "$CASE/b/f$i" "$CASE/b/f$i.p7s" "$CASE/ca.pem" || fail "f$i.p7s is not valid"
    done
    [ "$(find "$CASE/b" -type f | wc -l)" -eq 44 ] ||
        fail "partial or temporary files left: $(find "$CASE/b" -type f ! -name 'f??' ! -name 'f0[1-4].p7s')"
    expect_err "36 of 40 files failed"
}

# The recipe of docs/remote.md, "One machine", as written.
t_doc_recipe_runs() {
    local doc="$CSIGN_TESTS/../docs/remote.md"
    mkdir -p "$CASE/bin" "$CASE/tmp"
    ln -s "$CSIGN_BIN" "$CASE/bin/csign"
    awk '/^## /{sec = ($0 ~ /one machine/)} sec && /^```sh$/{on=1; next} /^```$/{on=0}
        sec && on' "$doc" >"$CASE/recipe.sh"
    grep -q 'p11-kit server' "$CASE/recipe.sh" && grep -q '^csign sign' "$CASE/recipe.sh" ||
        fail "the recipe was not found in docs/remote.md"
    unset SOFTHSM2_CONF
    # Its own process group, so that whatever it starts ends with the test.
    TMPDIR=$CASE/tmp PATH="$CASE/bin:$PATH" setsid -w bash -euo pipefail "$CASE/recipe.sh" \
        >"$CASE/out" 2>"$CASE/err" &
    local pg=$!
    wait "$pg"
    RC=$?
    kill -9 -- "-$pg" 2>/dev/null
    expect_rc 0
    expect_out "token 'release'"
    expect_out "signed "
    expect_err "p11-kit-client.so' cannot reach its server"
    ls "$CASE"/tmp/*/artifact.tar.gz.p7s >/dev/null 2>&1 || fail "no signature made"
}

run_tests
