#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) in a build tree of
# their own and runs each for SECONDS (default 20; a long run: 3600).
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRISHIM_FUZZ_BUILD:-$root/build-fuzz}
secs=${1:-20}
CC=clang cmake -S "$root" -B "$build" -DCRISHIM_FUZZ=ON -DCRISHIM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_json fuzz_requests fuzz_config fuzz_manifest >/dev/null
for t in fuzz_json fuzz_requests fuzz_config fuzz_manifest; do
    corpus=$build/corpus-$t
    mkdir -p "$corpus"
    [ "$t" = fuzz_json ] && cp "$root"/tests/fixtures/docker/*.json "$corpus/" 2>/dev/null || true
    [ "$t" = fuzz_config ] && cp "$root"/tests/fixtures/config/*.toml "$corpus/" 2>/dev/null || true
    [ "$t" = fuzz_manifest ] && cp "$root"/tests/fixtures/registry/*.json "$corpus/" 2>/dev/null || true
    echo "fuzz: $t for ${secs}s"
    ASAN_OPTIONS=detect_leaks=1 "$build/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 "$corpus" 2>"$build/$t.log" ||
        { tail -n 40 "$build/$t.log"; exit 1; }
    grep -E "stat::number_of_executed_units" "$build/$t.log" | sed "s/^/fuzz: $t: /"
done
