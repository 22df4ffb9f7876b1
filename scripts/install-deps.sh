#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking
# csign needs. Idempotent; run as root (or through sudo).
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libssl-dev openssl
  libengine-pkcs11-openssl
  libp11-kit-dev p11-kit p11-kit-modules
  libjansson-dev
  libinih-dev
  libcurl4-openssl-dev
  libcmocka-dev
  softhsm2 opensc
  util-linux procps jq strace time
  swtpm swtpm-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools libtss2-tcti-swtpm0
  clang libclang-rt-14-dev llvm-14
  clang-format cppcheck valgrind
  python3-jsonschema
  scdoc bash-completion zsh fish lintian dpkg-dev file man-db python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"
