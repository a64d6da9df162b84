#!/usr/bin/env bash
# The test command: installs what the tests need, runs a short pass of the
# libFuzzer targets, builds crishim with ASan and UBSan, and runs every suite
# (unit, then integration against a private dockerd and registries that the
# suites start and stop themselves).
#   scripts/test.sh [extra ctest args]      e.g. scripts/test.sh -R daemon
#   CRISHIM_FUZZ_SECONDS=0 skips the fuzzing pass.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRISHIM_TEST_BUILD:-$root/build-test}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCRISHIM_SANITIZE=ON -DCRISHIM_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

# A release build (-O2 finds warnings the debug build does not), build only,
# in its own tree; CRISHIM_RELEASE_BUILD=0 skips it.
if [ "${CRISHIM_RELEASE_BUILD:-1}" != 0 ]; then
    release=${CRISHIM_RELEASE_BUILD_DIR:-$root/build-release}
    nice cmake -S "$root" -B "$release" -DCMAKE_BUILD_TYPE=Release -DCRISHIM_WERROR=ON >/dev/null
    nice cmake --build "$release" -j"$(nproc)"
fi

fuzz_secs=${CRISHIM_FUZZ_SECONDS:-15}
if [ "$fuzz_secs" -gt 0 ]; then
    "$root/scripts/fuzz.sh" "$fuzz_secs"
fi

# Leaks fail the run. The quarantine (freed memory ASan holds back to catch
# use-after-free) is capped at 64 MiB rather than 256: the soak tests judge
# crishim's private dirty memory from one round to the next, and a quarantine
# still filling up in round two looks like growth.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0:quarantine_size_mb=64}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
