#!/usr/bin/env bash
# Fails when the local edge and the Kong ingress route differently. Compares the routes in the edge's configs — the
# HAProxy and the nginx one written by scripts/edge/{haproxy,nginx}-conf.sh (the files given, else both generated
# here) — with the Ingress paths `helm template`
# renders from charts/flashdeal (templates/kong.yaml): the same REST prefixes to the same service's REST port, the same
# /package.Service/ paths to the same service's gRPC port. Run by charts/validate.sh and tests/e2e/local-mesh.sh; helm
# comes from charts/tools.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

confs=("$@")
if ((${#confs[@]} == 0)); then
  for service in auth catalog orders; do
    export "EDGE_UPSTREAM_${service^^}_REST=127.0.0.1:1" "EDGE_UPSTREAM_${service^^}_GRPC=127.0.0.1:2"
  done
  EDGE_DIR="$work" EDGE_LOGS="$work" bash "$root/scripts/edge/haproxy-conf.sh" >"$work/haproxy.cfg"
  EDGE_DIR="$work" EDGE_LOGS="$work" bash "$root/scripts/edge/nginx-conf.sh" >"$work/nginx.conf"
  confs=("$work/haproxy.cfg" "$work/nginx.conf")
fi
for conf in "${confs[@]}"; do
  [[ -r $conf ]] || { echo "check-routes.sh: cannot read $conf" >&2; exit 1; }
done

# shellcheck source=charts/tools.sh disable=SC2154
source "$root/charts/tools.sh"
install_k8s_tools >/dev/null
"$flashdeal_bin/helm" template flashdeal "$root/charts/flashdeal" --show-only templates/kong.yaml \
  --api-versions configuration.konghq.com/v1 >"$work/kong.yaml"

/usr/bin/python3 - "$work/kong.yaml" "${confs[@]}" <<'PY'
import re, sys, yaml

def edge_routes(path):
    text = open(path).read()
    return haproxy_routes(text) if re.search(r"^\s*use_backend ", text, re.M) else nginx_routes(path)

def haproxy_routes(text):
    routes = set()
    for m in re.finditer(r"^\s*use_backend (\w+)_(rest|grpc) if \{ path_beg (\S+) \}", text, re.M):
        service, kind, path = m.groups()
        routes.add((service, kind, path.strip("/") if kind == "grpc" else path))
    return routes

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

kong, failed = kong_routes(sys.argv[1]), False
if not kong:
    print("no Kong routes rendered")
    sys.exit(1)
for conf in sys.argv[2:]:
    edge, name = edge_routes(conf), conf.rsplit("/", 1)[-1]
    for route in sorted(kong - edge):
        print("%s: only Kong routes:  %s %s %s" % ((name,) + route))
    for route in sorted(edge - kong):
        print("%s: only the edge routes: %s %s %s" % ((name,) + route))
    failed |= edge != kong
    if edge == kong:
        print("%s and Kong route the same %d paths" % (name, len(kong)))
sys.exit(1 if failed else 0)
PY
