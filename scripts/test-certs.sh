#!/usr/bin/env bash
# Makes throwaway certificates for the TLS tests (never committed): in DIR,
#   ca.crt/ca.key           a test CA
#   server.crt/server.key   signed by it, for localhost and 127.0.0.1
#   client.crt/client.key   signed by it, for client authentication (mTLS)
#   other-ca.crt, other-client.crt/.key   a second CA and a client it signed
#   server2.crt/server2.key signed by the other CA (a rotated certificate)
# Keys are P-256, valid for 2 days.
#   scripts/test-certs.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }
ca() { # name
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.crt" \
        -subj "/CN=crishim test $1" -days 2 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign
}
leaf() { # name ca usage san
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1"
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$4" "$3" >"$1.ext"
    ossl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext"
    rm -f "$1.csr" "$1.ext"
}
ca ca
ca other-ca
leaf server ca serverAuth "DNS:localhost,IP:127.0.0.1"
leaf client ca clientAuth "DNS:client"
leaf other-client other-ca clientAuth "DNS:other-client"
leaf server2 other-ca serverAuth "DNS:localhost,IP:127.0.0.1"
chmod 600 ./*.key
