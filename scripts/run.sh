#!/usr/bin/env bash
# The run command: installs dependencies, builds crishim, makes sure the local
# Docker engine is up, and runs crishim in the foreground on its default socket
# (/run/crishim/crishim.sock). Extra arguments go to crishim:
#   sudo scripts/run.sh --log-level debug
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${CRISHIM_BUILD:-$root/build}

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target crishim crishim-pause

docker_up() { curl -fsS --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1; }
if ! docker_up; then
    echo "run: the local Docker engine is not answering; starting it" >&2
    if command -v systemctl >/dev/null && systemctl start docker 2>/dev/null; then :
    elif command -v service >/dev/null && service docker start >/dev/null 2>&1; then :
    else
        nohup dockerd >/var/log/crishim-dockerd.log 2>&1 &
    fi
    for _ in $(seq 60); do docker_up && break; sleep 0.5; done
    docker_up || echo "run: docker still down; crishim will report RuntimeReady=false until it is up" >&2
fi
exec "$build/crishim" "$@"
