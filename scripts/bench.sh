#!/usr/bin/env bash
# The benchmark: builds crishim optimised, starts a private engine and
# registry (scripts/test-env.sh), runs crishim on it, makes some pods, and
# prints crishim-bench's tables (each CRI call, and each pod lifecycle step,
# beside the same work done on the Docker API directly).
#   sudo scripts/bench.sh [PODS] [lists|density|steps]   (default 20 pods)
# "lists" times only the calls that grow with the number of containers
# (ListContainers, ListContainerStats, ListPodSandboxMetrics): for 100 or 500.
# "density" makes PODS pods and reports crishim's private dirty memory per
# running container and its RSS after teardown against idle (500 takes
# minutes). "steps" runs only the lifecycle steps beside their Docker floor.
# CRISHIM_BENCH_ROUNDS: lifecycle rounds per step (default 20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRISHIM_BENCH_BUILD:-$root/build-bench}
pods=${1:-20}
only=()
case ${2:-} in
lists | density | steps) only=(--only "$2") ;;
"") ;;
*) echo "usage: scripts/bench.sh [PODS] [lists|density|steps]" >&2; exit 2 ;;
esac

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target crishim crishim-pause crishim-bench >/dev/null

envdir=$build/benchenv
cleanup() {
    [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    "$root/scripts/test-env.sh" stop "$envdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$root/scripts/test-env.sh" start "$envdir" >/dev/null
"$root/scripts/build-test-images.sh" "$envdir" >/dev/null
get() { sed -n "s/^$1=//p" "$envdir/env" | tail -n 1; }
sock=$envdir/crishim-bench.sock
"$build/crishim" --listen "unix://$sock" --backend docker --docker-host "$(get CRISHIM_TEST_DOCKER_HOST)" \
    --log-level warn 2>"$envdir/crishim.log" &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); docker $(get CRISHIM_TEST_DOCKER_HOST | sed 's/.*/private test engine/')"
"$build/crishim-bench" --crishim "unix:$sock" --docker "$(get CRISHIM_TEST_DOCKER_HOST)" --pid "$pid" \
    --image "$(get CRISHIM_TEST_IMG_BUSYBOX)" --pods "$pods" --rounds "${CRISHIM_BENCH_ROUNDS:-20}" "${only[@]}"
