#!/usr/bin/env bash
# Builds crishim's test images offline, from Debian's busybox-static and
# crishim's own pause program, into the registries of scripts/test-env.sh,
# and records their references in DIR/env (CRISHIM_TEST_IMG_*). The images
# are imported into the environment's private dockerd, pushed, checked by
# pulling them back, and then removed from the dockerd again: tests start
# from an empty image store while the registries keep the content.
#
# A second run with the same inputs (this script, lib.sh, busybox, the pause
# source) only checks that the registries still hold every image.
set -euo pipefail
PROG=build-test-images
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat >&2 <<EOF
usage: $0 DIR        (after: scripts/test-env.sh start DIR)
Environment: CRISHIM_PAUSE_BIN=path  a static crishim-pause to use instead of
             building pause/pause.c with gcc -static
EOF
    exit 2
}
if [ $# -ne 1 ] || [ -z "$1" ]; then usage; fi
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$(realpath -m -- "$1")
envfile=$dir/env
[ -f "$envfile" ] || die "$envfile missing: run scripts/test-env.sh start $dir first"
need_cmds curl sha256sum tar openssl

docker_host=$(kv_get "$envfile" CRISHIM_TEST_DOCKER_HOST)
reg=$(kv_get "$envfile" CRISHIM_TEST_REGISTRY)
authreg=$(kv_get "$envfile" CRISHIM_TEST_AUTH_REGISTRY)
auth_user=$(kv_get "$envfile" CRISHIM_TEST_AUTH_USER)
auth_pass=$(kv_get "$envfile" CRISHIM_TEST_AUTH_PASS)
if [ -z "$docker_host" ] || [ -z "$reg" ] || [ -z "$authreg" ] || [ -z "$auth_user" ]; then
    die "$envfile lacks the dockerd or registry keys: run scripts/test-env.sh start $dir"
fi

work=$dir/images
template=$work/images.env # references with @REGISTRY@ / @AUTH_REGISTRY@
stampfile=$work/stamp
buildlog=$work/log
busybox=/bin/busybox
mkdir -p "$work"

MT_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
MT_LIST=application/vnd.docker.distribution.manifest.list.v2+json
MT_OCI_INDEX=application/vnd.oci.image.index.v1+json
BIG_BYTES=$((64 * 1024 * 1024)) # one layer of this much incompressible data: crishim/big

# ---- helpers ----

is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'; }

# manifest_digest registry repo ref accept [user:pass]: the Docker-Content-Digest
# of a manifest the registry has, or nothing (and status 1)
manifest_digest() {
    local auth=()
    [ -z "${5:-}" ] || auth=(-u "$5")
    curl -fsS --max-time 10 -I "${auth[@]}" -H "Accept: $4" "http://$1/v2/$2/manifests/$3" 2>/dev/null |
        tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p' | grep . || return 1
}

merge_env() {
    local rendered=$work/env.rendered
    render_images_env "$template" "$reg" "$authreg" >"$rendered"
    env_merge "$envfile" "$rendered"
}

# ---- up to date already? ----

inputs_hash() {
    local pause_src=$src/pause/pause.c
    [ -f "$pause_src" ] || die "$pause_src missing"
    [ -x "$busybox" ] || die "$busybox missing: apt-get install busybox-static"
    cat "${BASH_SOURCE[0]}" "$src/scripts/lib.sh" "$busybox" "$pause_src" | sha256sum | cut -c1-16
}
stamp=$(inputs_hash)

registries_complete() {
    local want r
    [ -f "$template" ] && [ "$(cat "$stampfile" 2>/dev/null)" = "$stamp" ] || return 1
    want=$(kv_get "$template" CRISHIM_TEST_IMG_BUSYBOX_DIGEST)
    [ "$(manifest_digest "$reg" crishim/busybox 1.0 "$MT_MANIFEST")" = "sha256:${want##*@sha256:}" ] || return 1
    for r in busybox:latest busybox:1 busybox-uid:1.0 busybox-user:1.0 busybox-uidgid:1.0 \
        busybox-usergid:1.0 busybox-env:1.0 busybox-web:1.0 pause:1.0; do
        manifest_digest "$reg" "crishim/${r%:*}" "${r##*:}" "$MT_MANIFEST" >/dev/null || return 1
    done
    manifest_digest "$reg" crishim/busybox-multi 1.0 "$MT_LIST" >/dev/null || return 1
    manifest_digest "$reg" crishim/busybox-multi oci "$MT_OCI_INDEX" >/dev/null || return 1
    manifest_digest "$reg" crishim/big 1.0 "$MT_MANIFEST" >/dev/null || return 1
    manifest_digest "$authreg" crishim/private 1.0 "$MT_MANIFEST" "$auth_user:$auth_pass" >/dev/null || return 1
}

if registries_complete; then
    merge_env
    log "images up to date in $reg and $authreg"
    exit 0
fi

# ---- the docker CLI, against the private dockerd only ----

unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
export DOCKER_CONFIG=$work/docker-config # never the user's ~/.docker
export DOCKER_API_VERSION=1.41           # the daemon is 20.10: newer CLIs must not ask for more
mkdir -p "$DOCKER_CONFIG"
dockercli=
for c in /usr/bin/docker "$(command -v docker || true)"; do
    if [ -x "$c" ] && "$c" -H "$docker_host" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        dockercli=$c
        break
    fi
done
[ -n "$dockercli" ] || die "no docker CLI reaches $docker_host (is the test env running? scripts/test-env.sh status $dir)"

: >"$buildlog"
d() { # docker with output to the build log; on failure, the log's tail
    if ! "$dockercli" -H "$docker_host" "$@" >>"$buildlog" 2>&1; then
        tail -n 15 "$buildlog" >&2
        die "docker $1 failed (log: $buildlog)"
    fi
}
dout() { "$dockercli" -H "$docker_host" "$@" 2>>"$buildlog"; }

remove_all_images() {
    local ids
    mapfile -t ids < <(dout image ls -aq | sort -u)
    [ ${#ids[@]} -eq 0 ] || "$dockercli" -H "$docker_host" rmi -f "${ids[@]}" >>"$buildlog" 2>&1 ||
        log "warning: some images stayed in the dockerd (in use?)"
}

# ---- the pause binary ----

pause_bin=${CRISHIM_PAUSE_BIN:-}
if [ -z "$pause_bin" ]; then
    need_cmds gcc
    pause_bin=$work/crishim-pause
    gcc -O2 -static -Wall -Wextra -o "$pause_bin" "$src/pause/pause.c" ||
        die "building $src/pause/pause.c failed (needs gcc and the static libc: build-essential)"
fi
[ -x "$pause_bin" ] || die "CRISHIM_PAUSE_BIN=$pause_bin is not an executable"
is_static "$pause_bin" || die "$pause_bin is dynamically linked: an image with nothing else can't run it"
is_static "$busybox" || die "$busybox is dynamically linked: install busybox-static"

# ---- root filesystems ----

bb_root=$work/rootfs-busybox
pause_root=$work/rootfs-pause
rm -rf "$bb_root" "$pause_root"
mkdir -p "$bb_root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var/www,home/crishim-user}
chmod 1777 "$bb_root/tmp"
chmod 700 "$bb_root/root"
cp "$busybox" "$bb_root/bin/busybox"
while IFS= read -r applet; do
    case $applet in */*) ;; *) continue ;; esac # "linuxrc"
    # hard links, as the official busybox image has: masking one applet
    # (the CRI suite masks /bin/ls) must not mask the shell through a symlink
    [ -e "$bb_root/$applet" ] || ln "$bb_root/bin/busybox" "$bb_root/$applet"
done < <("$busybox" --list-full)
[ -e "$bb_root/bin/sh" ] || ln "$bb_root/bin/busybox" "$bb_root/bin/sh"
cat >"$bb_root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/var/www:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
crishim-user:x:1001:1001:crishim test user:/home/crishim-user:/bin/sh
EOF
cat >"$bb_root/etc/group" <<'EOF'
root:x:0:
www-data:x:33:
nogroup:x:65534:
crishim-user:x:1001:
EOF
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$bb_root/etc/hosts"
echo '<html><body>crishim test web server</body></html>' >"$bb_root/var/www/index.html"
chown 33:33 "$bb_root/var/www"
chown 1001:1001 "$bb_root/home/crishim-user"
mkdir -p "$pause_root"
cp "$pause_bin" "$pause_root/pause"
# The registry client's throttle and resume tests want a big layer that gzip
# can't shrink: AES-CTR of zeros is random-looking and the same every run.
big_root=$work/rootfs-big
rm -rf "$big_root"
mkdir -p "$big_root"
head -c "$BIG_BYTES" /dev/zero |
    openssl enc -aes-128-ctr -K 000102030405060708090a0b0c0d0e0f -iv 00000000000000000000000000000000 \
        >"$big_root/random.bin"

rootfs_tar() { # the same bytes on every run: same layer digest
    tar --sort=name --mtime=@0 --numeric-owner -C "$1" -c .
}

# ---- import, tag, push ----

PATH_ENV='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
import() { # rootfs ref change...
    local rootfs=$1 ref=$2 args=() c
    shift 2
    for c in "$PATH_ENV" "$@"; do args+=(--change "$c"); done
    rootfs_tar "$rootfs" | d import "${args[@]}" - "$ref"
}

log "importing into the private dockerd"
remove_all_images
bb=$reg/crishim/busybox
import "$bb_root" "$bb:1.0" 'CMD ["sh"]'
d tag "$bb:1.0" "$bb:latest"
d tag "$bb:1.0" "$bb:1"
d tag "$bb:1.0" "$authreg/crishim/private:1.0"
import "$bb_root" "$reg/crishim/busybox-uid:1.0" 'USER 1003' 'CMD ["sh"]'
import "$bb_root" "$reg/crishim/busybox-user:1.0" 'USER www-data' 'CMD ["sh"]'
import "$bb_root" "$reg/crishim/busybox-uidgid:1.0" 'USER 1003:1004' 'CMD ["sh"]'
import "$bb_root" "$reg/crishim/busybox-usergid:1.0" 'USER www-data:1004' 'CMD ["sh"]'
# shellcheck disable=SC2016 # $FOO is for the container's shell
import "$bb_root" "$reg/crishim/busybox-env:1.0" 'ENV FOO=bar' 'ENTRYPOINT ["/bin/sh","-c"]' \
    'CMD ["echo hello from $FOO"]' 'WORKDIR /work'
# a web server on port 80, as the CRI validation suite's networking tests want
import "$bb_root" "$reg/crishim/busybox-web:1.0" 'CMD ["httpd","-f","-p","80","-h","/var/www"]'
import "$pause_root" "$reg/crishim/pause:1.0" 'ENTRYPOINT ["/pause"]'
import "$big_root" "$reg/crishim/big:1.0" 'CMD ["/random.bin"]'

log "pushing to $reg"
for r in "$bb:1.0" "$bb:latest" "$bb:1" "$reg"/crishim/busybox-{uid,user,uidgid,usergid,env,web}:1.0 \
    "$reg/crishim/pause:1.0" "$reg/crishim/big:1.0"; do
    d push "$r"
done
rm -rf "$big_root"
log "pushing to $authreg (basic auth)"
printf '%s\n' "$auth_pass" | d login -u "$auth_user" --password-stdin "$authreg"
d push "$authreg/crishim/private:1.0"
d logout "$authreg"

# ---- a manifest list: the host's platform -> busybox, another -> pause ----
# A list may only name manifests of its own repository: mount the blobs of
# both manifests into crishim/busybox-multi and put the manifests there by
# digest, then the list under tag 1.0.

fetch_manifest() { # repo ref file: the digest; the exact bytes go to file
    local headers=$3.headers digest
    curl -fsS --max-time 10 -D "$headers" -o "$3" -H "Accept: $MT_MANIFEST" "http://$reg/v2/$1/manifests/$2" ||
        die "GET $reg/v2/$1/manifests/$2 failed"
    digest=$(tr -d '\r' <"$headers" | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p')
    [ "$digest" = "sha256:$(sha256sum <"$3" | cut -d' ' -f1)" ] ||
        die "$1:$2: Docker-Content-Digest '$digest' does not match the manifest's bytes"
    echo "$digest"
}

copy_manifest() { # from-repo manifest-file digest to-repo
    local blob code
    while read -r blob; do
        code=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X POST \
            "http://$reg/v2/$4/blobs/uploads/?mount=$blob&from=$1")
        [ "$code" = 201 ] || die "mounting $blob from $1 into $4: HTTP $code (want 201)"
    done < <(grep -o 'sha256:[0-9a-f]\{64\}' "$2" | sort -u)
    code=$(curl -sS --max-time 30 -o "$work/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $MT_MANIFEST" \
        --data-binary "@$2" "http://$reg/v2/$4/manifests/$3")
    [ "$code" = 201 ] || die "PUT $4 manifest $3: HTTP $code: $(cat "$work/put.out")"
}

log "making the manifest list $reg/crishim/busybox-multi:1.0"
bb_digest=$(fetch_manifest crishim/busybox 1.0 "$work/busybox.manifest")
pause_digest=$(fetch_manifest crishim/pause 1.0 "$work/pause.manifest")
bb_id=$(grep -o 'sha256:[0-9a-f]\{64\}' "$work/busybox.manifest" | head -n 1) # config first: the image ID
copy_manifest crishim/busybox "$work/busybox.manifest" "$bb_digest" crishim/busybox-multi
copy_manifest crishim/pause "$work/pause.manifest" "$pause_digest" crishim/busybox-multi
arch=$(dout version --format '{{.Server.Arch}}')
case $arch in amd64) other=arm64 ;; *) other=amd64 ;; esac
cat >"$work/list.json" <<EOF
{
   "schemaVersion": 2,
   "mediaType": "$MT_LIST",
   "manifests": [
      {
         "mediaType": "$MT_MANIFEST",
         "size": $(stat -c %s "$work/pause.manifest"),
         "digest": "$pause_digest",
         "platform": {"architecture": "$other", "os": "linux"}
      },
      {
         "mediaType": "$MT_MANIFEST",
         "size": $(stat -c %s "$work/busybox.manifest"),
         "digest": "$bb_digest",
         "platform": {"architecture": "$arch", "os": "linux"}
      }
   ]
}
EOF
code=$(curl -sS --max-time 30 -o "$work/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $MT_LIST" \
    --data-binary "@$work/list.json" "http://$reg/v2/crishim/busybox-multi/manifests/1.0")
[ "$code" = 201 ] || die "PUT crishim/busybox-multi:1.0: HTTP $code: $(cat "$work/put.out")"
multi_digest=$(manifest_digest "$reg" crishim/busybox-multi 1.0 "$MT_LIST") || die "the manifest list did not stick"
# The same two manifests as an OCI index (tag oci), as newer build tools push.
sed -e "s|$MT_LIST|$MT_OCI_INDEX|" "$work/list.json" >"$work/index.json"
code=$(curl -sS --max-time 30 -o "$work/put.out" -w '%{http_code}' -X PUT -H "Content-Type: $MT_OCI_INDEX" \
    --data-binary "@$work/index.json" "http://$reg/v2/crishim/busybox-multi/manifests/oci")
[ "$code" = 201 ] || die "PUT crishim/busybox-multi:oci: HTTP $code: $(cat "$work/put.out")"
oci_digest=$(manifest_digest "$reg" crishim/busybox-multi oci "$MT_OCI_INDEX") || die "the OCI index did not stick"

# ---- check by pulling back, then leave the image store empty ----

log "checking: pulls by tag, digest and list, auth, running the images"
remove_all_images
check_id() { # ref want-id
    local id
    id=$(dout image inspect --format '{{.Id}}' "$1") || die "$1 is not in the dockerd after pulling it"
    [ "$id" = "$2" ] || die "$1 is image $id, want $2"
}
d pull "$bb:1.0"
check_id "$bb:1.0" "$bb_id"
dout image inspect --format '{{join .RepoDigests " "}}' "$bb:1.0" | grep -qF "$bb@$bb_digest" ||
    die "$bb:1.0 lacks the repo digest $bb@$bb_digest"
remove_all_images
d pull "$bb@$bb_digest"
check_id "$bb@$bb_digest" "$bb_id"
d pull "$reg/crishim/busybox-multi:1.0"
check_id "$reg/crishim/busybox-multi:1.0" "$bb_id"
if "$dockercli" -H "$docker_host" pull "$authreg/crishim/private:1.0" >>"$buildlog" 2>&1; then
    die "$authreg/crishim/private:1.0 could be pulled without credentials"
fi
printf '%s\n' "$auth_pass" | d login -u "$auth_user" --password-stdin "$authreg"
d pull "$authreg/crishim/private:1.0"
d logout "$authreg"
check_id "$authreg/crishim/private:1.0" "$bb_id"
d pull "$reg/crishim/busybox-env:1.0"
out=$(dout run --rm --network none "$reg/crishim/busybox-env:1.0") || die "running busybox-env failed"
[ "$out" = "hello from bar" ] || die "busybox-env printed '$out', want 'hello from bar'"
d pull "$reg/crishim/pause:1.0"
out=$(dout run --rm --network none "$reg/crishim/pause:1.0" -v) || die "running the pause image failed"
[ "${out%% *}" = crishim-pause ] || die "the pause image printed '$out'"
out=$(dout run --rm --network none --user www-data "$bb:1.0" id) || die "running busybox as www-data failed"
[ "${out%% *}" = "uid=33(www-data)" ] || die "busybox as www-data: '$out'"
remove_all_images
[ -z "$(dout image ls -aq)" ] || log "warning: the dockerd still holds images"

# ---- record ----

cat >"$template.tmp" <<EOF
CRISHIM_TEST_IMG_BUSYBOX=@REGISTRY@/crishim/busybox:1.0
CRISHIM_TEST_IMG_BUSYBOX_DIGEST=@REGISTRY@/crishim/busybox@$bb_digest
CRISHIM_TEST_IMG_BUSYBOX_ID=$bb_id
CRISHIM_TEST_IMG_UID=@REGISTRY@/crishim/busybox-uid:1.0
CRISHIM_TEST_IMG_USER=@REGISTRY@/crishim/busybox-user:1.0
CRISHIM_TEST_IMG_UIDGID=@REGISTRY@/crishim/busybox-uidgid:1.0
CRISHIM_TEST_IMG_USERGID=@REGISTRY@/crishim/busybox-usergid:1.0
CRISHIM_TEST_IMG_ENV=@REGISTRY@/crishim/busybox-env:1.0
CRISHIM_TEST_IMG_PAUSE=@REGISTRY@/crishim/pause:1.0
CRISHIM_TEST_IMG_WEB=@REGISTRY@/crishim/busybox-web:1.0
CRISHIM_TEST_IMG_MULTI=@REGISTRY@/crishim/busybox-multi:1.0
CRISHIM_TEST_IMG_MULTI_DIGEST=@REGISTRY@/crishim/busybox-multi@$multi_digest
CRISHIM_TEST_IMG_MULTI_OCI=@REGISTRY@/crishim/busybox-multi:oci
CRISHIM_TEST_IMG_MULTI_OCI_DIGEST=@REGISTRY@/crishim/busybox-multi@$oci_digest
CRISHIM_TEST_IMG_BIG=@REGISTRY@/crishim/big:1.0
CRISHIM_TEST_IMG_PRIVATE=@AUTH_REGISTRY@/crishim/private:1.0
EOF
mv -f "$template.tmp" "$template"
echo "$stamp" >"$stampfile"
merge_env
log "images ready in $reg and $authreg"
