#!/usr/bin/env bash
# Pushes offline equivalents of the images the CRI validation suite (cri-tools'
# critest) pulls from registry.k8s.io and gcr.io into the open registry of a
# scripts/test-env.sh environment, under the same repository paths. critest then
# runs with `-registry-prefix=<that registry>`, which rewrites every image it
# names to the local registry. Everything is built from Debian's busybox-static
# (and, for the NoNewPrivs image, a setuid program compiled here).
#   scripts/critest-images.sh DIR [--load-docker | --load-containerd NAMESPACE]
#       (after test-env.sh start DIR and build-test-images.sh DIR)
# Prints the registry to pass as -registry-prefix. critest creates containers
# under the images' original names (registry.k8s.io/…, gcr.io/…) and pulls
# only when ImageStatus misses, so --load-docker also pulls each image into
# the environment's dockerd and tags it with its original name, and
# --load-containerd does the same in that namespace of the environment's
# containerd (with ctr, containerd's own client: test setup, not crishim).
set -euo pipefail
PROG=critest-images
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage() { echo "usage: $0 DIR [--load-docker | --load-containerd NAMESPACE]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 3 ] || usage
load=${2:-}
ctrd_ns=${3:-}
case $load in "" | --load-docker) [ $# -le 2 ] || usage ;; --load-containerd) [ -n "$ctrd_ns" ] || usage ;; *) usage ;; esac
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(realpath -m -- "$1")
envfile=$dir/env
docker_host=$(kv_get "$envfile" CRISHIM_TEST_DOCKER_HOST)
reg=$(kv_get "$envfile" CRISHIM_TEST_REGISTRY)
[ -n "$docker_host" ] && [ -n "$reg" ] || die "$envfile lacks the dockerd or registry: run scripts/test-env.sh start $dir"
bb_root=$dir/images/rootfs-busybox
[ -d "$bb_root" ] || die "$bb_root missing: run scripts/build-test-images.sh $dir first"
need_cmds gcc curl tar

work=$dir/critest-images
stamp=$(cat "${BASH_SOURCE[0]}" "$src/tests/critest/nonewprivs.c" "$src/tests/critest/nginx.c" /bin/busybox |
    sha256sum | cut -c1-16)
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
export DOCKER_CONFIG=$work/docker-config DOCKER_API_VERSION=1.41
buildlog=$work/log
d() {
    if ! docker -H "$docker_host" "$@" >>"$buildlog" 2>&1; then
        tail -n 15 "$buildlog" >&2
        die "docker $1 failed (log: $buildlog)"
    fi
}
load_docker() { # each image under its original name in the dockerd
    local path
    while read -r path; do
        d pull "$reg/$path"
        d tag "$reg/$path" "$(original "$path")"
    done <"$work/images"
}
load_containerd() { # the same in a namespace of the environment's containerd
    local path sock
    sock=$(kv_get "$envfile" CRISHIM_TEST_CONTAINERD_ADDRESS)
    need_cmds ctr
    while read -r path; do
        ctr -a "$sock" -n "$ctrd_ns" images pull --plain-http "$reg/$path" >/dev/null ||
            die "ctr pull $reg/$path failed"
        ctr -a "$sock" -n "$ctrd_ns" images tag --force "$reg/$path" "$(original "$path")" >/dev/null
    done <"$work/images"
}
load_images() {
    case $load in
    --load-docker) load_docker ;;
    --load-containerd) load_containerd ;;
    esac
}
original() { # e2e-test-images/x:t -> registry.k8s.io/…, k8s-staging-cri-tools/… -> gcr.io/…
    case $1 in e2e-test-images/*) echo "registry.k8s.io/$1" ;; *) echo "gcr.io/$1" ;; esac
}

if [ "$(cat "$work/stamp" 2>/dev/null)" = "$stamp" ] &&
    curl -fsS --max-time 5 -o /dev/null "http://$reg/v2/e2e-test-images/nonewprivs/manifests/1.3" \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'; then
    load_images
    echo "$reg"
    exit 0
fi
rm -rf "$work"
mkdir -p "$work" "$DOCKER_CONFIG"

# Root filesystems: the test busybox tree plus what each image needs.
variant() { # name: a copy of the busybox tree at $work/root-name
    cp -a "$bb_root" "$work/root-$1"
    echo "$work/root-$1"
}
# Debian's busybox has no pgrep applet; the ExecSync-timeout spec runs
# `pgrep sleep`. A script by name over /proc does what it asks.
r=$(variant e2e)
cat >"$r/usr/bin/pgrep" <<'PGREP'
#!/bin/sh
for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = $$ ] && continue
    read -r comm <"$d/comm" 2>/dev/null || continue
    echo "$comm" | grep -qE -- "$1" && echo "$p"
done
exit 0
PGREP
# nor ipcs: the host-IPC specs look for a segment's id in `ipcs -m`
cat >"$r/usr/bin/ipcs" <<'IPCS'
#!/bin/sh
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch"
tail -n +2 /proc/sysvipc/shm | while read -r key id perms size cpid lpid nattch uid rest; do
    echo "$key $id $uid $perms $size $nattch"
done
IPCS
chmod 755 "$r/usr/bin/pgrep" "$r/usr/bin/ipcs"
# A process the suite can find by the name nginx (pidof nginx), writing
# nginx's pid file, for the web server images.
mkdir -p "$r/usr/sbin" "$r/var/run"
gcc -O2 -static -Wall -o "$r/usr/sbin/nginx" "$src/tests/critest/nginx.c"
r=$(variant nnp)
gcc -O2 -static -Wall -o "$r/bin/nonewprivs" "$src/tests/critest/nonewprivs.c"
chmod 4755 "$r/bin/nonewprivs"
r=$(variant group)
echo 'default-user:x:1000:1000::/home/default-user:/bin/sh' >>"$r/etc/passwd"
printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >>"$r/etc/group"
for i in 1 2 3; do
    r=$(variant "distinct$i")
    echo "test image $i" >"$r/image-id"
done

PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
pushed=()
image() { # rootfs ref change...
    local rootfs=$1 path=$2 ref=$reg/$2 args=() c
    shift 2
    for c in "$PATH_ENV" "$@"; do args+=(--change "$c"); done
    tar --sort=name --mtime=@0 --numeric-owner -C "$rootfs" -c . | d import "${args[@]}" - "$ref"
    pushed+=("$ref")
    echo "$path" >>"$work/images"
    # -registry-prefix keeps only an image's path and asks for :latest
    if [ "${ref##*:}" != latest ]; then
        d tag "$ref" "${ref%:*}:latest"
        pushed+=("${ref%:*}:latest")
    fi
}
tag() {
    d tag "$reg/$1" "$reg/$2"
    pushed+=("$reg/$2")
    echo "$2" >>"$work/images"
    d tag "$reg/$1" "$reg/${2%:*}:latest"
    pushed+=("$reg/${2%:*}:latest")
}

e2e=e2e-test-images
cri=k8s-staging-cri-tools
image "$work/root-e2e" $e2e/busybox:1.29-2 'CMD ["sh"]'
# "master process" in pid 1's command line, as nginx's title has it
image "$work/root-e2e" $e2e/nginx:1.14-2 'CMD ["/usr/sbin/nginx","-g","master process"]'
# The multi-container spec looks for httpd's start line in the log.
image "$bb_root" $e2e/httpd:2.4.39-4 \
    'CMD ["sh","-c","echo \"Command line: httpd -D FOREGROUND\"; exec httpd -f -p 80 -h /var/www"]'
image "$work/root-nnp" $e2e/nonewprivs:1.3 'CMD ["/bin/nonewprivs"]'
image "$work/root-e2e" $cri/hostnet-nginx-amd64:latest 'CMD ["/usr/sbin/nginx","-g","master process","12003"]'
image "$bb_root" $cri/test-image-user-uid:latest 'USER 1002' 'CMD ["sh"]'
image "$bb_root" $cri/test-image-user-username:latest 'USER www-data' 'CMD ["sh"]'
image "$bb_root" $cri/test-image-user-uid-group:latest 'USER 1003:1004' 'CMD ["sh"]'
image "$bb_root" $cri/test-image-user-username-group:latest 'USER www-data:1004' 'CMD ["sh"]'
image "$work/root-group" $cri/test-image-predefined-group:latest 'USER 1000' 'CMD ["sh"]'
image "$bb_root" $cri/test-image-latest:latest 'CMD ["sh"]'
tag $cri/test-image-latest:latest $cri/test-image-tag:test
tag $cri/test-image-latest:latest $cri/test-image-tag:all
for i in 1 2 3; do
    image "$work/root-distinct$i" $cri/test-image-$i:latest 'CMD ["sh"]'
    tag $cri/test-image-latest:latest $cri/test-image-tags:$i
done
for ref in "${pushed[@]}"; do d push "$ref"; done
# Leave the engine's image store as the tests expect it: empty.
docker -H "$docker_host" rmi -f "${pushed[@]}" >>"$buildlog" 2>&1 || log "warning: some images stayed in the dockerd"
echo "$stamp" >"$work/stamp"
load_images
echo "$reg"
