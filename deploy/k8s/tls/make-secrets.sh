#!/usr/bin/env bash
# A first set of secrets for the tls component: a private CA, the collector's certificate signed
# by it, and a token per site of tls/collector.yaml plus the vendor's Monitor token, written to
# DIR (mode 0700, files 0600); then prints the `kubectl create secret` commands. Production PKI
# (cert-manager, your own CA) writes the same keys: tls.crt, tls.key, ca.crt.
#   deploy/k8s/tls/make-secrets.sh DIR [EXTRA_DNS_NAME...]
# EXTRA_DNS_NAME: the names agents outside the cluster dial (e.g. collector.example.net).
# Needs openssl. Keep DIR/ca.key offline: whoever holds it can mint collector certificates.
set -euo pipefail

[[ $# -ge 1 ]] || { sed -n '2,8p' "$0" >&2; exit 2; }
dir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
ns=${NAMESPACE:-ccmon}
days=${DAYS:-825}

umask 077
mkdir -p "$dir"
cd "$dir"

# The names agents and ccmon-ctl dial: the Service (in-cluster), localhost (inside the pod).
san="DNS:ccmon-collector,DNS:ccmon-collector.$ns,DNS:ccmon-collector.$ns.svc,DNS:localhost,IP:127.0.0.1"
for n in "$@"; do san+=",DNS:$n"; done

if [[ ! -f ca.key ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days "$days" \
    -subj "/CN=ccmon CA" -keyout ca.key -out ca.crt 2>/dev/null
fi
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
  -subj "/CN=ccmon-collector" -keyout tls.key -out tls.csr 2>/dev/null
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
  -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san") \
  -out tls.crt 2>/dev/null
rm -f tls.csr ca.srl

# One token per site the config lists, and the vendor's Monitor token; existing ones are kept.
sites=$(sed -n 's/^  - id: *\([A-Za-z0-9._-]*\).*/\1/p' "$here/collector.yaml")
token_args=()
for s in $sites monitor-vendor; do
  f=site-$s.token
  [[ $s == monitor-* ]] && f=$s.token
  [[ -s $f ]] || openssl rand -hex 32 >"$f"
  token_args+=("--from-file=$f")
done
cp site-manila-1.token agent-sim.token 2>/dev/null || true

cat <<EOF
wrote $(pwd): ca.crt ca.key tls.crt tls.key ${token_args[*]//--from-file=/}
  kubectl -n $ns create secret generic ccmon-collector-tls \\
    --from-file=tls.crt --from-file=tls.key --from-file=ca.crt
  kubectl -n $ns create secret generic ccmon-collector-tokens \\
    ${token_args[*]}
  kubectl -n $ns create secret generic ccmon-agent-sim \\
    --from-file=ca.crt --from-file=token=agent-sim.token
Each real site's agent gets ca.crt and its site-<id>.token (--tls-ca, --token-file).
EOF
