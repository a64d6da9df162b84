#!/usr/bin/env bash
# A private test environment for crishim's integration tests: a dockerd of its
# own (with the containerd it manages) on a Linux bridge of its own, a private
# containerd of crishim's own (for the containerd backend; its CRI plugin off),
# and two registries on loopback, one open and one behind htpasswd basic auth. Data,
# sockets, pidfiles and logs all live under DIR, so the user's engines
# (/var/run/docker.sock, /run/containerd) and their data are never touched,
# and two environments with different DIRs run side by side. Tests read
# DIR/env: KEY=VALUE lines, no quotes, that C parses and shell can source.
#
# Each component (dockerd, containerd, registry, auth-registry) has start_X,
# stop_X, status_X and env_X functions and an entry in COMPONENTS.
set -euo pipefail
PROG=test-env
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat >&2 <<EOF
usage: $0 COMMAND DIR
  start            start dockerd, containerd and both registries under DIR, write DIR/env
                   (quick no-op, bar rewriting DIR/env, when already running)
  stop             stop everything, unmount leftovers, delete the bridge,
                   remove DIR (succeeds when nothing runs)
  status           show what runs; exit 0 when everything does, 3 otherwise
  stop-dockerd     stop only dockerd and its containerd (an engine outage)
  start-dockerd    start them again with the same directories
  restart-dockerd  stop-dockerd, then start-dockerd
  stop-containerd  stop only the private containerd (an engine outage)
  start-containerd start it again with the same directories
Extra dockerd flags: CRISHIM_TEST_DOCKERD_ARGS="--flag ..." (kept across restarts).
EOF
    exit 2
}

if [ $# -ne 2 ] || [ -z "$2" ]; then usage; fi
cmd=$1
case $cmd in
start | stop | status | stop-dockerd | start-dockerd | restart-dockerd | stop-containerd | start-containerd) ;;
*) usage ;;
esac
dir=$(realpath -m -- "$2")
[ "$dir" != / ] || die "DIR must not be /"

# ---- layout ----
# Unix socket paths hold at most 107 bytes, and dockerd and its containerd put
# sockets up to 33 bytes deep under the exec root: a DIR longer than 50 bytes
# gets its sockets and exec root under /tmp/cst-HASH instead. The hash of DIR
# also names the bridge and seeds the subnet, so environments don't collide.
hash=$(short_hash "$dir")
if [ ${#dir} -le 50 ]; then run=$dir; else run=/tmp/cst-$hash; fi
marker=.crishim-test-env
state=$dir/state
envfile=$dir/env
bridge=cst$hash

dk=$dir/dockerd
dk_data=$dk/data
dk_exec=$run/exec
dk_sock=$run/docker.sock
dk_pid=$dk/pid
dk_log=$dk/log
dk_pat="--data-root $dk_data "
dk_ns=cst$hash
ctd_pidfile=$dk_exec/containerd/containerd.pid
ctd_pat="$dk_exec/containerd/containerd.toml"
shim_pat="-address $dk_exec/containerd/containerd.sock"

# crishim's own containerd: data under DIR, sockets and state under the run
# dir (its ttrpc socket is 38 bytes deep), never /etc/containerd/config.toml.
cd_dir=$dir/containerd
cd_conf=$cd_dir/config.toml
cd_run=$run/ctrd
cd_sock=$cd_run/containerd.sock
cd_pid=$cd_dir/pid
cd_log=$cd_dir/log
cd_pat="--config $cd_conf"

auth_user=crishim
auth_pass=s3cret

# Pod networks for the containerd backend: a CNI config of the env's own
# (bridge, host-local IPAM with its data under DIR, portmap), its own bridge
# name and subnet, read by crishim through --cni-conf-dir.
cni_dir=$dir/cni
cni_conf_dir=$cni_dir/net.d
cni_bridge=csc$hash
cni_name=crishim-test-$hash

COMPONENTS=(dockerd containerd registry auth_registry cni)

# ---- the directory and its lock ----

is_ours() { [ -e "$dir/$marker" ] || grep -q '^CRISHIM_TEST_DIR=' "$dir/env" 2>/dev/null; }

prepare_dir() {
    if [ -d "$dir" ] && ! is_ours && [ -n "$(ls -A "$dir")" ]; then
        die "$dir is not empty and is not a crishim test environment; pick another DIR"
    fi
    mkdir -p "$dir" "$run"
    touch "$dir/$marker" "$run/$marker"
}

lock() {
    exec 9>>"$dir/.lock"
    flock -w 600 9 || die "another test-env.sh has held $dir/.lock for 10 minutes"
}

# ---- the bridge ----

subnet_taken() { # second octet, third octet
    ip -4 -o addr show | grep -q " inet 10\.$1\.$2\." && return 0
    [ -n "$(ip -4 route show "10.$1.$2.0/24" 2>/dev/null)" ]
}

pick_cidr() { # state key, second octet: 10.<octet>.<by hash, free>.1/24, kept in the state file
    local cidr n i
    cidr=$(kv_get "$state" "$1")
    if [ -z "$cidr" ]; then
        n=$((16#${hash:0:2}))
        for i in $(seq 0 255); do
            subnet_taken "$2" $(((n + i) % 256)) || break
        done
        cidr=10.$2.$(((n + i) % 256)).1/24
        kv_set "$state" "$1" "$cidr"
    fi
    echo "$cidr"
}

bridge_cidr() { pick_cidr BRIDGE_CIDR 213; }

start_bridge() {
    local cidr
    cidr=$(bridge_cidr)
    ip link show dev "$bridge" >/dev/null 2>&1 || ip link add name "$bridge" type bridge
    if ! ip -4 -o addr show dev "$bridge" | grep -qF " inet $cidr "; then
        ip addr flush dev "$bridge"
        ip addr add "$cidr" dev "$bridge"
    fi
    ip link set dev "$bridge" up
}

stop_bridge() {
    if ip link show dev "$bridge" >/dev/null 2>&1; then
        ip link del dev "$bridge" || log "could not delete bridge $bridge"
    fi
}

# ---- dockerd and the containerd it manages ----

dockerd_pid() { # ours, alive, or nothing
    local p
    for p in "$(pid_read "$dk_pid")" "$(pid_read "$dk/dockerd.pid")"; do
        proc_matches "$p" "$dk_pat" && { echo "$p"; return 0; }
    done
    return 0
}

docker_ping() { [ "$(curl -sS --max-time 2 --unix-socket "$dk_sock" http://localhost/_ping 2>/dev/null)" = OK ]; }

dockerd_args() {
    local extra
    extra=${CRISHIM_TEST_DOCKERD_ARGS-$(kv_get "$state" DOCKERD_ARGS)}
    kv_set "$state" DOCKERD_ARGS "$extra"
    # --iptables/--ip-masq/--ip-forward=false: the host firewall and sysctls
    # stay as they are; published ports go through docker-proxy.
    # No --containerd: dockerd starts its own under the exec root.
    printf '%s\n' --config-file "$dk/daemon.json" --data-root "$dk_data" --exec-root "$dk_exec" \
        --pidfile "$dk/dockerd.pid" -H "unix://$dk_sock" --group "$(id -gn)" \
        --bridge "$bridge" --iptables=false --ip-masq=false --ip-forward=false \
        --containerd-namespace "$dk_ns" --containerd-plugins-namespace "$dk_ns-plugins"
    # shellcheck disable=SC2086 # extra flags are split on blanks on purpose
    [ -z "$extra" ] || printf '%s\n' $extra
}

start_dockerd() {
    local pid args
    pid=$(dockerd_pid)
    if [ -n "$pid" ]; then
        kill -CONT "$pid" 2>/dev/null || true # a test may have frozen it
        wait_until 10 docker_ping && return 0
        log "dockerd (pid $pid) does not answer; restarting it"
        stop_dockerd
    fi
    start_bridge
    mkdir -p "$dk_data" "$dk_exec"
    [ -f "$dk/daemon.json" ] || echo '{}' >"$dk/daemon.json" # never /etc/docker/daemon.json
    rm -f "$dk_sock" "$dk/dockerd.pid"
    # A containerd pidfile naming someone else's process would make dockerd
    # wait for a containerd that is not ours.
    proc_matches "$(pid_read "$ctd_pidfile")" "$ctd_pat" || rm -f "$ctd_pidfile"
    mapfile -t args < <(dockerd_args)
    printf '\n==== %s: dockerd %s\n' "$(date '+%F %T')" "${args[*]}" >>"$dk_log"
    spawn "$dk_pid" "$dk_log" dockerd "${args[@]}"
    pid=$(pid_read "$dk_pid")
    for _ in $(seq 600); do
        docker_ping && return 0
        if ! proc_matches "$pid" "$dk_pat"; then
            tail -n 40 "$dk_log" >&2
            die "dockerd exited during startup (log above: $dk_log)"
        fi
        sleep 0.1
    done
    tail -n 40 "$dk_log" >&2
    die "dockerd (pid $pid) did not answer /_ping on $dk_sock within 60s (log above: $dk_log)"
}

stop_dockerd() {
    local p
    # Containers get dockerd's shutdown timeout (15s) to stop.
    for p in $(dockerd_pid) $(pids_matching "$dk_pat"); do
        stop_pid "$p" "$dk_pat" dockerd 60
    done
    # Its containerd exits with it, unless dockerd was killed.
    for p in $(pid_read "$ctd_pidfile") $(pids_matching "$ctd_pat"); do
        stop_pid "$p" "$ctd_pat" containerd 20
    done
    rm -f "$dk_pid" "$dk/dockerd.pid" "$dk_sock"
}

# After a killed dockerd: containers, their shims and docker-proxy processes.
stop_dockerd_leftovers() {
    local root id p prefix
    if command -v runc >/dev/null; then
        for root in "$dk_exec"/runtime-runc/*/; do
            [ -d "$root" ] || continue
            for id in $(runc --root "$root" list -q 2>/dev/null); do
                runc --root "$root" kill "$id" KILL 2>/dev/null || true
                runc --root "$root" delete -f "$id" 2>/dev/null || true
            done
        done
    fi
    for p in $(pids_matching "$shim_pat"); do stop_pid "$p" "$shim_pat" containerd-shim 10; done
    prefix=$(kv_get "$state" BRIDGE_CIDR)
    prefix=${prefix%.*}
    if [ -n "$prefix" ]; then
        for p in $(pids_matching "-container-ip $prefix."); do
            proc_matches "$p" docker-proxy && stop_pid "$p" "-container-ip $prefix." docker-proxy 10
        done
    fi
    return 0
}

status_dockerd() {
    local pid cpid
    pid=$(dockerd_pid)
    if [ -n "$pid" ] && docker_ping; then
        echo "dockerd:       running, pid $pid, unix://$dk_sock"
    elif [ -n "$pid" ]; then
        echo "dockerd:       not answering, pid $pid, unix://$dk_sock"
        return 1
    else
        echo "dockerd:       stopped"
        return 1
    fi
    cpid=$(pid_read "$ctd_pidfile")
    if proc_matches "$cpid" "$ctd_pat"; then
        echo "containerd:    running, pid $cpid (dockerd's, namespace $dk_ns)"
    fi
}

env_dockerd() {
    local pid
    pid=$(dockerd_pid)
    echo "CRISHIM_TEST_DOCKER_HOST=unix://$dk_sock"
    echo "CRISHIM_TEST_DOCKER_PID=${pid:-0}"
    echo "CRISHIM_TEST_DOCKER_DATA_ROOT=$dk_data"
    echo "CRISHIM_TEST_DOCKER_EXEC_ROOT=$dk_exec"
    echo "CRISHIM_TEST_DOCKER_LOG=$dk_log"
    echo "CRISHIM_TEST_DOCKER_NAMESPACE=$dk_ns"
    echo "CRISHIM_TEST_BRIDGE=$bridge"
    echo "CRISHIM_TEST_BRIDGE_CIDR=$(kv_get "$state" BRIDGE_CIDR)"
}

# ---- crishim's own containerd (the containerd backend's engine) ----

containerd_ping() { [ -S "$cd_sock" ] && timeout 3 ctr --address "$cd_sock" version >/dev/null 2>&1; }

containerd_config() {
    mkdir -p "$cd_dir/root" "$cd_dir/opt" "$cd_run/state"
    cat >"$cd_conf" <<EOF
version = 2
root = "$cd_dir/root"
state = "$cd_run/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$cd_sock"

[ttrpc]
  address = "$cd_sock.ttrpc"

[debug]
  address = "$cd_run/debug.sock"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$cd_dir/opt"
EOF
}

containerd_pid() { # ours, alive, or nothing
    local p
    p=$(pid_read "$cd_pid")
    proc_matches "$p" "$cd_pat" && echo "$p"
    return 0
}

start_containerd() {
    local pid
    pid=$(containerd_pid)
    if [ -n "$pid" ]; then
        kill -CONT "$pid" 2>/dev/null || true # a test may have frozen it
        wait_until 10 containerd_ping && return 0
        log "containerd (pid $pid) does not answer; restarting it"
        stop_containerd
    fi
    containerd_config
    rm -f "$cd_sock" "$cd_sock.ttrpc" "$cd_run/debug.sock"
    printf '\n==== %s: containerd %s\n' "$(date '+%F %T')" "$cd_pat" >>"$cd_log"
    spawn "$cd_pid" "$cd_log" containerd --config "$cd_conf"
    pid=$(pid_read "$cd_pid")
    for _ in $(seq 300); do
        containerd_ping && return 0
        if ! proc_matches "$pid" "$cd_pat"; then
            tail -n 40 "$cd_log" >&2
            die "containerd exited during startup (log above: $cd_log)"
        fi
        sleep 0.1
    done
    tail -n 40 "$cd_log" >&2
    die "containerd (pid $pid) did not answer on $cd_sock within 30s (log above: $cd_log)"
}

stop_containerd() {
    local p
    for p in $(containerd_pid) $(pids_matching "$cd_pat"); do
        stop_pid "$p" "$cd_pat" containerd 20
    done
    rm -f "$cd_pid" "$cd_sock" "$cd_sock.ttrpc" "$cd_run/debug.sock"
}

# After a stopped or killed containerd: its tasks' containers (they outlive
# the shim; runc's root under /run/containerd/runc is shared by every
# containerd on the host, ours are those whose bundle is in our state dir),
# then the shims (they name its socket).
stop_containerd_leftovers() {
    local p root id
    if command -v runc >/dev/null; then
        for root in /run/containerd/runc/*/; do
            [ -d "$root" ] || continue
            for id in $(runc --root "$root" list -q 2>/dev/null); do
                runc --root "$root" state "$id" 2>/dev/null | grep -qF "\"bundle\": \"$cd_run/state/" || continue
                runc --root "$root" kill "$id" KILL 2>/dev/null || true
                runc --root "$root" delete -f "$id" 2>/dev/null || true
            done
        done
    fi
    for p in $(pids_matching "-address $cd_sock"); do stop_pid "$p" "-address $cd_sock" containerd-shim 10; done
    return 0
}

status_containerd() {
    local pid
    pid=$(containerd_pid)
    if [ -n "$pid" ] && containerd_ping; then
        echo "containerd:    running, pid $pid, unix://$cd_sock (crishim's own)"
    elif [ -n "$pid" ]; then
        echo "containerd:    not answering, pid $pid, unix://$cd_sock"
        return 1
    else
        echo "containerd:    stopped (crishim's own)"
        return 1
    fi
}

env_containerd() {
    local pid
    pid=$(containerd_pid)
    echo "CRISHIM_TEST_CONTAINERD_ADDRESS=$cd_sock"
    echo "CRISHIM_TEST_CONTAINERD_PID=${pid:-0}"
    echo "CRISHIM_TEST_CONTAINERD_ROOT=$cd_dir/root"
    echo "CRISHIM_TEST_CONTAINERD_LOG=$cd_log"
}

# ---- the CNI config for crishim's pods on containerd ----

cni_subnet() { # 10.214.N.0/24
    local cidr
    cidr=$(pick_cidr CNI_CIDR 214)
    echo "${cidr%.*}.0/24"
}

start_cni() {
    local subnet
    subnet=$(cni_subnet)
    mkdir -p "$cni_conf_dir" "$cni_dir/ipam"
    # No ipMasq: the host's firewall stays as it is (portmap's own chains
    # come and go with the pods that map ports).
    cat >"$cni_conf_dir/10-crishim-test.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$cni_name",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$cni_bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$subnet"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$cni_dir/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

stop_cni() {
    local cidr prefix ns
    # Pods a failed suite left behind: their netns (crishim names them
    # /var/run/netns/cni-*, as containerd's CRI does) hold an address of ours.
    cidr=$(kv_get "$state" CNI_CIDR)
    prefix=${cidr%.*}
    if [ -n "$prefix" ] && command -v nsenter >/dev/null; then
        for ns in /var/run/netns/cni-*; do
            [ -e "$ns" ] || continue
            if nsenter --net="$ns" ip -4 -o addr show 2>/dev/null | grep -qF " inet $prefix."; then
                umount -l "$ns" 2>/dev/null || true
                rm -f "$ns"
            fi
        done
    fi
    if ip link show dev "$cni_bridge" >/dev/null 2>&1; then
        ip link del dev "$cni_bridge" || log "could not delete bridge $cni_bridge"
    fi
}

status_cni() {
    if [ -f "$cni_conf_dir/10-crishim-test.conflist" ]; then
        echo "cni:           $cni_conf_dir (bridge $cni_bridge, $(kv_get "$state" CNI_CIDR))"
    else
        echo "cni:           no config"
        return 1
    fi
}

env_cni() {
    echo "CRISHIM_TEST_CNI_CONF_DIR=$cni_conf_dir"
    echo "CRISHIM_TEST_CNI_BIN_DIR=/usr/lib/cni"
    echo "CRISHIM_TEST_CNI_IPAM_DIR=$cni_dir/ipam/$cni_name"
    echo "CRISHIM_TEST_CNI_BRIDGE=$cni_bridge"
    echo "CRISHIM_TEST_STATE_DIR=$dir/crishim-state"
}

# ---- registries (Debian's docker-registry, distribution 2.8) ----

registry_up() { # port: answers as a registry (200 open, 401 with auth)
    curl -sS --max-time 2 -o /dev/null -D - "http://127.0.0.1:$1/v2/" 2>/dev/null |
        tr -d '\r' | grep -qi '^docker-distribution-api-version: registry/2'
}

registry_config() { # name port auth
    local rdir=$dir/$1 port=$2 auth=$3
    {
        echo "version: 0.1"
        echo "log:"
        echo "  level: warn"
        echo "storage:"
        echo "  filesystem:"
        echo "    rootdirectory: $rdir/data"
        echo "  delete:"
        echo "    enabled: true"
        echo "http:"
        echo "  addr: 127.0.0.1:$port"
        echo "  secret: $(head -c 32 /dev/urandom | sha256sum | cut -c1-32)"
        if [ "$auth" = auth ]; then
            echo "auth:"
            echo "  htpasswd:"
            echo "    realm: crishim-test"
            echo "    path: $rdir/htpasswd"
        fi
    } >"$rdir/config.yml"
}

start_registry_named() { # name statekey open|auth
    local name=$1 key=$2 auth=$3 rdir=$dir/$1 pat port pid try i
    pat="$rdir/config.yml"
    port=$(kv_get "$state" "$key")
    if [ -n "$port" ] && pidfile_alive "$rdir/pid" "$pat" && registry_up "$port"; then
        return 0
    fi
    stop_registry_named "$name"
    mkdir -p "$rdir/data"
    [ "$auth" = open ] || htpasswd -Bbn "$auth_user" "$auth_pass" >"$rdir/htpasswd" 2>/dev/null
    for try in 1 2 3 4 5; do
        if [ -z "$port" ] || port_in_use "$port"; then port=$(free_port); fi
        registry_config "$name" "$port" "$auth"
        printf '\n==== %s: registry on 127.0.0.1:%s\n' "$(date '+%F %T')" "$port" >>"$rdir/log"
        spawn "$rdir/pid" "$rdir/log" docker-registry serve "$rdir/config.yml"
        pid=$(pid_read "$rdir/pid")
        for i in $(seq 300); do
            if registry_up "$port" && proc_matches "$pid" "$pat"; then
                kv_set "$state" "$key" "$port"
                return 0
            fi
            proc_matches "$pid" "$pat" || break
            sleep 0.1
        done
        if proc_matches "$pid" "$pat"; then
            tail -n 20 "$rdir/log" >&2
            die "$name did not answer on 127.0.0.1:$port within 30s (log above: $rdir/log)"
        fi
        if tail -n 5 "$rdir/log" | grep -q 'address already in use'; then
            log "$name: port $port was taken meanwhile (try $try); picking another"
            port=
            continue
        fi
        tail -n 20 "$rdir/log" >&2
        die "$name exited during startup (log above: $rdir/log)"
    done
    die "$name: no port worked"
}

stop_registry_named() {
    local rdir=$dir/$1 p
    for p in $(pid_read "$rdir/pid") $(pids_matching "$rdir/config.yml"); do
        stop_pid "$p" "$rdir/config.yml" "$1" 10
    done
    rm -f "$rdir/pid"
}

status_registry_named() { # name statekey label
    local rdir=$dir/$1 port pid
    port=$(kv_get "$state" "$2")
    pid=$(pid_read "$rdir/pid")
    if proc_matches "$pid" "$rdir/config.yml" && [ -n "$port" ] && registry_up "$port"; then
        printf '%-14s running, pid %s, 127.0.0.1:%s%s\n' "$1:" "$pid" "$port" "$3"
    else
        printf '%-14s stopped\n' "$1:"
        return 1
    fi
}

start_registry() { start_registry_named registry REGISTRY_PORT open; }
stop_registry() { stop_registry_named registry; }
status_registry() { status_registry_named registry REGISTRY_PORT ""; }
env_registry() { echo "CRISHIM_TEST_REGISTRY=127.0.0.1:$(kv_get "$state" REGISTRY_PORT)"; }

start_auth_registry() { start_registry_named auth-registry AUTH_REGISTRY_PORT auth; }
stop_auth_registry() { stop_registry_named auth-registry; }
status_auth_registry() { status_registry_named auth-registry AUTH_REGISTRY_PORT " (basic auth, user $auth_user)"; }
env_auth_registry() {
    echo "CRISHIM_TEST_AUTH_REGISTRY=127.0.0.1:$(kv_get "$state" AUTH_REGISTRY_PORT)"
    echo "CRISHIM_TEST_AUTH_USER=$auth_user"
    echo "CRISHIM_TEST_AUTH_PASS=$auth_pass"
}

# ---- the env file ----

write_env() {
    local c tmp=$envfile.tmp.$$
    {
        echo "CRISHIM_TEST_DIR=$dir"
        echo "CRISHIM_TEST_RUN_DIR=$run"
        for c in "${COMPONENTS[@]}"; do "env_$c"; done
        # Image references from build-test-images.sh, for today's ports.
        [ -f "$dir/images/images.env" ] && render_images_env "$dir/images/images.env" \
            "127.0.0.1:$(kv_get "$state" REGISTRY_PORT)" "127.0.0.1:$(kv_get "$state" AUTH_REGISTRY_PORT)"
    } >"$tmp"
    mv -f "$tmp" "$envfile"
}

# ---- stop: whatever is left ----

unmount_all() {
    local m mounts
    for _ in 1 2 3; do
        mounts=$(awk '{ gsub(/\\040/, " ", $2); print $2 }' /proc/self/mounts |
            while IFS= read -r m; do
                case $m in "$dir" | "$dir"/* | "$run" | "$run"/*) printf '%s\n' "$m" ;; esac
            done | sort -r)
        [ -n "$mounts" ] || return 0
        while IFS= read -r m; do
            umount -l -- "$m" 2>/dev/null || true
        done <<<"$mounts"
    done
    log "still mounted after 3 passes: $(echo "$mounts" | tr '\n' ' ')"
}

remove_dirs() {
    if [ -d "$dir" ]; then
        if is_ours || [ -z "$(ls -A "$dir")" ]; then
            # --one-file-system: a mount that refused to go keeps its content
            rm -rf --one-file-system -- "$dir" || log "could not remove all of $dir"
        else
            log "not removing $dir: not a crishim test environment"
        fi
    fi
    if [ "$run" != "$dir" ] && [ -e "$run/$marker" ]; then
        rm -rf --one-file-system -- "$run" || log "could not remove all of $run"
    fi
}

# ---- commands ----

case $cmd in
start)
    need_root "starting a test environment"
    need_cmds dockerd containerd ctr docker-registry htpasswd ip curl setsid flock realpath
    prepare_dir
    lock
    for c in "${COMPONENTS[@]}"; do "start_$c"; done
    write_env
    log "ready: $envfile"
    ;;
stop)
    if [ -d "$dir" ] && is_ours; then lock; fi
    for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do "stop_${COMPONENTS[i]}"; done
    stop_dockerd_leftovers
    stop_containerd_leftovers
    unmount_all
    stop_bridge
    remove_dirs
    log "stopped: $dir"
    ;;
status)
    st=0
    echo "dir:           $dir"
    [ "$run" = "$dir" ] || echo "sockets:       $run"
    for c in "${COMPONENTS[@]}"; do "status_$c" || st=3; done
    if ip link show dev "$bridge" >/dev/null 2>&1; then
        echo "bridge:        $bridge $(kv_get "$state" BRIDGE_CIDR)"
    fi
    if [ -f "$dir/images/images.env" ]; then
        echo "images:        built (scripts/build-test-images.sh)"
    fi
    exit "$st"
    ;;
stop-dockerd | start-dockerd | restart-dockerd)
    is_ours || die "$dir is not a test environment (run: $0 start $dir)"
    lock
    [ "$cmd" = start-dockerd ] || stop_dockerd
    [ "$cmd" = stop-dockerd ] || { need_root "starting dockerd"; start_dockerd; }
    write_env
    ;;
stop-containerd | start-containerd)
    is_ours || die "$dir is not a test environment (run: $0 start $dir)"
    lock
    if [ "$cmd" = stop-containerd ]; then stop_containerd; else need_root "starting containerd"; start_containerd; fi
    write_env
    ;;
esac
