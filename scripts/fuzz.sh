#!/usr/bin/env bash
# Builds csign's libFuzzer targets (tests/fuzz/) with AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs each for SECONDS (default 60) on a
# copy of its seed corpus; the committed corpus is never changed. Fails on
# any crash, leak, sanitizer report, timeout or out-of-memory finding.
# Prints each target's final libFuzzer statistics. See docs/fuzzing.md.
#
#   bash scripts/fuzz.sh [SECONDS]
#
# FUZZ_BUILD  build folder (default build-fuzz)
# FUZZ_JOBS   targets run at the same time (default: online CPUs)
#
# Findings are written to $FUZZ_BUILD/fuzz-artifacts/<target>/, the logs
# to $FUZZ_BUILD/fuzz-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS]" >&2
    exit 2
fi
build=${FUZZ_BUILD:-build-fuzz}
cpus=$(nproc 2>/dev/null || echo 2)
parallel=${FUZZ_JOBS:-$cpus}

# Each target and the longest input it gets (bytes).
targets=(verify:8192 tsa:4096 cert:4096 manifest:4096 uri:1024 dn:1024 pin:256 time:64)

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is missing; run scripts/install-deps.sh" >&2
    exit 1
fi

echo "== $build: configure and build the fuzz targets"
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCSIGN_FUZZ=ON -DCSIGN_TESTS=OFF -DCSIGN_WERROR=ON >/dev/null
cmake --build "$build" -j "$cpus" --target fuzzers

build=$(cd "$build" && pwd)
artifacts=$build/fuzz-artifacts
logs=$build/fuzz-logs
rm -rf "$artifacts" "$logs"
mkdir -p "$artifacts" "$logs"
work=$(mktemp -d "${TMPDIR:-/tmp}/csign-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Symbolized stack traces in reports, where LLVM's symbolizer is installed.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
    export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run NAME MAX_LEN: one target on a copy of its seeds; its exit code goes
# to $work/NAME.rc.
run() {
    local name=$1 max_len=$2 rc=0
    local dict=() corpus=$work/corpus-$name
    mkdir -p "$corpus" "$artifacts/$name"
    cp tests/fuzz/corpus/"$name"/* "$corpus/"
    [ -f tests/fuzz/"$name".dict ] && dict=(-dict=tests/fuzz/"$name".dict)
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$name/" \
        "${dict[@]}" "$corpus" >"$logs/$name.log" 2>&1 || rc=$?
    echo "$rc" >"$work/$name.rc"
}

echo "== fuzzing: ${#targets[@]} targets, $secs s each, $parallel at a time"
for t in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do
        wait -n || true
    done
    run "${t%%:*}" "${t##*:}" &
done
wait

failed=0
for t in "${targets[@]}"; do
    name=${t%%:*}
    log=$logs/$name.log
    rc=$(cat "$work/$name.rc" 2>/dev/null || echo "?")
    found=$(find "$artifacts/$name" -type f | sort)
    # The final status line: "#RUNS DONE cov: N ft: N corp: N/Nb ... exec/s: N rss: NMb".
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$rc" = 0 ] && [ -z "$found" ] && [ -n "$done_line" ] &&
        ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
        stats=$(sed -E 's/^#[0-9]+[[:space:]]+DONE[[:space:]]+//' <<<"$done_line")
        printf 'fuzz %-9s ok    %s executions; %s\n' "$name" "${runs:-?}" "$stats"
        continue
    fi
    failed=1
    printf 'fuzz %-9s FAIL  exit code %s; log %s\n' "$name" "$rc" "$log"
    grep -E 'ERROR:|runtime error:|SUMMARY:|property broken|ALARM|out-of-memory' "$log" |
        head -n 10 | sed 's/^/    /' || true
    for f in $found; do
        echo "    finding: $f"
        echo "    reproduce: $build/tests/fuzz/fuzz_$name $f"
    done
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz.sh: findings above (logs in $logs)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, no findings"
