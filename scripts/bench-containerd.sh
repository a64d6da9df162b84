#!/usr/bin/env bash
# The containerd backend's ImageService beside containerd's own CRI plugin:
# builds crishim optimised, starts the private test environment (its
# containerd serves crishim) and a second private containerd with its CRI
# plugin on (own root, state, sockets, its own CNI bridge; the test registry
# as a plain-http mirror; crishim's pause image as its sandbox image), and
# prints crishim-bench-images' table (PullImage of present layers,
# ImageStatus, ListImages on each, and the ratio) and crishim-bench-steps'
# (each pod lifecycle step on each, and the ratio).
# CRISHIM_BENCH_ROUNDS: lifecycle rounds (default 20).
#   sudo scripts/bench-containerd.sh
set -euo pipefail
PROG=bench-containerd
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"
build=${CRISHIM_BENCH_BUILD:-$root/build-bench}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target crishim crishim-pause crishim-bench-images \
    crishim-bench-steps >/dev/null

envdir=$build/benchenv
cri=/tmp/cst-bench-cri-$(short_hash "$build")
cleanup() {
    [ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "${cpid:-}" ] && kill -TERM "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    umount -R "$cri/root" 2>/dev/null || true
    [ -z "${h:-}" ] || ip link del "cstcri${h:0:6}" 2>/dev/null || true
    rm -rf --one-file-system "$cri"
    "$root/scripts/test-env.sh" stop "$envdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
"$root/scripts/test-env.sh" start "$envdir" >/dev/null
"$root/scripts/build-test-images.sh" "$envdir" >/dev/null
get() { sed -n "s/^$1=//p" "$envdir/env" | tail -n 1; }
registry=$(get CRISHIM_TEST_REGISTRY)

mkdir -p "$cri/root" "$cri/state" "$cri/opt" "$cri/cni"
# The CRI plugin's pods get their own bridge and /24 (by hash, as the test
# environment picks its own).
h=$(short_hash "$cri")
net=$((16#${h:0:2} % 200 + 20))
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
containerd --config "$cri/config.toml" >"$cri/log" 2>&1 &
cpid=$!
wait_until 30 test -S "$cri/c.sock" || die "containerd with CRI did not start (see $cri/log)"

sock=$envdir/crishim-bench.sock
"$build/crishim" --listen "unix://$sock" --backend containerd --containerd-address "$(get CRISHIM_TEST_CONTAINERD_ADDRESS)" \
    --cni-conf-dir "$(get CRISHIM_TEST_CNI_CONF_DIR)" --cni-bin-dir "$(get CRISHIM_TEST_CNI_BIN_DIR)" \
    --state-dir "$envdir/bench-state" --log-level warn 2>"$envdir/crishim.log" &
pid=$!
wait_until 10 test -S "$sock" || die "crishim did not start (see $envdir/crishim.log)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); containerd $(containerd --version | awk '{print $3}')"
"$build/crishim-bench-images" --crishim "unix:$sock" --cri "unix:$cri/c.sock" --image "$(get CRISHIM_TEST_IMG_BUSYBOX)"
"$build/crishim-bench-steps" --crishim "unix:$sock" --cri "unix:$cri/c.sock" --image "$(get CRISHIM_TEST_IMG_BUSYBOX)" \
    --rounds "${CRISHIM_BENCH_ROUNDS:-20}"
