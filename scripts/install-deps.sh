#!/usr/bin/env bash
# Installs the Debian packages crishim needs to build, run and test. Fast when
# everything is there already (no apt call at all). Needs root to install.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config
    libgrpc-dev protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
    libcurl4-openssl-dev libjsmn-dev zlib1g-dev
    check libsubunit-dev
    # engines, registry and test images
    docker.io containerd runc docker-registry busybox-static apache2-utils
    iproute2 iptables curl ca-certificates
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
# node and npm run the grpc-js interop test; keep whatever node the machine has.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
