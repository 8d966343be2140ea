#!/bin/sh
# make_cert.sh DIR [NAME [SAN]]
#
# Creates (with openssl) a throwaway test CA and a server certificate for
# 127.0.0.1 / localhost signed by it:
#   DIR/ca.pem, DIR/ca.key          - the CA (trust ca.pem in clients)
#   DIR/NAME.pem, DIR/NAME.key      - server cert + key (NAME default "server")
# subjectAltName = SAN (default IP:127.0.0.1, DNS:localhost).
# Idempotent: existing files are kept; the CA is made only if missing and the
# server certificate only if missing (or not signed by the present CA).
set -eu

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
    echo "usage: $0 DIR [NAME [SAN]]" >&2
    exit 2
fi
DIR=$1
NAME=${2:-server}
# SAN: the names the server certificate is for (default: this machine). Another value, e.g.
# DNS:evil.test, makes a certificate the CA vouches for but for somebody else.
SAN=${3:-IP:127.0.0.1,DNS:localhost}
OPENSSL=${OPENSSL:-openssl}

mkdir -p "$DIR"
umask 077
# serialize concurrent runs on the same DIR (idempotent, not racy)
if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.make_cert.lock"
    flock 9
fi
TMP=$(mktemp -d "$DIR/.make_cert.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

if [ ! -s "$DIR/ca.pem" ] || [ ! -s "$DIR/ca.key" ]; then
    "$OPENSSL" req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -subj "/CN=identity-tests throwaway CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
    mv -f "$TMP/ca.key" "$DIR/ca.key"
    mv -f "$TMP/ca.pem" "$DIR/ca.pem"
    rm -f "$DIR/$NAME.pem"   # a new CA invalidates the old leaf
fi

if [ ! -s "$DIR/$NAME.pem" ] || [ ! -s "$DIR/$NAME.key" ] ||
   ! "$OPENSSL" verify -CAfile "$DIR/ca.pem" "$DIR/$NAME.pem" >/dev/null 2>&1; then
    "$OPENSSL" req -new -newkey rsa:2048 -nodes -sha256 \
        -subj "/CN=localhost" \
        -keyout "$TMP/$NAME.key" -out "$TMP/$NAME.csr" 2>/dev/null
    cat > "$TMP/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$SAN
EXT
    "$OPENSSL" x509 -req -in "$TMP/$NAME.csr" -CA "$DIR/ca.pem" -CAkey "$DIR/ca.key" \
        -CAcreateserial -CAserial "$TMP/ca.srl" -days 3650 -sha256 \
        -extfile "$TMP/ext.cnf" -out "$TMP/$NAME.pem" 2>/dev/null
    mv -f "$TMP/$NAME.key" "$DIR/$NAME.key"
    mv -f "$TMP/$NAME.pem" "$DIR/$NAME.pem"
fi
chmod 644 "$DIR/ca.pem" "$DIR/$NAME.pem"
