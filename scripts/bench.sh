#!/usr/bin/env bash
# The benchmark: builds crishim optimised, starts a private engine and
# registry (scripts/test-env.sh), runs crishim on it, makes some pods, and
# prints crishim-bench's tables: each CRI call and each pod lifecycle step
# beside its floor, and their ratio.
#   sudo scripts/bench.sh [--backend docker|containerd] [PODS] [lists|density|steps]
# --backend docker (the default): crishim on the private dockerd; the floor
# is the same work done on the Docker API directly.
# --backend containerd: crishim on the private containerd; the floor is
# containerd's own CRI plugin, on a second private containerd (own root,
# state, sockets and CNI bridge; the test registry as a plain-http mirror;
# crishim's pause image as its sandbox image), sent the very same CRI calls.
# PODS pods (default 20) are made on each side.
# "lists" times only the calls that grow with the number of containers
# (ListContainers, ListContainerStats, ListPodSandboxMetrics): for 100 or 500.
# "density" makes PODS pods and reports crishim's private dirty memory per
# running container and its RSS after teardown against idle (500 takes
# minutes). "steps" runs only the lifecycle steps beside their floor.
# CRISHIM_BENCH_ROUNDS: lifecycle rounds per step (default 20).
set -euo pipefail
PROG=bench
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
build=${CRISHIM_BENCH_BUILD:-$root/build-bench}
usage() {
    echo "usage: scripts/bench.sh [--backend docker|containerd] [PODS] [lists|density|steps]" >&2
    exit 2
}
backend=docker
if [ "${1:-}" = --backend ]; then
    [ $# -ge 2 ] || usage
    backend=$2
    shift 2
fi
case $backend in docker | containerd) ;; *) usage ;; esac
pods=${1:-20}
only=()
case ${2:-} in
lists | density | steps) only=(--only "$2") ;;
"") ;;
*) usage ;;
esac

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target crishim crishim-pause crishim-bench >/dev/null

envdir=$build/benchenv
cri=/tmp/cst-bench-cri-$(short_hash "$build")
cleanup() {
    [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    if [ -n "${cpid:-}" ]; then
        stop_pid "$cpid" "--config $cri/config.toml" containerd 20
        # The bench removes the plugin's pods; shims of any it could not
        # (a failed run) outlive their containerd.
        for p in $(pids_matching "-address $cri/c.sock"); do stop_pid "$p" "-address $cri/c.sock" containerd-shim 10; done
        umount -R "$cri/root" 2>/dev/null || true
        ip link del "cstcri${h:0:6}" 2>/dev/null || true
        rm -rf --one-file-system "$cri"
    fi
    "$root/scripts/test-env.sh" stop "$envdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$root/scripts/test-env.sh" start "$envdir" >/dev/null
"$root/scripts/build-test-images.sh" "$envdir" >/dev/null
get() { sed -n "s/^$1=//p" "$envdir/env" | tail -n 1; }
registry=$(get CRISHIM_TEST_REGISTRY)

# containerd's own CRI plugin on a containerd of its own.
start_cri() {
    mkdir -p "$cri/root" "$cri/state" "$cri/opt" "$cri/cni"
    # The CRI plugin's pods get their own bridge and /24 (by hash, as the test
    # environment picks its own).
    h=$(short_hash "$cri")
    local net=$((16#${h:0:2} % 200 + 20))
    cat >"$cri/cni/10-bench.conflist" <<JSON
{"cniVersion": "1.0.0", "name": "cst-bench-cri", "plugins": [
  {"type": "bridge", "bridge": "cstcri${h:0:6}", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.250.$net.0/24"}]],
            "dataDir": "$cri/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
    cat >"$cri/config.toml" <<TOML
version = 2
root = "$cri/root"
state = "$cri/state"
[grpc]
  address = "$cri/c.sock"
[ttrpc]
  address = "$cri/c.sock.ttrpc"
[debug]
  address = "$cri/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$cri/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$registry/crishim/pause:1.0"
  # Root here may lack CAP_SYS_RESOURCE: the pause's -998 would fail runc.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cri/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$registry"]
    endpoint = ["http://$registry"]
TOML
    # A second containerd with CRI watches many files (its CNI directory, the
    # shims): the default 128 inotify instances run out on a busy machine.
    [ "$(sysctl -n fs.inotify.max_user_instances)" -ge 1024 ] || sysctl -qw fs.inotify.max_user_instances=1024
    # spawn: no inherited fd, so a `flock /tmp/crishim-it.lock` around this
    # script is never held by the daemon.
    spawn "$cri/pid" "$cri/log" containerd --config "$cri/config.toml"
    cpid=$(pid_read "$cri/pid")
    wait_until 30 test -S "$cri/c.sock" || die "containerd with CRI did not start (see $cri/log)"
}

sock=$envdir/crishim-bench.sock
if [ "$backend" = docker ]; then
    "$build/crishim" --listen "unix://$sock" --backend docker --docker-host "$(get CRISHIM_TEST_DOCKER_HOST)" \
        --log-level warn 2>"$envdir/crishim.log" &
    pid=$!
    floor=(--docker "$(get CRISHIM_TEST_DOCKER_HOST)")
    engine="docker private test engine"
else
    start_cri
    "$build/crishim" --listen "unix://$sock" --backend containerd \
        --containerd-address "$(get CRISHIM_TEST_CONTAINERD_ADDRESS)" \
        --cni-conf-dir "$(get CRISHIM_TEST_CNI_CONF_DIR)" --cni-bin-dir "$(get CRISHIM_TEST_CNI_BIN_DIR)" \
        --state-dir "$envdir/bench-state" --log-level warn 2>"$envdir/crishim.log" &
    pid=$!
    floor=(--cri "unix:$cri/c.sock")
    engine="containerd $(containerd --version | awk '{print $3}') (crishim on the private one; its CRI plugin on a second)"
fi
wait_until 10 test -S "$sock" || die "crishim did not start (see $envdir/crishim.log)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); $engine"
"$build/crishim-bench" --crishim "unix:$sock" "${floor[@]}" --pid "$pid" \
    --image "$(get CRISHIM_TEST_IMG_BUSYBOX)" --pods "$pods" --rounds "${CRISHIM_BENCH_ROUNDS:-20}" "${only[@]}"
