#!/usr/bin/env bash
# Installs the Debian 12 packages crishim needs to build, run and test.
# Idempotent and quick: when dpkg already has everything, apt is not run at
# all. Works without a TTY (CI=true): root runs apt itself, another user
# through passwordless sudo.
#
#   scripts/install-deps.sh
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config
    libgrpc-dev protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
    libprotobuf-dev # the well-known .proto files (any, empty, timestamp, field_mask) the containerd API imports
    libcurl4-openssl-dev libjsmn-dev zlib1g-dev libmicrohttpd-dev libwslay-dev libssl-dev
    # tests: Check, and the sanitizer runtimes for clang builds
    check libsubunit-dev clang libclang-rt-14-dev
    # the test environment: engines, registries, offline test images
    docker.io containerd runc docker-registry busybox-static apache2-utils
    iproute2 iptables curl ca-certificates
    # the CNI plugins (bridge, host-local, portmap, loopback) the containerd backend runs for pod networking
    containernetworking-plugins
    # throwaway certificates for the TLS tests; the incompressible layer of
    # crishim/big (build-test-images.sh)
    openssl
)

log() { echo "install-deps: $*" >&2; }

installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${packages[@]}" 2>/dev/null |
    sed -n 's/ install ok installed$//p' || true)
missing=()
for p in "${packages[@]}"; do
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
done
# node and npm run the grpc-js interop test. A node the machine already has
# (from any source) stays: Debian's nodejs comes only where there is none.
if ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs)
    command -v npm >/dev/null 2>&1 || missing+=(npm)
elif ! command -v npm >/dev/null 2>&1; then
    log "warning: node is installed without npm; not replacing it (the interop test will skip)"
fi

[ ${#missing[@]} -gt 0 ] || exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        log "missing packages: ${missing[*]}"
        log "run as root (or with passwordless sudo) to install them"
        exit 1
    fi
fi

log "installing: ${missing[*]}"
apt_opts=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
aptlog=$(mktemp)
trap 'rm -f "$aptlog"' EXIT
run_apt() {
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" "$@" >"$aptlog" 2>&1; then
        tail -n 30 "$aptlog" >&2
        log "apt-get $1 failed"
        exit 1
    fi
}
run_apt update
run_apt install --no-install-recommends "${missing[@]}"
log "done"
