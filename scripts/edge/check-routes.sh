#!/usr/bin/env bash
# Fails when the local edge and the Kong ingress route differently. Compares the routes in an nginx config written by
# scripts/edge/nginx-conf.sh (the file given as $1, else one generated here) with the Ingress paths `helm template`
# renders from charts/flashdeal (templates/kong.yaml): the same REST prefixes to the same service's REST port, the same
# /package.Service/ paths to the same service's gRPC port. Run by charts/validate.sh and tests/e2e/local-mesh.sh; helm
# comes from charts/tools.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

conf="${1:-}"
if [[ -z $conf ]]; then
  conf="$work/nginx.conf"
  for service in auth catalog orders; do
    export "EDGE_UPSTREAM_${service^^}_REST=127.0.0.1:1" "EDGE_UPSTREAM_${service^^}_GRPC=127.0.0.1:2"
  done
  EDGE_DIR="$work" EDGE_LOGS="$work" bash "$root/scripts/edge/nginx-conf.sh" >"$conf"
fi
[[ -r $conf ]] || { echo "check-routes.sh: cannot read $conf" >&2; exit 1; }

# shellcheck source=charts/tools.sh disable=SC2154
source "$root/charts/tools.sh"
install_k8s_tools >/dev/null
"$flashdeal_bin/helm" template flashdeal "$root/charts/flashdeal" --show-only templates/kong.yaml \
  --api-versions configuration.konghq.com/v1 >"$work/kong.yaml"

/usr/bin/python3 - "$conf" "$work/kong.yaml" <<'PY'
import re, sys, yaml

def nginx_routes(path):
    routes, location = set(), None
    for line in open(path):
        m = re.match(r"\s*location \^~ (\S+) \{", line)
        if m:
            location = m.group(1)
            continue
        m = re.match(r"\s*(proxy_pass http|grpc_pass grpc)://(\w+)_(rest|grpc);", line)
        if m and location:
            service, kind = m.group(2), m.group(3)
            routes.add((service, kind, location.strip("/") if kind == "grpc" else location))
            location = None
    return routes

def kong_routes(path):
    routes = set()
    for doc in yaml.safe_load_all(open(path)):
        if not doc or doc.get("kind") != "Ingress":
            continue
        for rule in doc["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]
                service = re.sub(r"-headless$", "", backend["name"])[len("flashdeal-"):]
                kind = "grpc" if backend["port"]["name"] == "grpc" else "rest"
                routes.add((service, kind, p["path"].strip("/") if kind == "grpc" else p["path"]))
    return routes

edge, kong = nginx_routes(sys.argv[1]), kong_routes(sys.argv[2])
for route in sorted(kong - edge):
    print("only Kong routes:  %s %s %s" % route)
for route in sorted(edge - kong):
    print("only the edge routes: %s %s %s" % route)
if not kong:
    print("no Kong routes rendered")
if edge != kong or not kong:
    sys.exit(1)
print("edge and Kong route the same %d paths" % len(kong))
PY
