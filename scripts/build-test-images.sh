#!/usr/bin/env bash
# Builds the test images offline from Debian's busybox-static and crishim's
# pause program, pushes them to the test registries of scripts/test-env.sh,
# and records their references in DIR/env. Idempotent: a second run with the
# same inputs only checks the registry.
#
#   scripts/build-test-images.sh DIR        (after scripts/test-env.sh start DIR)
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(cd "$1" && pwd)
envfile=$dir/env
[ -f "$envfile" ] || { echo "build-test-images: $envfile missing; run scripts/test-env.sh start $dir" >&2; exit 1; }
get() { sed -n "s/^$1=//p" "$envfile" | tail -n 1; }
docker_host=$(get CRISHIM_TEST_DOCKER_HOST)
reg=$(get CRISHIM_TEST_REGISTRY)
authreg=$(get CRISHIM_TEST_AUTH_REGISTRY)
auth_user=$(get CRISHIM_TEST_AUTH_USER)
auth_pass=$(get CRISHIM_TEST_AUTH_PASS)

# Debian's CLI matches Debian's daemon; any other docker CLI works too.
dockercli=/usr/bin/docker
[ -x "$dockercli" ] || dockercli=$(command -v docker)
export DOCKER_CONFIG=$dir/docker-config # never the user's ~/.docker
export DOCKER_API_VERSION=1.41
d() { "$dockercli" -H "$docker_host" "$@"; }
log() { echo "build-test-images: $*" >&2; }

work=$dir/images-build
mkdir -p "$work" "$DOCKER_CONFIG"

# ---- the pause binary ----
pause_bin=${CRISHIM_PAUSE_BIN:-}
if [ -z "$pause_bin" ] || [ ! -x "$pause_bin" ]; then
    pause_bin=$work/crishim-pause
    gcc -O2 -static -Wall -Wextra -o "$pause_bin" "$root/pause/pause.c"
fi

stamp=$( (cat "$0" /bin/busybox "$pause_bin"; echo "$reg $authreg") | sha256sum | cut -c1-16)
manifest_v2=application/vnd.docker.distribution.manifest.v2+json
manifest_list=application/vnd.docker.distribution.manifest.list.v2+json

registry_has() { # repo tag
    curl -fsS -o /dev/null -H "Accept: $manifest_v2" "http://$reg/v2/$1/manifests/$2"
}

if [ -f "$dir/images.stamp" ] && [ "$(cat "$dir/images.stamp")" = "$stamp" ] && [ -f "$dir/images.env" ] &&
    registry_has crishim/busybox 1.0 && registry_has crishim/pause 1.0; then
    log "images up to date"
    exit 0
fi

# ---- root filesystems ----
bb_root=$work/busybox-root
rm -rf "$bb_root"
mkdir -p "$bb_root"/{bin,etc,tmp,root,work,home/www-data}
chmod 1777 "$bb_root/tmp"
cp /bin/busybox "$bb_root/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$bb_root/bin/$applet"
done
cat >"$bb_root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
www-data:x:33:33:www-data:/home/www-data:/bin/sh
crishim-user:x:1003:1004:crishim test user:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$bb_root/etc/group" <<'EOF'
root:x:0:
www-data:x:33:
crishim-group:x:1004:
nogroup:x:65534:
EOF
echo "127.0.0.1 localhost" >"$bb_root/etc/hosts"

pause_root=$work/pause-root
rm -rf "$pause_root"
mkdir -p "$pause_root"
cp "$pause_bin" "$pause_root/pause"

import() { # rootfs ref changes...
    local rootfs=$1 ref=$2
    shift 2
    local args=()
    for c in "$@"; do args+=(--change "$c"); done
    tar -C "$rootfs" -c . | d import "${args[@]}" - "$ref" >/dev/null
}

log "importing images"
bb=$reg/crishim/busybox
import "$bb_root" "$bb:1.0" 'CMD ["sh"]'
d tag "$bb:1.0" "$bb:latest"
d tag "$bb:1.0" "$bb:1"
import "$bb_root" "$reg/crishim/busybox-uid:1.0" 'USER 1003' 'CMD ["sh"]'
import "$bb_root" "$reg/crishim/busybox-user:1.0" 'USER www-data' 'CMD ["sh"]'
import "$bb_root" "$reg/crishim/busybox-uidgid:1.0" 'USER 1003:1004' 'CMD ["sh"]'
import "$bb_root" "$reg/crishim/busybox-usergid:1.0" 'USER www-data:1004' 'CMD ["sh"]'
import "$bb_root" "$reg/crishim/busybox-env:1.0" 'ENV FOO=bar' 'ENTRYPOINT ["/bin/sh","-c"]' \
    'CMD ["echo hello from $FOO"]' 'WORKDIR /work'
import "$pause_root" "$reg/crishim/pause:1.0" 'ENTRYPOINT ["/pause"]'
d tag "$bb:1.0" "$authreg/crishim/private:1.0"

log "pushing images"
refs=("$bb:1.0" "$bb:latest" "$bb:1" "$reg/crishim/busybox-uid:1.0" "$reg/crishim/busybox-user:1.0"
    "$reg/crishim/busybox-uidgid:1.0" "$reg/crishim/busybox-usergid:1.0" "$reg/crishim/busybox-env:1.0"
    "$reg/crishim/pause:1.0")
for r in "${refs[@]}"; do d push "$r" >/dev/null; done
echo "$auth_pass" | d login -u "$auth_user" --password-stdin "$authreg" >/dev/null 2>&1
d push "$authreg/crishim/private:1.0" >/dev/null
d logout "$authreg" >/dev/null 2>&1 || true

# ---- a manifest list pointing at the busybox manifest ----
headers=$work/headers
curl -fsS -D "$headers" -o "$work/bb-manifest.json" -H "Accept: $manifest_v2" "http://$reg/v2/crishim/busybox/manifests/1.0"
digest=$(tr -d '\r' <"$headers" | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
size=$(stat -c %s "$work/bb-manifest.json")
[ -n "$digest" ] || { log "no digest for crishim/busybox:1.0"; exit 1; }
# the list can only reference manifests of its own repository
for layer_blob in $(sed -n 's/.*"digest": *"\(sha256:[0-9a-f]*\)".*/\1/p' "$work/bb-manifest.json"); do
    # mount each blob (config and layers) from crishim/busybox into busybox-multi
    curl -fsS -o /dev/null -X POST "http://$reg/v2/crishim/busybox-multi/blobs/uploads/?mount=$layer_blob&from=crishim/busybox"
done
curl -fsS -o /dev/null -X PUT -H "Content-Type: $manifest_v2" --data-binary "@$work/bb-manifest.json" \
    "http://$reg/v2/crishim/busybox-multi/manifests/single"
cat >"$work/list.json" <<EOF
{
  "schemaVersion": 2,
  "mediaType": "$manifest_list",
  "manifests": [
    {"mediaType": "$manifest_v2", "size": $size, "digest": "$digest",
     "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "$manifest_v2", "size": $size, "digest": "$digest",
     "platform": {"architecture": "arm64", "os": "linux"}}
  ]
}
EOF
curl -fsS -o /dev/null -X PUT -H "Content-Type: $manifest_list" --data-binary "@$work/list.json" \
    "http://$reg/v2/crishim/busybox-multi/manifests/1.0"

# ---- check: pull by tag and by digest, then leave the store empty ----
d pull "$bb:1.0" >/dev/null
d pull "$bb@$digest" >/dev/null
d pull "$reg/crishim/busybox-multi:1.0" >/dev/null
d image ls -q | sort -u | xargs -r "$dockercli" -H "$docker_host" rmi -f >/dev/null

cat >"$dir/images.env" <<EOF
CRISHIM_TEST_IMG_BUSYBOX=$bb:1.0
CRISHIM_TEST_IMG_BUSYBOX_DIGEST=$bb@$digest
CRISHIM_TEST_IMG_UID=$reg/crishim/busybox-uid:1.0
CRISHIM_TEST_IMG_USER=$reg/crishim/busybox-user:1.0
CRISHIM_TEST_IMG_UIDGID=$reg/crishim/busybox-uidgid:1.0
CRISHIM_TEST_IMG_USERGID=$reg/crishim/busybox-usergid:1.0
CRISHIM_TEST_IMG_ENV=$reg/crishim/busybox-env:1.0
CRISHIM_TEST_IMG_PAUSE=$reg/crishim/pause:1.0
CRISHIM_TEST_IMG_MULTI=$reg/crishim/busybox-multi:1.0
CRISHIM_TEST_IMG_PRIVATE=$authreg/crishim/private:1.0
EOF
grep -v '^CRISHIM_TEST_IMG_' "$envfile" >"$envfile.tmp"
cat "$dir/images.env" >>"$envfile.tmp"
mv "$envfile.tmp" "$envfile"
echo "$stamp" >"$dir/images.stamp"
log "images ready in $reg and $authreg"
