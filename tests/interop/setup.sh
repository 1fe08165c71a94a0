#!/usr/bin/env bash
# Installs the independent gRPC clients that tests/FlashDeal.Interop.Tests runs against the real FlashDeal services:
# Python grpcio (Debian packages, system python3), @grpc/grpc-js and buf curl (npm, tests/interop/node). No protoc:
# the clients load the schema from the FileDescriptorSet file the tests write. Also nghttp/h2load (nghttp2-client) for
# tests/e2e/local-mesh.sh and load/grpc-unary-bench.sh.
# Idempotent: installs only what is missing. apt-get needs root (or password-less sudo).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_dir="$here/node"

apt_packages=(python3-grpcio python3-protobuf nghttp2-client)
command -v node >/dev/null 2>&1 || apt_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_packages+=(npm)

missing=()
for package in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo)
  else
    echo "setup.sh: missing Debian packages: ${missing[*]} (run as root or install them with apt-get)" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when node_modules does not match package-lock.json. Install scripts are not needed (buf's package
# finds its platform binary without them).
if ! (cd "$node_dir" && npm ls --all >/dev/null 2>&1 && node node_modules/@bufbuild/buf/bin/buf --version >/dev/null 2>&1); then
  echo "setup.sh: npm ci in $node_dir"
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

/usr/bin/python3 -c "import grpc, google.protobuf" || { echo "setup.sh: /usr/bin/python3 cannot import grpc" >&2; exit 1; }
echo "setup.sh: ready (grpcio $(/usr/bin/python3 -c 'import grpc; print(grpc.__version__)')," \
  "node $(node --version), buf $(node "$node_dir/node_modules/@bufbuild/buf/bin/buf" --version))"
