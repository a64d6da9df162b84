#!/usr/bin/env bash
# A private test environment: a dockerd and two registries (one open, one
# behind htpasswd basic auth) on loopback, with their own data, sockets,
# pidfiles and Linux bridge under DIR, so an engine the user runs is never
# touched. Tests read DIR/env (KEY=VALUE lines).
#
#   scripts/test-env.sh start|stop|status DIR
#   scripts/test-env.sh stop-dockerd|start-dockerd|restart-dockerd DIR
set -euo pipefail

usage() { echo "usage: $0 start|stop|status|stop-dockerd|start-dockerd|restart-dockerd DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)

# Unix socket paths are limited to 108 bytes: sockets and the exec root live
# under a short directory named after a hash of DIR, which also names the
# bridge and picks the subnet, so two environments coexist.
hash=$(printf '%s' "$dir" | sha256sum | cut -c1-8)
short=/tmp/cst-$hash
bridge=cst$hash
subnet_octet=$((16#${hash:0:2}))
bridge_cidr=10.213.$subnet_octet.1/24
docker_sock=$short/docker.sock
docker_pid=$dir/dockerd.pid
envfile=$dir/env
auth_user=crishim
auth_pass=s3cret

log() { echo "test-env: $*" >&2; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    log "no free port found"
    exit 1
}

wait_for() { # what, seconds, command...
    local what=$1 secs=$2
    shift 2
    for _ in $(seq $((secs * 10))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    log "$what did not come up in ${secs}s"
    return 1
}

docker_ping() { curl -fsS --max-time 2 --unix-socket "$docker_sock" http://localhost/_ping; }

ensure_bridge() {
    if ! ip link show "$bridge" >/dev/null 2>&1; then
        ip link add "$bridge" type bridge
        ip addr add "$bridge_cidr" dev "$bridge"
    fi
    ip link set "$bridge" up
}

start_dockerd() {
    if pid_alive "$docker_pid" && docker_ping; then
        return 0
    fi
    mkdir -p "$dir/docker-data" "$short"
    ensure_bridge
    rm -f "$docker_sock"
    # --iptables=false and --ip-masq=false: the host firewall stays untouched;
    # published ports go through docker-proxy on loopback.
    dockerd \
        --data-root "$dir/docker-data" \
        --exec-root "$short/exec" \
        --pidfile "$docker_pid" \
        -H "unix://$docker_sock" \
        --bridge "$bridge" \
        --iptables=false --ip-masq=false \
        --containerd-namespace "cst$hash" \
        --containerd-plugins-namespace "cst$hash-plugins" \
        --group root \
        >>"$dir/dockerd.log" 2>&1 &
    if ! wait_for dockerd 60 docker_ping; then
        tail -n 30 "$dir/dockerd.log" >&2
        exit 1
    fi
}

stop_dockerd() {
    if pid_alive "$docker_pid"; then
        local pid
        pid=$(cat "$docker_pid")
        kill -CONT "$pid" 2>/dev/null || true # a test may have frozen it
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            log "dockerd did not stop; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$docker_pid" "$docker_sock"
}

start_registry() { # name port [auth]
    local name=$1 port=$2 auth=${3:-}
    local rdir=$dir/$name
    mkdir -p "$rdir/data"
    if pid_alive "$rdir/pid" && curl -fsS -o /dev/null "http://127.0.0.1:$(cat "$rdir/port")/v2/" -u "$auth_user:$auth_pass"; then
        return 0
    fi
    echo "$port" >"$rdir/port"
    {
        echo "version: 0.1"
        echo "log: {level: warn}"
        echo "storage:"
        echo "  filesystem: {rootdirectory: $rdir/data}"
        echo "  delete: {enabled: true}"
        echo "http: {addr: 127.0.0.1:$port}"
        if [ -n "$auth" ]; then
            htpasswd -Bbn "$auth_user" "$auth_pass" >"$rdir/htpasswd"
            echo "auth:"
            echo "  htpasswd: {realm: crishim-test, path: $rdir/htpasswd}"
        fi
    } >"$rdir/config.yml"
    docker-registry serve "$rdir/config.yml" >>"$rdir/log" 2>&1 &
    echo $! >"$rdir/pid"
    # 200 for the open registry, 401 for the auth one: both mean it is up.
    if ! wait_for "registry $name" 30 curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then
        tail -n 20 "$rdir/log" >&2
        exit 1
    fi
}

stop_registry() {
    local rdir=$dir/$1
    if pid_alive "$rdir/pid"; then
        kill -TERM "$(cat "$rdir/pid")" 2>/dev/null || true
        for _ in $(seq 50); do pid_alive "$rdir/pid" || break; sleep 0.1; done
        kill -KILL "$(cat "$rdir/pid")" 2>/dev/null || true
    fi
    rm -f "$rdir/pid"
}

registry_port() {
    local rdir=$dir/$1
    if pid_alive "$rdir/pid" && [ -f "$rdir/port" ]; then cat "$rdir/port"; else free_port; fi
}

write_env() {
    local tmp=$envfile.tmp
    {
        echo "CRISHIM_TEST_DIR=$dir"
        echo "CRISHIM_TEST_SHORT_DIR=$short"
        echo "CRISHIM_TEST_DOCKER_HOST=unix://$docker_sock"
        echo "CRISHIM_TEST_DOCKER_PID=$(cat "$docker_pid" 2>/dev/null || echo 0)"
        echo "CRISHIM_TEST_BRIDGE=$bridge"
        echo "CRISHIM_TEST_REGISTRY=127.0.0.1:$(cat "$dir/registry/port")"
        echo "CRISHIM_TEST_AUTH_REGISTRY=127.0.0.1:$(cat "$dir/auth-registry/port")"
        echo "CRISHIM_TEST_AUTH_USER=$auth_user"
        echo "CRISHIM_TEST_AUTH_PASS=$auth_pass"
        # image references appended by build-test-images.sh
        [ -f "$dir/images.env" ] && cat "$dir/images.env"
    } >"$tmp"
    mv "$tmp" "$envfile"
}

cleanup_mounts() {
    # Leftovers of a killed dockerd (netns, overlay, shm) under our roots.
    local m
    for root in "$short" "$dir"; do
        awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done
    done
}

case $cmd in
start)
    command -v dockerd >/dev/null || { log "dockerd missing: run scripts/install-deps.sh"; exit 1; }
    start_dockerd
    start_registry registry "$(registry_port registry)"
    start_registry auth-registry "$(registry_port auth-registry)" auth
    write_env
    log "ready: $envfile"
    ;;
stop)
    stop_dockerd
    stop_registry registry
    stop_registry auth-registry
    cleanup_mounts
    ip link del "$bridge" 2>/dev/null || true
    rm -rf "$short" "$dir"
    ;;
status)
    pid_alive "$docker_pid" && docker_ping >/dev/null && echo "dockerd: running ($docker_sock)" || echo "dockerd: stopped"
    for r in registry auth-registry; do
        pid_alive "$dir/$r/pid" && echo "$r: running (127.0.0.1:$(cat "$dir/$r/port"))" || echo "$r: stopped"
    done
    ;;
stop-dockerd)
    stop_dockerd
    write_env
    ;;
start-dockerd)
    start_dockerd
    write_env
    ;;
restart-dockerd)
    stop_dockerd
    start_dockerd
    write_env
    ;;
*)
    usage
    ;;
esac
