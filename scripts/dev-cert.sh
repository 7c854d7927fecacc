#!/usr/bin/env bash
# Makes a self-signed ECDSA P-256 certificate for development and tests.
#
#   scripts/dev-cert.sh [DIR] [NAME...]
#
# Writes DIR/cert.pem and DIR/key.pem (DIR defaults to ./certs). The certificate is valid for
# 825 days for every NAME given (default: localhost) plus 127.0.0.1 and ::1. Then:
#
#   TLS_CERT=certs/cert.pem TLS_KEY=certs/key.pem build/chopin     # https://localhost:8443
#
# Browsers and curl will not trust it (curl -k, or --cacert certs/cert.pem).
set -euo pipefail
dir=${1:-certs}
shift || true
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(localhost)
san=""
for n in "${names[@]}"; do san+="DNS:$n,"; done
san+="IP:127.0.0.1,IP:::1"
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -subj "/CN=${names[0]}" \
    -addext "subjectAltName=$san" -addext "basicConstraints=critical,CA:FALSE" \
    -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 600 "$dir/key.pem"
echo "wrote $dir/cert.pem and $dir/key.pem (${names[*]})"
