#!/usr/bin/env bash
# Fails when the local edge and the Kong ingress route or limit differently. Compares the edge's configs — the HAProxy
# and the nginx one written by scripts/edge/{haproxy,nginx}-conf.sh (the files given, else both generated here from
# the defaults) — with what `helm template` renders from charts/flashdeal (templates/kong*.yaml):
#   routes  the same REST prefixes to the same service's REST port, the same /package.Service/ paths to the same
#           service's gRPC port (the general Ingresses)
#   limits  for each class — caller (every call), auth (sign-up/log-in/refresh), order (PlaceOrder) — the same key
#           (caller = token signature else address, or address), the same calls (POST, exact paths), and the same
#           numbers: nginx's rate and burst, HAProxy's sliding window, Kong's fixed windows (second = rate + burst,
#           minute = 60 × rate + burst). Numbers are compared for the generated configs only: a running edge may carry
#           FLASHDEAL_EDGE_*_RATE/_BURST overrides (tests/e2e/local-mesh.sh does), and one with
#           FLASHDEAL_EDGE_RATE_LIMITS=off has no limits to compare.
# Run by charts/validate.sh and tests/e2e/local-mesh.sh; helm comes from charts/tools.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

confs=("$@") numbers=given
if ((${#confs[@]} == 0)); then
  numbers=generated
  # The defaults, whatever this shell exports: the chart's numbers are what is compared.
  while read -r knob; do unset "$knob"; done < <(compgen -e | grep '^FLASHDEAL_EDGE_' || true)
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
  --show-only templates/kong-plugins.yaml --api-versions configuration.konghq.com/v1 >"$work/kong.yaml"

/usr/bin/python3 - "$work/kong.yaml" "$numbers" "${confs[@]}" <<'PY'
import re, sys, yaml

CALLER_HEADER = "X-FlashDeal-Caller"

def is_haproxy(text):
    return re.search(r"^\s*use_backend ", text, re.M) is not None

# --- routes ----------------------------------------------------------------------------------------------------------
def haproxy_routes(text):
    routes = set()
    for m in re.finditer(r"^\s*use_backend (\w+)_(rest|grpc) if \{ path_beg (\S+) \}", text, re.M):
        service, kind, path = m.groups()
        routes.add((service, kind, path.strip("/") if kind == "grpc" else path))
    return routes

def nginx_routes(text):
    routes, location = set(), None
    for line in text.splitlines():
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

# --- limits: class → (key, calls, rate per second, burst) -------------------------------------------------------------
def nginx_limits(text):
    zones = dict((m.group(2), (m.group(1), m.group(3), m.group(4)))
                 for m in re.finditer(r"limit_req_zone \$(\w+) zone=edge_(\w+):\S+ rate=(\d+)r/([sm]);", text))
    if not zones:
        return None
    bursts = {}
    for m in re.finditer(r"limit_req zone=edge_(\w+)(?: burst=(\d+))? nodelay;", text):
        bursts[m.group(1)] = int(m.group(2) or 0)
    caller = re.search(r'map \$http_authorization \$edge_caller \{\s*"[^"]*" "token:\$signature";\s*default "address:\$binary_remote_addr";', text)
    maps = {}
    for m in re.finditer(r'map "\$request_method \$uri" \$(\w+) \{(.*?)\n\s*\}', text, re.S):
        entries = re.findall(r'"(\w+) (\S+)" \$(\w+);', m.group(2))
        maps[m.group(1)] = entries
    limits = {}
    for cls, (variable, rate, unit) in zones.items():
        per_second = int(rate) / (60 if unit == "m" else 1)
        if variable == "edge_caller":
            key, calls = ("caller" if caller else "?"), None
        else:
            entries = maps.get(variable, [])
            targets = {t for _, _, t in entries}
            key = {"binary_remote_addr": "address", "edge_caller": "caller" if caller else "?"}.get(targets.pop(), "?") if len(targets) == 1 else "?"
            calls = frozenset("%s %s" % (method, path) for method, path, _ in entries)
        limits[cls] = (key, calls, per_second, bursts.get(cls))
    return limits

def haproxy_limits(text):
    windows = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"^backend limit_(\w+)\n\s*stick-table .*gpc_rate\(1,(\d+)ms\)", text, re.M))
    if not windows:
        return None
    caller = ("token:" in text and re.search(r"set-var\(txn\.caller\) req\.fhdr\(authorization\),field\(3,\.\),concat\(token:,,\)", text)
              and re.search(r"set-var\(txn\.caller\) src,ipmask\(32,64\),concat\(address:,,\)", text))
    acls = dict((m.group(1), m.group(2).split()) for m in re.finditer(r"^\s*acl (\w+) (?:path|method) (.+)$", text, re.M))
    tracks = dict((m.group(3), (m.group(1), m.group(2), m.group(4))) for m in re.finditer(
        r"^\s*http-request track-sc(\d) (\S+) table limit_(\w+)(?: if (.+))?$", text, re.M))
    thresholds = dict((int(m.group(1)), int(m.group(2))) for m in re.finditer(r"sc_gpc_rate\(0,(\d)\) ge (\d+)", text))
    limits = {}
    for cls, window in windows.items():
        counter, fetch, condition = tracks.get(cls, (None, None, None))
        allowed = thresholds.get(int(counter)) if counter is not None else None
        key = {"var(txn.caller)": "caller" if caller else "?", "src": "address"}.get(fetch, "?")
        calls = None
        if condition:
            names = condition.split()
            methods = [m for n in names if n in acls and n.endswith("_call") for m in acls[n]]
            paths = [p for n in names if n in acls and n.endswith("_path") for p in acls[n]]
            calls = frozenset("%s %s" % (m, p) for m in methods for p in paths)
        per_second = burst = None
        if allowed:
            # (burst + 1) accepted in any (burst + 1) / rate seconds: the rate whose window HAProxy was given.
            burst = allowed - 1
            per_second, whole = allowed * 1000 / window, round(allowed * 1000 / window)
            if whole > 0 and allowed * 1000 // whole == window:
                per_second = whole
        limits[cls] = (key, calls, per_second, burst)
    return limits

def kong(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    routes, limits = set(), {}
    plugins = {d["metadata"]["name"]: d for d in docs if d["kind"] == "KongPlugin"}
    ingresses = [d for d in docs if d["kind"] == "Ingress"]
    for doc in ingresses:
        if doc["metadata"]["labels"].get("flashdeal.dev/route-class") != "general":
            continue
        for rule in doc["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]
                service = re.sub(r"-headless$", "", backend["name"])[len("flashdeal-"):]
                kind = "grpc" if backend["port"]["name"] == "grpc" else "rest"
                routes.add((service, kind, p["path"].strip("/") if kind == "grpc" else p["path"]))
    classes = {}
    for doc in ingresses:
        names = doc["metadata"]["annotations"].get("konghq.com/plugins", "").split(",")
        attached = [plugins[n] for n in names if n in plugins]
        for plugin in attached:
            if plugin["plugin"] != "rate-limiting":
                continue
            cls = plugin["metadata"]["labels"]["flashdeal.dev/limit-class"]
            c = plugin["config"]
            if c.get("limit_by") == "ip":
                key = "address"
            elif c.get("limit_by") == "header" and c.get("header_name") == CALLER_HEADER and any(
                    p["plugin"] == "pre-function" and '"token:"' in "".join(p["config"].get("access", [])) for p in attached):
                key = "caller"
            else:
                key = "?%s" % c.get("limit_by")
            per_second = (c["minute"] - c["second"]) / 59
            per_second = int(per_second) if per_second == int(per_second) else per_second
            entry = classes.setdefault(cls, {"key": set(), "numbers": set(), "calls": set()})
            entry["key"].add(key)
            entry["numbers"].add((per_second, c["second"] - per_second))
            if cls != "caller":
                methods = doc["metadata"]["annotations"].get("konghq.com/methods", "POST")  # gRPC calls are POSTs
                for rule in doc["spec"]["rules"]:
                    for p in rule["http"]["paths"]:
                        exact = re.fullmatch(r"/~(.*)\$", p["path"])
                        call = re.sub(r"\\(.)", r"\1", exact.group(1)) if exact else "prefix:" + p["path"]
                        entry["calls"].update("%s %s" % (m, call) for m in methods.split(","))
    for cls, e in classes.items():
        key = e["key"].pop() if len(e["key"]) == 1 else "?mixed"
        per_second, burst = e["numbers"].pop() if len(e["numbers"]) == 1 else (None, None)
        limits[cls] = (key, frozenset(e["calls"]) if cls != "caller" else None, per_second, burst)
    return routes, limits

def number(n):
    return "%g" % n if isinstance(n, (int, float)) else str(n)

def show(limit, full=True):
    key, calls, per_second, burst = limit
    where = "every call" if calls is None else (" ".join(sorted(calls)) if full else "%d calls" % len(calls))
    return "per %s, %s/s burst %s, %s" % (key, number(per_second), number(burst), where)

kong_routes, kong_limits = kong(sys.argv[1])
compare_numbers = sys.argv[2] == "generated"
failed = False
if not kong_routes:
    print("no Kong routes rendered")
    sys.exit(1)
for conf in sys.argv[3:]:
    text, name = open(conf).read(), conf.rsplit("/", 1)[-1]
    edge = haproxy_routes(text) if is_haproxy(text) else nginx_routes(text)
    for route in sorted(kong_routes - edge):
        print("%s: only Kong routes:  %s %s %s" % ((name,) + route))
    for route in sorted(edge - kong_routes):
        print("%s: only the edge routes: %s %s %s" % ((name,) + route))
    failed |= edge != kong_routes
    if edge == kong_routes:
        print("%s and Kong route the same %d paths" % (name, len(kong_routes)))

    limits = haproxy_limits(text) if is_haproxy(text) else nginx_limits(text)
    if limits is None:
        if compare_numbers:
            print("%s: no rate limits in the generated config" % name)
            failed = True
        else:
            print("%s: rate limits off (FLASHDEAL_EDGE_RATE_LIMITS=off): limits not compared" % name)
        continue
    same = True
    for cls in sorted(set(limits) | set(kong_limits)):
        mine, theirs = limits.get(cls), kong_limits.get(cls)
        if mine is None or theirs is None:
            print("%s: the %s limit exists only %s" % (name, cls, "at Kong" if mine is None else "at the edge"))
            same = False
            continue
        fields = ["key", "calls"] + (["rate", "burst"] if compare_numbers else [])
        for i, field in enumerate(fields):
            if mine[i] != theirs[i]:
                print("%s: %s limit: %s differs\n  edge: %s\n  Kong: %s" % (name, cls, field, show(mine), show(theirs)))
                same = False
                break
    failed |= not same
    if same:
        print("%s and Kong limit alike: %s" % (name, "; ".join(
            "%s %s" % (cls, show(limits[cls], False) if compare_numbers else "per %s" % limits[cls][0]) for cls in sorted(limits))))
sys.exit(1 if failed else 0)
PY
