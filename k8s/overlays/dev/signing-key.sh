#!/usr/bin/env bash
# Creates the dev overlay's JWT signing key Secret in the cluster, generated on the spot: no private key lives in the
# repository. Idempotent: an existing Secret is kept (a new key would invalidate every token issued so far).
#
#   k8s/overlays/dev/signing-key.sh [NAMESPACE]        (default flashdeal-dev), then: kubectl apply -k k8s/overlays/dev
#
# The key is ES256 (P-256, PKCS#8 PEM) from openssl, written to a private temporary file only for `kubectl create`
# and deleted right after. The namespace is created (declaratively, so `kubectl apply -k` adopts it) when missing.
# Rotate: delete the Secret, re-run, `kubectl -n NAMESPACE rollout restart deployment flashdeal-auth`.
set -euo pipefail

namespace="${1:-flashdeal-dev}"
secret="flashdeal-signing-keys"
kid="dev-$(date -u +%Y%m%d)"

command -v kubectl >/dev/null || { echo "signing-key.sh: kubectl is required" >&2; exit 1; }
command -v openssl >/dev/null || { echo "signing-key.sh: openssl is required" >&2; exit 1; }

if kubectl -n "$namespace" get secret "$secret" -o name >/dev/null 2>&1; then
  echo "signing-key.sh: secret/$secret exists in $namespace: kept"
  exit 0
fi

kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
dir="$(umask 077 && mktemp -d)"
trap 'rm -rf "$dir"' EXIT
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$kid.pem" 2>/dev/null
kubectl -n "$namespace" create secret generic "$secret" --from-file="$kid.pem=$dir/$kid.pem" \
  && kubectl -n "$namespace" label secret "$secret" app.kubernetes.io/part-of=flashdeal app.kubernetes.io/component=auth >/dev/null
echo "signing-key.sh: secret/$secret created in $namespace with a new P-256 key ($kid)"
