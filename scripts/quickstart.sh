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

if csign list "pkcs11:token=$label" >/dev/null 2>&1; then
    echo "== token '$label' already exists in $store"
else
    echo "== creating software token '$label' in $store"
    csign init-token --label "$label" --so-pin-source "file:$sopinfile" \
        --pin-source "file:$pinfile"
fi

echo "== what the token holds (logged in with the PIN from $pinfile)"
csign list --login --pin-source "file:$pinfile" "pkcs11:token=$label"

cat <<TXT

Next steps:
  csign list                                   tokens, keys and certificates
  csign list --json                            the same as JSON
  CSIGN_PIN=... csign list --login             private objects too
The PIN of token '$label' is in $pinfile (mode 600).
TXT
