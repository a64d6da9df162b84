#!/usr/bin/env bash
# Runs interop.js (grpc-js, and ws for the streaming server) against a crishim started on the test dockerd.
# Needs node and npm; the npm packages are installed under the build tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
envfile=${CRISHIM_TEST_ENV:?run through ctest}
get() { sed -n "s/^$1=//p" "$envfile" | tail -n 1; }
dir=$(get CRISHIM_TEST_DIR)
docker_host=$(get CRISHIM_TEST_DOCKER_HOST)
busybox=$(get CRISHIM_TEST_IMG_BUSYBOX)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "interop: node/npm missing (scripts/install-deps.sh installs them)"; exit 77
fi
nodedir=${CRISHIM_NODE_DIR:-$(dirname "$envfile")/../interop-node}
mkdir -p "$nodedir"
if ! cmp -s "$here/package.json" "$nodedir/package.json" || [ ! -d "$nodedir/node_modules/@grpc/grpc-js" ] || [ ! -d "$nodedir/node_modules/ws" ]; then
    cp "$here/package.json" "$nodedir/package.json"
    (cd "$nodedir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
sock="$dir/crishim-interop.sock"
log="$dir/crishim-interop.log"
# The backend under test, as the C suites take it (tests/support/client.c).
case ${CRISHIM_TEST_BACKEND:-docker} in
docker) engine=(--backend docker --docker-host "$docker_host") ;;
containerd) engine=(--backend containerd --containerd-address "$(get CRISHIM_TEST_CONTAINERD_ADDRESS)"
    --cni-conf-dir "$(get CRISHIM_TEST_CNI_CONF_DIR)" --cni-bin-dir "$(get CRISHIM_TEST_CNI_BIN_DIR)"
    --state-dir "$(get CRISHIM_TEST_STATE_DIR)") ;;
*) echo "CRISHIM_TEST_BACKEND=$CRISHIM_TEST_BACKEND: want docker or containerd"; exit 2 ;;
esac
# The TLS daemon runs while the first one still does: on containerd it gets
# a namespace and state dir of its own, so neither resumes the other's FIFOs.
tls_engine=("${engine[@]}")
if [ "${CRISHIM_TEST_BACKEND:-docker}" = containerd ]; then
    tls_engine+=(--containerd-namespace crishim-interop-tls --state-dir "$dir/crishim-state-tls")
fi
"$CRISHIM_BIN" --listen "unix://$sock" "${engine[@]}" 2>"$log" &
pid=$!
tls_pid=
trap 'kill -TERM $pid $tls_pid 2>/dev/null || true; wait $pid $tls_pid 2>/dev/null || true' EXIT
for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
NODE_PATH="$nodedir/node_modules" node "$here/interop.js" "$sock" "$CRISHIM_SOURCE_DIR/proto" "$busybox" "$dir/interop-logs"
rc=$?

# grpc-js over TCP with mutual TLS, certificates made for this run.
certs="$dir/interop-certs"
rm -rf "$certs"
"$CRISHIM_SOURCE_DIR/scripts/test-certs.sh" "$certs"
tls_sock="$dir/crishim-interop-tls.sock"
tls_log="$dir/crishim-interop-tls.log"
"$CRISHIM_BIN" --config=/dev/null --listen "unix://$tls_sock" --listen "tcp://127.0.0.1:0" \
    --tls-cert "$certs/server.crt" --tls-key "$certs/server.key" --tls-client-ca "$certs/ca.crt" \
    "${tls_engine[@]}" 2>"$tls_log" &
tls_pid=$!
# The unix socket appears at bind, before the tcp listener logs its port:
# wait for the port itself.
port=
for _ in $(seq 200); do
    port=$(sed -n 's/.*addr=tcp:\/\/127.0.0.1:0 port=\([0-9]*\).*/\1/p' "$tls_log" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "interop: no TLS port in $tls_log"; exit 1; }
NODE_PATH="$nodedir/node_modules" node "$here/interop_tls.js" "127.0.0.1:$port" "$CRISHIM_SOURCE_DIR/proto" "$certs" || rc=1
exit $rc
