#!/usr/bin/env bash
# Makes a private CA, a server certificate and client certificates for
# `encmol serve` (docs/service.md), with openssl. Keys are mode 0600.
#   scripts/make_certs.sh DIR SERVER_NAME [CLIENT_IDENTITY...]
# writes DIR/ca.pem, DIR/ca.key, DIR/server.pem, DIR/server.key and, per client,
# DIR/<identity>.pem and DIR/<identity>.key (certificate CN = the identity).
# The server certificate names SERVER_NAME (DNS) plus localhost and 127.0.0.1.
set -euo pipefail
dir=${1:?output directory}
server=${2:?server name}
shift 2
mkdir -p "$dir"
umask 077
days=825
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=encmol test CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
sign() {  # name subject extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
    -keyout "$dir/$1.key" -out "$dir/$1.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days "$days" -extfile <(printf '%s\n' "$3") -out "$dir/$1.pem" 2>/dev/null
  rm -f "$dir/$1.csr"
}
sign server "/CN=$server" "subjectAltName=DNS:$server,DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
for identity in "$@"; do
  sign "$identity" "/CN=$identity" "extendedKeyUsage=clientAuth"
done
chmod 644 "$dir"/*.pem
echo "certificates in $dir: ca.pem, server.pem/key${*:+, and for $*}"
