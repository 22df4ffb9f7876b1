#!/usr/bin/env bash
# First steps with csign on a fresh Debian 12 machine: installs what csign
# needs, builds it, creates a software token in csign's built-in store
# (SoftHSM, under ${XDG_DATA_HOME:-$HOME/.local/share}/csign) and shows it.
#
# Set CSIGN_BIN to an already built csign to skip installing and building.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${CSIGN_BIN:-}" ]; then
    if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null; then
        bash "$top/scripts/install-deps.sh"
    else
        echo "quickstart: not root and no sudo; assuming scripts/install-deps.sh was run" >&2
    fi
    cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$top/build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
    CSIGN_BIN=$top/build/csign
fi
csign() { "$CSIGN_BIN" "$@"; }

store=${XDG_DATA_HOME:-$HOME/.local/share}/csign
label=quickstart
pinfile=$store/quickstart.pin
sopinfile=$store/quickstart.so-pin

echo "== csign $(csign --version | head -n 1 | cut -d' ' -f2)"
mkdir -p "$store"
chmod 700 "$store"
# The PINs live in files only the owner can read; csign refuses any other
# mode. Nothing here ever puts a PIN on a command line.
umask 077
for f in "$pinfile" "$sopinfile"; do
    [ -s "$f" ] || od -An -N8 -tx1 /dev/urandom | tr -d ' \n' >"$f"
done

# show: print a csign command, then run it, so it can be copied.
show() {
    printf '+ csign'
    printf " '%s'" "$@"
    printf '\n'
    csign "$@"
}

key="pkcs11:token=$label;object=signing"
if csign list "pkcs11:token=$label" >/dev/null 2>&1; then
    echo "== token '$label' already exists in $store"
else
    echo "== creating software token '$label' in $store"
    show init-token --label "$label" --so-pin-source "file:$sopinfile" \
        --pin-source "file:$pinfile"
fi

state=$(csign list --login --pin-source "file:$pinfile" --json "pkcs11:token=$label")
has_key=$(jq '[.tokens[0].keys[] | select(.label == "signing" and .has_private_key)] | length' \
    <<<"$state")
has_cert=$(jq '[.tokens[0].certificates[] | select(.label == "signing")] | length' <<<"$state")
if [ "$has_key" -eq 0 ]; then
    echo "== generating a key on the token"
    show keygen --key "$key" --pin-source "file:$pinfile" --type ec:p256
fi
if [ "$has_key" -eq 0 ] || [ "$has_cert" -eq 0 ] || [ ! -s "$store/quickstart.pem" ]; then
    echo "== making a self-signed code-signing certificate and storing it on the token"
    show selfsign --key "$key" --pin-source "file:$pinfile" --subject 'CN=csign quickstart' \
        --days 365 --import --force -o "$store/quickstart.pem"
fi

demo=$store/quickstart-demo.txt
echo "Signed by csign's quickstart on $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$demo"
echo "== signing $demo"
show sign --key "$key" --pin-source "file:$pinfile" --force "$demo"
echo "== verifying the signature"
show verify --trust "$store/quickstart.pem" "$demo"

echo "== what the token holds"
show list --login --pin-source "file:$pinfile" "pkcs11:token=$label"

cat <<TXT

Next steps:
  csign list                                   tokens, keys and certificates
  csign sign --key '$key' FILE...
  csign verify --trust $store/quickstart.pem FILE...
  csign --help                                 all commands
The PIN of token '$label' is in $pinfile (mode 600).
TXT
