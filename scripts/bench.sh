#!/usr/bin/env bash
# Measures csign against its peers on this machine, side by side in one run,
# and prints a Markdown table; --write also stores it in docs/benchmarks.md.
#
#   scripts/bench.sh [--write] [--quick]
#
# --quick uses small inputs (a smoke test of this script; its numbers mean
# little). Needs what scripts/install-deps.sh installs. Builds csign in
# build-bench/ (Release) unless CSIGN_BIN and CSIGN_MAXRSS name binaries;
# the test shim (a token that takes 20 ms per signature) is CSIGN_SHIM, or
# tests/libcsign-shim.so beside CSIGN_BIN. Everything happens in a
# temporary folder (${TMPDIR:-/var/tmp}; about 2.5 GiB) with its own
# SoftHSM token and p11-kit server, removed at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

write=0 quick=0
for arg in "$@"; do
    case $arg in
    --write) write=1 ;;
    --quick) quick=1 ;;
    -h | --help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench: unknown option '$arg' (--write, --quick)" >&2; exit 2 ;;
    esac
done

if [ -z "${CSIGN_BIN:-}" ] || [ -z "${CSIGN_MAXRSS:-}" ]; then
    cmake -S "$top" -B "$top/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$top/build-bench" -j "$(nproc)" >/dev/null
    CSIGN_BIN=$top/build-bench/csign
    CSIGN_MAXRSS=$top/build-bench/tests/maxrss
fi
CSIGN_SHIM=${CSIGN_SHIM:-$(dirname "$CSIGN_BIN")/tests/libcsign-shim.so}

softhsm=""
for p in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -r "$p" ] && softhsm=$p && break
done
engines=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
client=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null || true)/p11-kit-client.so
for need in "$softhsm" "$engines/pkcs11.so" "$client"; do
    [ -n "$need" ] && [ -r "$need" ] ||
        { echo "bench: SoftHSM2, the libp11 engine or p11-kit-client.so is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
[ -r "$CSIGN_SHIM" ] || { echo "bench: no test shim at $CSIGN_SHIM (set CSIGN_SHIM)" >&2; exit 1; }
# The parallel-session rows need csign's --sessions and the shim's delay;
# without them they say so instead of a figure.
sessions=0
sign_help=$("$CSIGN_BIN" sign --help 2>&1 || true)
if [[ $sign_help == *--sessions* ]] && grep -qa CSIGN_SHIM_SIGN_DELAY_MS "$CSIGN_SHIM"; then
    sessions=1
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/csign-bench.XXXXXX")
server=""
mem=""
cleanup() {
    [ -z "$server" ] || kill "$server" 2>/dev/null || true
    [ -z "$server" ] || wait "$server" 2>/dev/null || true
    rm -rf "$work" ${mem:+"$mem"}
}
trap cleanup EXIT

# ---- a token with a P-256 and an RSA-3072 key, each with a certificate ----

mkdir "$work/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$work/tokens" >"$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf CSIGN_MODULE=$softhsm CSIGN_PIN=1234
softhsm2-util --init-token --free --label bench --so-pin 12345678 --pin 1234 >/dev/null
for k in p256:ec:p256 rsa:rsa:3072; do
    name=${k%%:*} type=${k#*:}
    "$CSIGN_BIN" -q keygen --key "pkcs11:token=bench;object=$name" --type "$type" >/dev/null
    "$CSIGN_BIN" -q selfsign --key "pkcs11:token=bench;object=$name" --subject "CN=bench $name" \
        --import -o "$work/$name.pem" >/dev/null
done
cat >"$work/openssl.cnf" <<EOF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $engines/pkcs11.so
MODULE_PATH = $softhsm
init = 0
EOF

# openssl cms -sign with the libp11 engine, the module loaded directly (not
# through p11-kit-proxy): ossl_cmd KEY IN OUT sets OSSL to the command line
# (the maxrss tool puts OPENSSL_CONF in its environment, so no shell's start
# is timed with it); ossl_sign KEY IN OUT runs it.
ossl_cmd() {
    OSSL=("OPENSSL_CONF=$work/openssl.cnf" openssl cms -sign -binary -md sha256 -in "$2"
        -signer "$work/$1.pem" -engine pkcs11 -keyform engine
        -inkey "pkcs11:token=bench;object=$1;type=private;pin-value=1234"
        -outform DER -out "$3")
}
ossl_sign() {
    OPENSSL_CONF=$work/openssl.cnf openssl cms -sign -binary -md sha256 -in "$2" \
        -signer "$work/$1.pem" -engine pkcs11 -keyform engine \
        -inkey "pkcs11:token=bench;object=$1;type=private;pin-value=1234" \
        -outform DER -out "$3" 2>/dev/null
}
export -f ossl_sign
export work

# ---- inputs, read once so that they are in the page cache ----

if [ "$quick" -eq 1 ]; then
    big_mib=64 part_mib=16 small_n=50 reps=1 slow_n=20 fleet_n=5
else
    big_mib=1024 part_mib=256 small_n=1000 reps=3 slow_n=500 fleet_n=50
fi
head -c "${big_mib}M" /dev/urandom >"$work/big"
head -c 64M /dev/urandom >"$work/mid"
for i in 1 2 3 4; do head -c "${part_mib}M" /dev/urandom >"$work/part$i"; done
mkdir "$work/small"
for i in $(seq "$small_n"); do head -c 4096 /dev/urandom >"$work/small/f$i"; done
cat "$work/big" "$work/mid" "$work/part"* "$work/small/"* >/dev/null
big_bytes=$((big_mib * 1024 * 1024))

# ---- measuring ----

declare -A WALL RSS
# measure NAME REPEATS COMMAND...: the median wall time and the largest
# peak RSS over the repeats.
measure() {
    local name=$1 reps=$2 walls=() rss=0 w r i
    shift 2
    for ((i = 0; i < reps; i++)); do
        if ! "$CSIGN_MAXRSS" "$@" >/dev/null 2>"$work/m.err"; then
            echo "bench: '$name' failed:" >&2
            cat "$work/m.err" >&2
            exit 1
        fi
        w=$(awk '/^wall_s/{print $2}' "$work/m.err")
        r=$(awk '/^maxrss_kib/{print $2}' "$work/m.err")
        walls+=("$w")
        if [ "$r" -gt "$rss" ]; then rss=$r; fi
    done
    WALL[$name]=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    RSS[$name]=$rss
}

# measure_pair NAME1 NAME2 REPEATS: as measure, for the commands in the
# arrays CMD1 and CMD2, run in turn so that a change in the machine's load
# weighs on both alike.
measure_pair() {
    local a=() b=() k
    for ((k = 0; k < $3; k++)); do
        measure "$1" 1 "${CMD1[@]}"
        a+=("${WALL[$1]}")
        measure "$2" 1 "${CMD2[@]}"
        b+=("${WALL[$2]}")
    done
    WALL[$1]=$(printf '%s\n' "${a[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    WALL[$2]=$(printf '%s\n' "${b[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
}

key='pkcs11:token=bench;object=p256'

echo "bench: ${big_mib} MiB file" >&2
speed=$(openssl speed -evp sha256 -bytes 16384 -seconds "$([ "$quick" -eq 1 ] && echo 1 || echo 3)" \
    2>/dev/null | awk '$1 == "sha256" {v = $2; sub(/k$/, "", v); print v * 1000}')
measure dgst "$reps" openssl dgst -sha256 "$work/big"
measure sign "$reps" "$CSIGN_BIN" -q sign --force --key "$key" "$work/big"
ossl_cmd p256 "$work/big" "$work/big.ossl.p7s"
measure ossl_sign "$reps" "${OSSL[@]}"
measure verify "$reps" "$CSIGN_BIN" -q verify --trust "$work/p256.pem" "$work/big"
measure ossl_verify "$reps" openssl cms -verify -binary -inform DER -in "$work/big.p7s" \
    -content "$work/big" -CAfile "$work/p256.pem" -purpose any -out /dev/null
measure sign_mid "$reps" "$CSIGN_BIN" -q sign --force --key "$key" "$work/mid"

echo "bench: one small file" >&2
CMD1=("$CSIGN_BIN" -q sign --force --key "$key" "$work/small/f1")
ossl_cmd p256 "$work/small/f1" "$work/small/f1.ossl"
CMD2=("${OSSL[@]}")
measure_pair one ossl_one 11

echo "bench: $small_n files of 4 KiB" >&2
measure many 1 "$CSIGN_BIN" -q sign --force --key "$key" "$work/small/"f*[0-9]
measure many_rsa 1 "$CSIGN_BIN" -q sign --force --key "pkcs11:token=bench;object=rsa" \
    "$work/small/"f*[0-9]
# The same with the signatures written to memory (tmpfs): the difference
# is what creating and flushing the files costs on this disk.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    mem=$(mktemp -d /dev/shm/csign-bench.XXXXXX)
    measure many_mem 1 "$CSIGN_BIN" -q sign --key "$key" --out-dir "$mem" "$work/small/"f*[0-9]
fi
loop='for f in "$work"/small/f*[0-9]; do ossl_sign KEY "$f" "$f.ossl" || exit 1; done'
measure ossl_many 1 bash -c "${loop/KEY/p256}"
measure ossl_many_rsa 1 bash -c "${loop/KEY/rsa}"

echo "bench: 4 files of ${part_mib} MiB, --jobs 1 and 2" >&2
measure jobs1 "$reps" "$CSIGN_BIN" -q sign --force --jobs 1 --key "$key" "$work/part"[1-4]
measure jobs2 "$reps" "$CSIGN_BIN" -q sign --force --jobs 2 --key "$key" "$work/part"[1-4]
measure vjobs1 "$reps" "$CSIGN_BIN" -q verify --jobs 1 --trust "$work/p256.pem" "$work/part"[1-4]
measure vjobs2 "$reps" "$CSIGN_BIN" -q verify --jobs 2 --trust "$work/p256.pem" "$work/part"[1-4]

echo "bench: parallel sessions" >&2
# files N: the first N small files.
files() { for i in $(seq "$1"); do echo "$work/small/f$i"; done; }
if [ "$sessions" -eq 1 ]; then
    # In turns and repeated: the disk's flushes vary from run to run.
    CMD1=("$CSIGN_BIN" -q sign --force --sessions 1 --key "pkcs11:token=bench;object=rsa"
        "$work/small/"f*[0-9])
    CMD2=("$CSIGN_BIN" -q sign --force --sessions 2 --key "pkcs11:token=bench;object=rsa"
        "$work/small/"f*[0-9])
    measure_pair rsa_s1 rsa_s2 "$reps"
    mapfile -t slow < <(files "$slow_n")
    for n in 1 16; do
        measure "slow_s$n" 1 env CSIGN_MODULE="$CSIGN_SHIM" CSIGN_SHIM_MODULE="$softhsm" \
            CSIGN_SHIM_SIGN_DELAY_MS=20 "$CSIGN_BIN" -q sign --force --sessions "$n" \
            --key "$key" "${slow[@]}"
    done
fi

echo "bench: through p11-kit server" >&2
P11_KIT_SERVER_ADDRESS=unix:path=$work/p11.sock
p11-kit server -f -s -n "$work/p11.sock" --provider "$softhsm" "pkcs11:token=bench" \
    >"$work/server.out" 2>&1 &
server=$!
for _ in $(seq 100); do [ -S "$work/p11.sock" ] && break; sleep 0.05; done
[ -S "$work/p11.sock" ] || { echo "bench: p11-kit server did not start:" >&2; cat "$work/server.out" >&2; exit 1; }
export P11_KIT_SERVER_ADDRESS
measure local 1 "$CSIGN_BIN" -q sign --force --key "$key" "$work/small/"f*[0-9]
measure remote 1 env CSIGN_MODULE="$client" "$CSIGN_BIN" -q sign --force --key "$key" \
    "$work/small/"f*[0-9]
# Many CI jobs at once: 16 processes, each with its own files, one server.
for p in $(seq 16); do
    mkdir "$work/fleet$p"
    for i in $(seq "$fleet_n"); do cp "$work/small/f$i" "$work/fleet$p/"; done
done
t0=$(date +%s.%N)
pids=()
for p in $(seq 16); do
    CSIGN_MODULE=$client "$CSIGN_BIN" -q sign --key "$key" "$work/fleet$p/"f* \
        >"$work/fleet$p.out" 2>"$work/fleet$p.err" &
    pids+=($!)
done
fleet_failed=0
for pid in "${pids[@]}"; do wait "$pid" || fleet_failed=$((fleet_failed + 1)); done
WALL[fleet]=$(awk "BEGIN {print $(date +%s.%N) - $t0}")
fleet_signed=$(find "$work"/fleet[0-9]* -name '*.p7s' | wc -l)
if [ "$fleet_failed" -gt 0 ]; then
    echo "bench: $fleet_failed of 16 processes failed through p11-kit server, e.g.:" >&2
    cat "$work"/fleet*.err | head -n 5 >&2
fi

# ---- the table ----

calc() { awk "BEGIN {printf \"%.2f\", $1}"; }
gbps() { calc "$big_bytes / ${WALL[$1]} / 1e9"; }
secs() { awk "BEGIN {printf \"%.3f s\", ${WALL[$1]}}"; }
mib() { awk "BEGIN {printf \"%.1f MiB\", ${RSS[$1]} / 1024}"; }
# row WHAT CSIGN PEER RATIO TARGET MET
row() { printf '| %s | %s | %s | %s | %s | %s |\n' "$@"; }
met() { awk "BEGIN {exit !($1)}" && echo yes || echo "**no**"; }

speed_gbps=$(calc "$speed / 1e9")
r_sign_ossl=$(calc "${WALL[ossl_sign]} / ${WALL[sign]}")
r_sign_dgst=$(calc "${WALL[dgst]} / ${WALL[sign]}")
r_sign_speed=$(calc "$(gbps sign) / $speed_gbps")
r_verify_ossl=$(calc "${WALL[ossl_verify]} / ${WALL[verify]}")
r_verify_dgst=$(calc "${WALL[dgst]} / ${WALL[verify]}")
r_verify_speed=$(calc "$(gbps verify) / $speed_gbps")
r_one=$(calc "${WALL[one]} / ${WALL[ossl_one]}")
r_many=$(calc "${WALL[ossl_many]} / ${WALL[many]}")
r_many_rsa=$(calc "${WALL[ossl_many_rsa]} / ${WALL[many_rsa]}")
r_jobs=$(calc "${WALL[jobs1]} / ${WALL[jobs2]}")
r_vjobs=$(calc "${WALL[vjobs1]} / ${WALL[vjobs2]}")
r_remote=$(calc "${WALL[remote]} / ${WALL[local]}")
if [ "$sessions" -eq 1 ]; then
    r_rsa_s=$(calc "${WALL[rsa_s1]} / ${WALL[rsa_s2]}")
    r_slow_s=$(calc "${WALL[slow_s1]} / ${WALL[slow_s16]}")
fi
rss_mid=$(mib sign_mid) rss_big=$(mib sign)

table() {
    row "measurement" "csign" "peer" "ratio" "target" "met"
    row "---" "---" "---" "---" "---" "---"
    row "sign ${big_mib} MiB, vs \`openssl cms -sign\` (engine)" "$(secs sign), $(gbps sign) GB/s" \
        "$(secs ossl_sign), $(gbps ossl_sign) GB/s" "${r_sign_ossl} ×" "≥ 2 ×" "$(met "$r_sign_ossl >= 2")"
    row "sign ${big_mib} MiB, vs \`openssl dgst -sha256\`" "$(gbps sign) GB/s" \
        "$(secs dgst), $(gbps dgst) GB/s" "${r_sign_dgst} ×" "≥ 1.3 ×" "$(met "$r_sign_dgst >= 1.3")"
    row "sign ${big_mib} MiB, vs \`openssl speed -evp sha256\`" "$(gbps sign) GB/s" \
        "${speed_gbps} GB/s" "$(awk "BEGIN {printf \"%.0f %%\", $r_sign_speed * 100}")" "≥ 90 %" "$(met "$r_sign_speed >= 0.90")"
    row "verify ${big_mib} MiB, vs \`openssl cms -verify\`" "$(secs verify), $(gbps verify) GB/s" \
        "$(secs ossl_verify), $(gbps ossl_verify) GB/s" "${r_verify_ossl} ×" "≥ 2 ×" "$(met "$r_verify_ossl >= 2")"
    row "verify ${big_mib} MiB, vs \`openssl dgst -sha256\`" "$(gbps verify) GB/s" \
        "$(gbps dgst) GB/s" "${r_verify_dgst} ×" "≥ 1.3 ×" "$(met "$r_verify_dgst >= 1.3")"
    row "verify ${big_mib} MiB, vs \`openssl speed -evp sha256\`" "$(gbps verify) GB/s" \
        "${speed_gbps} GB/s" "$(awk "BEGIN {printf \"%.0f %%\", $r_verify_speed * 100}")" "≥ 90 %" "$(met "$r_verify_speed >= 0.90")"
    row "peak RSS, sign 64 MiB and ${big_mib} MiB" "${rss_mid} / ${rss_big}" \
        "\`openssl cms -sign\`: $(mib ossl_sign)" "—" "≤ 16 MiB, same for both" \
        "$(met "${RSS[sign]} <= 16384 && ${RSS[sign_mid]} <= 16384 && ${RSS[sign]} - ${RSS[sign_mid]} <= 1024")"
    row "peak RSS, verify ${big_mib} MiB" "$(mib verify)" "\`openssl cms -verify\`: $(mib ossl_verify)" \
        "—" "≤ 16 MiB" "$(met "${RSS[verify]} <= 16384")"
    row "one 4 KiB file, whole call, vs one \`openssl cms -sign\`" "$(secs one)" "$(secs ossl_one)" \
        "${r_one} × the time" "≤ 0.8 ×" "$(met "$r_one <= 0.8")"
    row "$small_n files of 4 KiB, P-256: one call vs $small_n \`openssl cms\` calls" "$(secs many)" \
        "$(secs ossl_many)" "${r_many} ×" "≥ 50 ×" "$(met "$r_many >= 50")"
    [ -z "$mem" ] || row "the same, signatures written to tmpfs (the disk's share)" \
        "$(secs many_mem)" "—" "—" "—" "—"
    row "$small_n files of 4 KiB, RSA-3072 (reported, bound by the token)" "$(secs many_rsa)" \
        "$(secs ossl_many_rsa)" "${r_many_rsa} ×" "about 10 ×" "—"
    row "sign 4 × ${part_mib} MiB, \`--jobs 2\` vs \`--jobs 1\`" "$(secs jobs2)" "$(secs jobs1)" \
        "${r_jobs} ×" "≥ 1.8 ×" "$(met "$r_jobs >= 1.8")"
    row "verify 4 × ${part_mib} MiB, \`--jobs 2\` vs \`--jobs 1\`" "$(secs vjobs2)" "$(secs vjobs1)" \
        "${r_vjobs} ×" "≥ 1.8 ×" "$(met "$r_vjobs >= 1.8")"
    if [ "$sessions" -eq 1 ]; then
        row "$small_n files of 4 KiB, RSA-3072, \`--sessions 2\` vs \`--sessions 1\`" \
            "$(secs rsa_s2)" "$(secs rsa_s1)" "${r_rsa_s} ×" "≥ 1.7 ×" "$(met "$r_rsa_s >= 1.7")"
        row "$slow_n files, a token taking 20 ms per signature, \`--sessions 16\` vs \`--sessions 1\`" \
            "$(secs slow_s16)" "$(secs slow_s1)" "${r_slow_s} ×" "≥ 10 ×" "$(met "$r_slow_s >= 10")"
    else
        for what in "$small_n files of 4 KiB, RSA-3072, \`--sessions 2\` vs \`--sessions 1\`" \
            "$slow_n files, a token taking 20 ms per signature, \`--sessions 16\` vs \`--sessions 1\`"; do
            row "$what" "—" "—" "not measured: no \`--sessions\` or shim delay" "—" "—"
        done
    fi
    row "$small_n P-256 signatures in one call, through \`p11-kit server\` vs SoftHSM directly" \
        "$(secs remote)" "$(secs local)" "${r_remote} × the time" "≤ 1.5 ×" "$(met "$r_remote <= 1.5")"
    row "16 processes at once through one \`p11-kit server\`, $fleet_n files each" \
        "$(secs fleet), $fleet_signed of $((16 * fleet_n)) signed" "—" "$fleet_failed failed" \
        "no failure" "$(met "$fleet_failed == 0 && $fleet_signed == 16 * $fleet_n")"
}

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
machine="${cpu:-unknown CPU}, $(nproc) cores$(grep -qw sha_ni /proc/cpuinfo && echo ' with SHA-NI'), \
$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr), \
$(openssl version | cut -d' ' -f1-2), SoftHSM $(softhsm2-util --version)"
when=$(date -u +%Y-%m-%d)
mode=$([ "$quick" -eq 1 ] && echo "quick run (small inputs)" || echo "full run")

report() {
    echo "Measured on $when, $mode: $machine."
    echo
    table
}

report
if [ "$write" -eq 1 ]; then
    {
        cat <<'EOF'
# Benchmarks

`scripts/bench.sh` measures csign and its peers side by side in one run on
the same machine, with the same SoftHSM token and page-cached inputs; the
ratios are what count, not the absolute times. `scripts/bench.sh --write`
rewrote this file. Times are medians of the repeats (one run for the
1,000-call loops); RSS is the peak resident set size from `wait4`.

Peers: `openssl dgst -sha256` (8 KiB reads), `openssl cms -sign -binary`
and `openssl cms -verify -binary` with the libp11 engine loading SoftHSM
directly, and `openssl speed -evp sha256 -bytes 16384` as the per-core
hashing limit. The session rows compare csign with itself: `--sessions N`
against `--sessions 1`, on SoftHSM and on the test shim
(`tests/libcsign-shim.so` over SoftHSM with `CSIGN_SHIM_SIGN_DELAY_MS=20`,
a token that takes 20 ms per signature, as network HSMs do). The remote
rows run `p11-kit server` on a unix socket in the temporary folder and
point csign at `p11-kit-client.so` (docs/remote.md).

The machine is shared and has two cores: other work running at the same
time lowers every figure, the two-core ones (`--jobs 2`, the session
rows) most.

EOF
        report
        cat <<'EOF'

What bounds the figures:

- Signing or verifying one big file is one SHA-256 stream: one core, so
  `openssl speed` is the ceiling. csign reads 128 KiB at a time into a
  page-aligned buffer and reaches 85 to 88 % of that ceiling; the rest is
  the copy out of the page cache (`_copy_to_iter` in `perf record`),
  which takes turns with the hash on the one core. Moving the copy to a
  second thread (a reader filling a ring of 4 × 128 KiB while the caller
  hashes; also tried with 2 × 128 KiB, 2 × 256 KiB, 4 × 64 KiB and
  8 × 32 KiB) made it slower on the 2-core virtual machine these figures
  come from: `csign digest` of a cached 1 GiB file took 0.99 s with the
  reader against 0.86 s without (medians of 5), the hashing thread alone
  used 0.76 s of CPU where one thread doing both used 0.74 s, as every
  block the reader copied had to come over from the other core's cache.
  Larger single reads (64 KiB to 512 KiB) were within the noise of each
  other. A helper thread that only reads ahead into a scratch buffer (so
  that the caller's copy would find the page cache's lines in the shared
  cache), 1 MiB or 4 MiB ahead, did not help either: a bare C loop of
  `read` and `EVP_DigestUpdate` over the cached 1 GiB file took 0.757 s
  and 0.768 s alone, 0.738 s to 0.806 s with the helper, at 1.63 GB/s
  for `openssl speed` (86 to 89 % of it, with no token, no output and no
  process start). That loop is the most a `read` can give here, and it
  stays under 90 %. So csign keeps the single loop; the mmap that would
  avoid the copy is not used, as a file that shrinks while mapped kills
  the reader.
  When `openssl dgst` itself runs at more than 1/1.3 of the ceiling,
  beating it by 1.3 × is not possible on that machine.
- `--jobs 2` on 4 files can at best halve the time on 2 cores; the
  signing that follows, the process start and the token login are serial.
- One `openssl cms -sign` call costs a process start, the engine, the
  module's start (SoftHSM reads every object file of the token) and a
  login; one csign call pays these once for all its files. What remains
  per file is the token's signature (SoftHSM re-reads the key's file for
  each one) and creating and flushing the output: compare the tmpfs row.
  csign flushes every output to disk before it reports success;
  `openssl cms` does not flush at all.
- The many-files case with RSA-3072 is bound by the token's own signing
  time: SoftHSM takes longer for an RSA-3072 signature than
  `openssl speed rsa3072` shows, as it loads the key for each signature.
  With `--sessions 2` the second core signs too, so 2 × is the bound; the
  hashing, the login and writing the outputs stay serial.
- With a token that answers in 20 ms, one session signs 50 files a
  second whatever the machine; 16 sessions overlap 16 waits, bounded by
  the hashing and writing that remain (16 × at best).
- Through `p11-kit server` every PKCS#11 call is a round trip over the
  socket (about 0.25 ms per ECDSA signature against 0.1 ms directly) and
  the module start and login cost more (about 35 ms against 8 ms); with
  1,000 signatures in one call the difference stays within 1.5 ×, with
  few files it is mostly that start-up.
- Start-up, measured on the binaries before and after, on this machine:
  csign used to link libcurl, and with it 28 more libraries (Kerberos,
  LDAP, SSH, RTMP, GnuTLS, ...) that every run loaded, relocated and ran
  the initialisers of, although only timestamping needs them. libcurl is
  now loaded with `dlopen("libcurl.so.4")` on the first request to a TSA.

  | command | before | after | peer |
  | --- | --- | --- | --- |
  | `ldd csign \| wc -l` | 35 | 8 | — |
  | `LD_DEBUG=statistics csign --version`: relocations, cycles in the loader | 9,442, 2.4 M | 4,183, 1.1 M | — |
  | `strace -f -c csign --version`: system calls | 347 | 91 | `openssl version`: 82 |
  | `perf stat -r 50 csign --version` | 14.8 ms | 7.0 ms | `openssl version`: 9.1 ms |
  | `perf stat -r 30 -e page-faults,task-clock csign sign` (one 4 KiB file) | 33.3 ms, 775 faults | 24.4 ms, 494 faults | one `openssl cms -sign` through a shell: 25.5 ms, 615 faults |
  | `strace -f -c csign sign` (one file): system calls | 1,642 | 1,386 | — |

  What one small file still costs is mostly what `openssl cms -sign`
  pays too. A bare C program that loads SoftHSM, calls `C_Initialize`,
  logs in, finds the key and makes one ECDSA signature, and nothing else,
  takes 10.3 ms (`perf stat -r 40`); a process that only links libcrypto
  takes 5.4 ms. So about 15 ms of the 21 ms of one `openssl cms -sign`
  call (measured directly, not through a shell) are common to every
  PKCS#11 signer on this token; 0.8 × that call is 17 ms, which would
  leave csign 2 ms for its own work: reading the key, its certificate and
  the chain from the token, checking them, building the CMS structure and
  writing the output durably (`fdatasync` and `fsync` of the folder,
  about 1 ms on this disk; `openssl cms` does not flush at all). Earlier
  figures of this row timed the peer through a `bash -c` (3 to 5 ms more
  on its side); this one does not. csign now asks the token less: the
  key's label and id narrow the object searches on the token, the token
  list and the certificates are read once, and the public key read before
  the login is reused after it: 20 `C_GetAttributeValue` and 5 searches
  for one signature, from 31 and 6 (SoftHSM re-reads an object's file on
  each; through `p11-kit server` each is a round trip: one file signed
  through the server took 65.5 ms against 68.6 ms before, medians of 40
  runs in turns). OpenSSL's configuration file is read by SoftHSM's own
  start as well, so not reading it in csign would not save it.
EOF
    } >"$top/docs/benchmarks.md"
    echo "bench: wrote docs/benchmarks.md" >&2
fi
