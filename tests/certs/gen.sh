#!/usr/bin/env bash
# Generates a throw-away PKI for the TLS tests into the directory given as $1:
#
#   ca.pem / ca.key            self-signed test CA ("nsq test CA")
#   server.pem / server.key    signed by the CA; SAN IP:127.0.0.1, DNS:localhost; serverAuth
#   client.pem / client.key    signed by the CA; CN "test.local"; clientAuth
#   rogue.pem / rogue.key      signed by rogue-ca (NOT by the test CA); CN "rogue.local"; clientAuth
#   rogue-ca.pem / rogue-ca.key  an unrelated CA (for "wrong root" checks)
#
# Everything is generated fresh with openssl, valid for 2 days, never checked in.
set -euo pipefail

out=${1:?usage: gen.sh <output-dir>}
mkdir -p "$out"
cd "$out"

days=2
key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

ext_server=$(mktemp)
ext_client=$(mktemp)
trap 'rm -f "$ext_server" "$ext_client"' EXIT
cat >"$ext_server" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EXT
cat >"$ext_client" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EXT

# CA
key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/O=nsq tests/CN=nsq test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem

# an unrelated CA
key rogue-ca.key
openssl req -x509 -new -key rogue-ca.key -sha256 -days "$days" \
    -subj "/O=nsq tests/CN=rogue CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out rogue-ca.pem

sign() { # name subject extfile ca-prefix
    key "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -sha256 \
        -days "$days" -extfile "$3" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr"
}

sign server "/O=nsq tests/CN=localhost" "$ext_server" ca
sign client "/O=nsq tests/CN=test.local" "$ext_client" ca
sign rogue "/O=nsq tests/CN=rogue.local" "$ext_client" rogue-ca
rm -f ./*.srl
