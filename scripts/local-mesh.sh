#!/usr/bin/env bash
# The local mesh behind `./flashdeal up | down | status`: PostgreSQL and Redis from the machine's binaries (unless
# FLASHDEAL_POSTGRES / FLASHDEAL_REDIS point elsewhere), migrations, auth, catalog and N orders replicas as background
# processes, the nginx edge in front of them (scripts/edge/), a demo seed. Everything lives in $FLASHDEAL_DATA (default
# .data/): pg/, redis/, keys/, edge/, logs/<name>.log, run/<name>.pid, run/mesh.ports, demo.env, mesh.env.
# docs/local-mesh.md describes processes, ports, files, routes, rate limits and every knob.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DATA="${FLASHDEAL_DATA:-$ROOT/.data}"
PG_PORT="${FLASHDEAL_PG_PORT:-15432}"
REDIS_PORT="${FLASHDEAL_REDIS_PORT:-16379}"
# Redis topology (`up --redis`): single (one server, AOF), sentinel (a primary on REDIS_PORT, its replica on
# REDIS_REPLICA_PORT, three Sentinels from REDIS_SENTINEL_PORT on; the services find the primary through them) or
# cluster (six nodes from REDIS_CLUSTER_PORT on, three primaries with a replica each; cluster bus on port + 10000).
REDIS_TOPOLOGY="${FLASHDEAL_REDIS_TOPOLOGY:-single}"
REDIS_REPLICA_PORT="${FLASHDEAL_REDIS_REPLICA_PORT:-16380}"
REDIS_SENTINEL_PORT="${FLASHDEAL_REDIS_SENTINEL_PORT:-16479}"
REDIS_CLUSTER_PORT="${FLASHDEAL_REDIS_CLUSTER_PORT:-16500}"
# How often the Redis servers fsync their AOF: everysec (a machine crash can lose the last second of accepted orders)
# or always (every write on disk before its answer; its price is in docs/local-mesh.md).
REDIS_FSYNC="${FLASHDEAL_REDIS_FSYNC:-everysec}"
REDIS_SERVICE=flashdeal
AUTH_GRPC_PORT="${FLASHDEAL_AUTH_GRPC_PORT:-50051}"
AUTH_REST_PORT="${FLASHDEAL_AUTH_REST_PORT:-8081}"
CATALOG_GRPC_PORT="${FLASHDEAL_CATALOG_GRPC_PORT:-50052}"
CATALOG_REST_PORT="${FLASHDEAL_CATALOG_REST_PORT:-8082}"
ORDERS_GRPC_PORT="${FLASHDEAL_ORDERS_GRPC_PORT:-50053}"
ORDERS_REST_PORT="${FLASHDEAL_ORDERS_REST_PORT:-8083}"
# Replica i (1-based) listens on ORDERS_GRPC_PORT + i - 1 and ORDERS_REST_PORT + i - 1.
ORDERS_REPLICAS="${FLASHDEAL_ORDERS_REPLICAS:-2}"
EDGE_REST_PORT="${FLASHDEAL_EDGE_REST_PORT:-8080}"
EDGE_GRPC_PORT="${FLASHDEAL_EDGE_GRPC_PORT:-50050}"
# The edge: HAProxy (default: it multiplexes gRPC calls to the replicas, docs/benchmarks.md "The front door") or nginx;
# both from the chart's routes with the same limits, headers and error bodies (scripts/edge/).
EDGE_KIND="${FLASHDEAL_EDGE:-haproxy}"
[[ $EDGE_KIND == haproxy || $EDGE_KIND == nginx ]] || { echo "flashdeal: FLASHDEAL_EDGE must be haproxy or nginx (got '$EDGE_KIND')" >&2; exit 2; }
READY_TIMEOUT="${FLASHDEAL_READY_TIMEOUT:-60}"
# Observability (docs/observability.md): Prometheus with FlashDeal's rules, scraping every service, the edge (HAProxy's
# own /metrics; nginx's stub_status through prometheus-nginx-exporter), Redis and PostgreSQL (their Debian exporters).
# FLASHDEAL_PROMETHEUS=off
# skips all of it; where the packages cannot be installed, `up` says so and goes on without them.
PROMETHEUS="${FLASHDEAL_PROMETHEUS:-on}"
PROMETHEUS_PORT="${FLASHDEAL_PROMETHEUS_PORT:-9090}"
EDGE_STATUS_PORT="${FLASHDEAL_EDGE_STATUS_PORT:-18080}"
NGINX_EXPORTER_PORT="${FLASHDEAL_NGINX_EXPORTER_PORT:-19113}"
REDIS_EXPORTER_PORT="${FLASHDEAL_REDIS_EXPORTER_PORT:-19121}"
PG_EXPORTER_PORT="${FLASHDEAL_PG_EXPORTER_PORT:-19187}"
PROMETHEUS_RULES="$ROOT/charts/flashdeal/files/prometheus/flashdeal-rules.yaml"

ADMIN_EMAIL="${FLASHDEAL_ADMIN_EMAIL:-admin@flashdeal.local}" ADMIN_PASSWORD="${FLASHDEAL_ADMIN_PASSWORD:-flashdeal-admin-demo}"
CUSTOMERS=("ada@flashdeal.local" "grace@flashdeal.local") CUSTOMER_PASSWORD="flashdeal-customer-demo"

BUF="$ROOT/tests/interop/node/node_modules/.bin/buf"
LOGS="$DATA/logs" RUN="$DATA/run" KEYS="$DATA/keys" EDGE="$DATA/edge"
RELEASE=bin/Release/net10.0
# The ports `up` used, for `status` and `down` run later without the same environment.
PORTS_FILE="$RUN/mesh.ports"
PORT_VARS=(PG_PORT REDIS_PORT REDIS_TOPOLOGY REDIS_REPLICA_PORT REDIS_SENTINEL_PORT REDIS_CLUSTER_PORT AUTH_GRPC_PORT
  AUTH_REST_PORT CATALOG_GRPC_PORT CATALOG_REST_PORT ORDERS_GRPC_PORT ORDERS_REST_PORT ORDERS_REPLICAS EDGE_REST_PORT
  EDGE_GRPC_PORT PROMETHEUS PROMETHEUS_PORT EDGE_STATUS_PORT NGINX_EXPORTER_PORT REDIS_EXPORTER_PORT PG_EXPORTER_PORT)

# >>> Service rate limits: FLASHDEAL_SERVICE_RATE_LIMITS=off passes these settings to every service. The only place
# >>> that names the services' configuration key ("RateLimits:Enabled", docs/rate-limits.md of the service limits).
SERVICE_RATE_LIMITS_OFF=("RateLimits__Enabled=false")

# STEP names what the script is doing (the last log line), so an exit nobody explained still says where it happened.
STEP="starting" REPORTED=0
log() { STEP="$*"; printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { REPORTED=1; printf 'flashdeal: %s\n' "$*" >&2; exit 1; }
reported_exit() { REPORTED=1; exit 1; } # after a function has printed why
is_root() { [[ $(id -u) -eq 0 ]]; }

# --- the processes -----------------------------------------------------------------------------------------------
# One line per service: name, project folder, gRPC port, REST port, then its own settings. Start order = this order;
# stop order is the reverse.
declare -a SERVICE_NAMES=()
declare -A SERVICE_PROJECT=() SERVICE_GRPC=() SERVICE_REST=() SERVICE_ENV=()
add_service() {
  local name=$1; SERVICE_NAMES+=("$name")
  SERVICE_PROJECT[$name]=$2 SERVICE_GRPC[$name]=$3 SERVICE_REST[$name]=$4
  shift 4; SERVICE_ENV[$name]="$(printf '%s\x1f' "$@")"
}
# The orders replicas are orders-1 … orders-N: one process, log and pid file each, all on the same PostgreSQL and Redis
# (each replica is one consumer of the order streams' consumer group).
define_services() {
  SERVICE_NAMES=() SERVICE_PROJECT=() SERVICE_GRPC=() SERVICE_REST=() SERVICE_ENV=()
  local common=("Auth__JwksUrl=http://127.0.0.1:$AUTH_REST_PORT/.well-known/jwks.json") auth=() i
  [[ ${FLASHDEAL_SERVICE_RATE_LIMITS:-on} == off ]] && common+=("${SERVICE_RATE_LIMITS_OFF[@]}")
  [[ -n ${FLASHDEAL_PASSWORD_ITERATIONS:-} ]] && auth+=("Auth__Passwords__Iterations=$FLASHDEAL_PASSWORD_ITERATIONS")
  # FLASHDEAL_LOCAL_LOAD=1: a load run from this machine makes every simulated user come from 127.0.0.1, so limits
  # keyed by address (sign-up and log-in, anonymous catalog reads, auth's failed-log-in throttle) are raised to load-test
  # levels. Limits keyed by user (PlaceOrder at the edge and in orders) stay as they are.
  if [[ ${FLASHDEAL_LOCAL_LOAD:-0} == 1 ]]; then
    local policy field
    for policy in log-in sign-up; do
      for field in PermitsPerSecond Burst; do auth+=("RateLimits__Policies__${policy}__$field=5000"); done
    done
    auth+=("Auth__LogInThrottle__MaxFailuresPerAddress=1000000")
    common+=("RateLimits__Policies__catalog-read__PermitsPerSecond=5000" "RateLimits__Policies__catalog-read__Burst=5000")
  fi
  # Extra configuration per service, e.g. FLASHDEAL_CATALOG_SETTINGS="Catalog__CacheEnabled=false" (space-separated
  # Key__Path=value pairs, last wins): how benchmarks and experiments change one service without editing appsettings.
  local -a auth_extra catalog_extra orders_extra
  read -r -a auth_extra <<<"${FLASHDEAL_AUTH_SETTINGS:-}"
  read -r -a catalog_extra <<<"${FLASHDEAL_CATALOG_SETTINGS:-}"
  read -r -a orders_extra <<<"${FLASHDEAL_ORDERS_SETTINGS:-}"
  add_service auth services/Auth/FlashDeal.Auth "$AUTH_GRPC_PORT" "$AUTH_REST_PORT" "${common[@]}" "Auth__SigningKeys__Directory=$KEYS" \
    "Auth__BootstrapAdmin__Email=$ADMIN_EMAIL" "Auth__BootstrapAdmin__Password=$ADMIN_PASSWORD" "${auth[@]}" "${auth_extra[@]}"
  add_service catalog services/Catalog/FlashDeal.Catalog "$CATALOG_GRPC_PORT" "$CATALOG_REST_PORT" "${common[@]}" "${catalog_extra[@]}"
  for ((i = 1; i <= ORDERS_REPLICAS; i++)); do
    add_service "orders-$i" services/Orders/FlashDeal.Orders $((ORDERS_GRPC_PORT + i - 1)) $((ORDERS_REST_PORT + i - 1)) "${common[@]}" \
      "${orders_extra[@]}"
  done
}
orders_names() { local name; for name in "${SERVICE_NAMES[@]}"; do [[ $name == orders-* ]] && echo "$name"; done; return 0; }

validate_settings() {
  [[ $ORDERS_REPLICAS =~ ^[1-9][0-9]?$ ]] || die "orders replicas must be 1-99 (--orders-replicas / FLASHDEAL_ORDERS_REPLICAS, got '$ORDERS_REPLICAS')"
  [[ -z ${FLASHDEAL_PASSWORD_ITERATIONS:-} || $FLASHDEAL_PASSWORD_ITERATIONS =~ ^[1-9][0-9]*$ ]] ||
    die "FLASHDEAL_PASSWORD_ITERATIONS must be a positive whole number (got '$FLASHDEAL_PASSWORD_ITERATIONS')"
  [[ ${FLASHDEAL_LOCAL_LOAD:-0} =~ ^[01]$ ]] || die "FLASHDEAL_LOCAL_LOAD must be 0 or 1 (got '$FLASHDEAL_LOCAL_LOAD')"
  [[ ${FLASHDEAL_SERVICE_RATE_LIMITS:-on} == on || ${FLASHDEAL_SERVICE_RATE_LIMITS:-on} == off ]] ||
    die "FLASHDEAL_SERVICE_RATE_LIMITS must be on or off (got '$FLASHDEAL_SERVICE_RATE_LIMITS')"
  local var pair
  for var in FLASHDEAL_AUTH_SETTINGS FLASHDEAL_CATALOG_SETTINGS FLASHDEAL_ORDERS_SETTINGS; do
    for pair in ${!var:-}; do
      [[ $pair =~ ^[A-Za-z][A-Za-z0-9_.-]*=.*$ ]] || die "$var: '$pair' is not Key__Path=value"
    done
  done
  [[ $PROMETHEUS == on || $PROMETHEUS == off ]] || die "FLASHDEAL_PROMETHEUS must be on or off (got '$PROMETHEUS')"
  [[ $REDIS_TOPOLOGY == single || $REDIS_TOPOLOGY == sentinel || $REDIS_TOPOLOGY == cluster ]] ||
    die "the Redis topology must be single, sentinel or cluster (--redis / FLASHDEAL_REDIS_TOPOLOGY, got '$REDIS_TOPOLOGY')"
  [[ $REDIS_FSYNC == everysec || $REDIS_FSYNC == always ]] ||
    die "FLASHDEAL_REDIS_FSYNC must be everysec or always (got '$REDIS_FSYNC')"
  [[ $REDIS_TOPOLOGY == single ]] || ((OWN_REDIS)) ||
    die "--redis $REDIS_TOPOLOGY starts its own Redis servers; unset FLASHDEAL_REDIS (or point it at your Sentinels with" \
      "serviceName=, or at your cluster's nodes, and leave --redis at single)"
  for var in "${PORT_VARS[@]}"; do
    [[ $var == PROMETHEUS || $var == REDIS_TOPOLOGY ]] && continue
    [[ ${!var} =~ ^[0-9]+$ ]] || die "$var must be a number (got '${!var}')"
  done
}
load_ports() {
  [[ -f $PORTS_FILE ]] || return 0
  # shellcheck source=/dev/null
  source "$PORTS_FILE"
  ((OWN_PG)) && PG_CONN="Host=127.0.0.1;Port=$PG_PORT;Username=app;Database=flashdeal"
  ((OWN_REDIS)) && REDIS_CONN="$(own_redis_connection)"
  AUTH_REST="http://127.0.0.1:$AUTH_REST_PORT" CATALOG_REST="http://127.0.0.1:$CATALOG_REST_PORT"
}
save_ports() { local var; for var in "${PORT_VARS[@]}"; do echo "$var=${!var}"; done >"$PORTS_FILE"; }

service_dll() { local p=${SERVICE_PROJECT[$1]}; echo "$ROOT/$p/$RELEASE/$(basename "$p").dll"; }

# --- helpers -----------------------------------------------------------------------------------------------------
pid_of() { [[ -f "$RUN/$1.pid" ]] && cat "$RUN/$1.pid" || true; }
alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }
# A pid file can outlive its process (a reboot, kill -9): only a live process running the expected program counts.
running() {
  local name=$1 pid; pid="$(pid_of "$1")"
  alive "$pid" || return 1
  local program=$name
  [[ -n "${SERVICE_PROJECT[$name]:-}" ]] && program="$(basename "${SERVICE_PROJECT[$name]}").dll"
  [[ $name == orders-* ]] && program=FlashDeal.Orders.dll
  [[ $name == redis || $name == redis-* || $name == sentinel-* ]] && program=redis-server
  [[ $name == edge ]] && program='haproxy\|nginx'
  [[ $name == prometheus ]] && program=prometheus
  [[ $name == *-exporter ]] && program=$name
  [[ ! -r /proc/$pid/cmdline ]] || tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qi -- "$program"
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_owner() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 | sed 's/users:(("//; s/",pid=/ pid /' || true; }
log_tail() { [[ -f "$LOGS/$1.log" ]] && { echo "--- last lines of $LOGS/$1.log ---" >&2; tail -n 40 "$LOGS/$1.log" >&2; } || true; }

# Accepts a postgres:// URL or an Npgsql connection string.
npgsql_connection() {
  local url=$1
  if [[ $url =~ ^postgres(ql)?://(([^:@/]+)(:([^@/]*))?@)?([^:/?]+)(:([0-9]+))?(/([^?]*))? ]]; then
    local s="Host=${BASH_REMATCH[6]};Port=${BASH_REMATCH[8]:-5432};Database=${BASH_REMATCH[10]:-flashdeal}"
    [[ -n "${BASH_REMATCH[3]}" ]] && s+=";Username=${BASH_REMATCH[3]}"
    [[ -n "${BASH_REMATCH[5]}" ]] && s+=";Password=${BASH_REMATCH[5]}"
    echo "$s"
  else
    echo "$url"
  fi
}
redis_connection() { local u=${1#redis://}; echo "${u%/}"; }
sentinel_names() { [[ $REDIS_TOPOLOGY == sentinel ]] && echo sentinel-1 sentinel-2 sentinel-3; return 0; }
sentinel_port() { echo $((REDIS_SENTINEL_PORT + ${1#sentinel-} - 1)); }
cluster_names() { [[ $REDIS_TOPOLOGY == cluster ]] && echo redis-1 redis-2 redis-3 redis-4 redis-5 redis-6; return 0; }
cluster_port() { echo $((REDIS_CLUSTER_PORT + ${1#redis-} - 1)); }
# The Redis servers holding data, whatever the topology: "name port" lines.
redis_servers() {
  local name
  case $REDIS_TOPOLOGY in
    cluster) for name in $(cluster_names); do echo "$name $(cluster_port "$name")"; done ;;
    sentinel) echo "redis $REDIS_PORT"; echo "redis-replica $REDIS_REPLICA_PORT" ;;
    *) echo "redis $REDIS_PORT" ;;
  esac
}
# The services' connection string: the server itself, or the Sentinels and the service name (StackExchange.Redis asks
# them for the primary and follows a failover, docs/data.md#connections).
own_redis_connection() {
  local name parts=()
  if [[ $REDIS_TOPOLOGY == sentinel ]]; then
    for name in $(sentinel_names); do parts+=("127.0.0.1:$(sentinel_port "$name")"); done
    echo "$(IFS=,; echo "${parts[*]}"),serviceName=$REDIS_SERVICE"
  elif [[ $REDIS_TOPOLOGY == cluster ]]; then
    # Every node: the client reads the slot map from any of them and follows MOVED/ASK and failovers.
    for name in $(cluster_names); do parts+=("127.0.0.1:$(cluster_port "$name")"); done
    (IFS=,; echo "${parts[*]}")
  else
    echo "127.0.0.1:$REDIS_PORT"
  fi
}

if [[ -n "${FLASHDEAL_POSTGRES:-}" ]]; then OWN_PG=0 PG_CONN="$(npgsql_connection "$FLASHDEAL_POSTGRES")"
else OWN_PG=1 PG_CONN="Host=127.0.0.1;Port=$PG_PORT;Username=app;Database=flashdeal"; fi
if [[ -n "${FLASHDEAL_REDIS:-}" ]]; then OWN_REDIS=0 REDIS_CONN="$(redis_connection "$FLASHDEAL_REDIS")"
else OWN_REDIS=1 REDIS_CONN="$(own_redis_connection)"; fi

nginx_bin() { command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }
haproxy_bin() { command -v haproxy 2>/dev/null || { [[ -x /usr/sbin/haproxy ]] && echo /usr/sbin/haproxy; } || true; }
edge_bin() { if [[ $EDGE_KIND == haproxy ]]; then haproxy_bin; else nginx_bin; fi; }

pg_bin() {
  local dir; dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [[ -n "$dir" ]] && echo "$dir" || dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)"
}
# PostgreSQL refuses to run as root: as root it runs as the postgres user.
as_pg() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

# --- prerequisites -----------------------------------------------------------------------------------------------
ensure_prerequisites() {
  command -v dotnet >/dev/null || die "dotnet (.NET SDK 10) is required: https://dot.net"
  local missing=() tool
  for tool in curl jq openssl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  ((OWN_PG)) && [[ ! -x "$(pg_bin)/initdb" ]] && missing+=(postgresql)
  ((OWN_REDIS)) && ! command -v redis-server >/dev/null && missing+=(redis-server)
  # Debian 12's "haproxy" (2.6: h2 to the upstreams, stick tables, the Prometheus exporter built in) and "nginx"
  # (http_v2, grpc, limit_req, map) have everything the edge needs.
  [[ -n "$(edge_bin)" ]] || missing+=("$EDGE_KIND")
  local observability=() exporters=(prometheus-redis-exporter prometheus-postgres-exporter)
  [[ $EDGE_KIND == nginx ]] && exporters+=(prometheus-nginx-exporter)
  if [[ $PROMETHEUS == on ]]; then
    for tool in prometheus "${exporters[@]}"; do
      command -v "$tool" >/dev/null || observability+=("$tool")
    done
  fi
  if ((${#observability[@]} > 0)); then
    if is_root && command -v apt-get >/dev/null; then
      log "installing ${observability[*]}"
      # No recommends: Debian's prometheus would bring its node exporter and a web UI package along.
      { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${observability[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${observability[@]}" >/dev/null 2>&1; }; } ||
        echo "flashdeal: could not install ${observability[*]}; going on without the local Prometheus" >&2
      stop_package_servers
    fi
    if ! command -v prometheus >/dev/null; then
      echo "flashdeal: prometheus is not installed, so there is no local Prometheus (as root: apt-get install prometheus" \
        "${exporters[*]}; or FLASHDEAL_PROMETHEUS=off)." \
        "Each service still serves /metrics on its REST port." >&2
      PROMETHEUS=off
    fi
  fi
  ((${#missing[@]} == 0)) && return 0
  if is_root && command -v apt-get >/dev/null; then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
    [[ -n "$(edge_bin)" ]] && { ! ((OWN_REDIS)) || command -v redis-server >/dev/null; } ||
      die "apt-get installed ${missing[*]}, yet $EDGE_KIND or redis-server is still not on PATH ($PATH)"
    stop_package_servers
  else
    die "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) or set FLASHDEAL_POSTGRES / FLASHDEAL_REDIS."
  fi
}

# The Debian packages start their own servers on the default ports (where an init system runs); FlashDeal runs its
# own on other ports, so theirs are stopped. `command` runs the system's service(8), never a shell function.
stop_package_servers() {
  command -v service >/dev/null || return 0
  local unit
  for unit in postgresql redis-server nginx haproxy prometheus prometheus-nginx-exporter prometheus-redis-exporter \
    prometheus-postgres-exporter; do
    command service "$unit" stop >/dev/null 2>&1 || true
  done
}

check_ports() {
  local busy=() port label
  local -a wanted=()
  ((OWN_PG)) && wanted+=("postgres:$PG_PORT")
  if ((OWN_REDIS)); then
    while read -r name port; do wanted+=("$name:$port"); done < <(redis_servers)
    for name in $(cluster_names); do wanted+=("$name-bus:$(($(cluster_port "$name") + 10000))"); done
    for name in $(sentinel_names); do wanted+=("$name:$(sentinel_port "$name")"); done
  fi
  for name in "${SERVICE_NAMES[@]}"; do wanted+=("$name-grpc:${SERVICE_GRPC[$name]}" "$name-rest:${SERVICE_REST[$name]}"); done
  wanted+=("edge-rest:$EDGE_REST_PORT" "edge-grpc:$EDGE_GRPC_PORT" "edge-status:$EDGE_STATUS_PORT")
  [[ $PROMETHEUS == on ]] && wanted+=("prometheus:$PROMETHEUS_PORT" "redis-exporter:$REDIS_EXPORTER_PORT"
    "postgres-exporter:$PG_EXPORTER_PORT")
  [[ $PROMETHEUS == on && $EDGE_KIND == nginx ]] && wanted+=("nginx-exporter:$NGINX_EXPORTER_PORT")
  for label in "${wanted[@]}"; do
    port=${label##*:}
    if port_busy "$port"; then
      local owner; owner="$(port_owner "$port")"
      busy+=("  ${label%%:*} port $port is in use${owner:+ by $owner}")
    fi
  done
  if ((${#busy[@]} > 0)); then
    printf 'flashdeal: ports busy:\n' >&2; printf '%s\n' "${busy[@]}" >&2
    die "stop what uses them, or move FlashDeal with FLASHDEAL_{PG,REDIS,AUTH_GRPC,AUTH_REST,CATALOG_GRPC,CATALOG_REST,ORDERS_GRPC,ORDERS_REST,EDGE_REST,EDGE_GRPC,EDGE_STATUS,PROMETHEUS,NGINX_EXPORTER,REDIS_EXPORTER,PG_EXPORTER}_PORT (docs/local-mesh.md)."
  fi
}

# --- start -------------------------------------------------------------------------------------------------------
prepare_data() {
  mkdir -p "$DATA" "$LOGS" "$RUN" "$KEYS" "$EDGE/tmp"
  # The postgres user must reach $DATA/pg.
  if ((OWN_PG)) && is_root; then
    chmod 755 "$DATA" "$LOGS"
    runuser -u postgres -- test -x "$DATA" || die "the postgres user cannot reach $DATA (a parent folder is not world-searchable); set FLASHDEAL_DATA elsewhere"
  fi
  if ! compgen -G "$KEYS/*.pem" >/dev/null; then
    log "generating the token signing key ($KEYS/local-1.pem)"
    (umask 077; openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$KEYS/local-1.pem")
  fi
}

start_postgres() {
  local bin pgdata="$DATA/pg" pglog="$LOGS/postgres.log"
  bin="$(pg_bin)"
  if [[ ! -f "$pgdata/PG_VERSION" ]]; then
    log "initdb $pgdata"
    mkdir -p "$pgdata"; is_root && chown postgres: "$pgdata"
    chmod 700 "$pgdata"
    as_pg "$bin/initdb" -D "$pgdata" -U app --auth=trust -E UTF8 >"$LOGS/initdb.log" 2>&1 || { log_tail initdb; die "initdb failed"; }
  fi
  touch "$pglog"; is_root && chown postgres: "$pglog"
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  # No Unix socket: the data folder's path may be too long for one, and everything connects over TCP.
  as_pg "$bin/pg_ctl" -D "$pgdata" -l "$pglog" -w -t 30 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null ||
    { [[ -f "$pgdata/postmaster.pid" ]] && head -1 "$pgdata/postmaster.pid" >"$RUN/postgres.pid"; log_tail postgres; die "PostgreSQL did not start"; }
  head -1 "$pgdata/postmaster.pid" >"$RUN/postgres.pid"
  local tries=0
  until "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U app -d postgres -Atqc 'select 1' >/dev/null 2>&1; do
    ((++tries > 50)) && { log_tail postgres; die "PostgreSQL does not answer on $PG_PORT"; }
    sleep 0.1
  done
  if [[ -z "$("$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U app -d postgres -Atqc "select 1 from pg_database where datname = 'flashdeal'")" ]]; then
    "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U app -d postgres -qc 'create database flashdeal' >/dev/null
  fi
}

# Starts a command in its own session (Ctrl-C in the terminal reaches only this script, which stops things in order).
spawn() {
  local name=$1; shift
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

# redis-server NAME PORT [options]: started, and answering PING.
start_redis_server() {
  local name=$1 port=$2; shift 2
  mkdir -p "$DATA/$name"
  spawn "$name" redis-server --port "$port" --bind 127.0.0.1 --dir "$DATA/$name" --appendonly yes \
    --appendfsync "$REDIS_FSYNC" --save '' --protected-mode yes "$@"
  wait_redis "$name" "$port"
}
wait_redis() {
  local name=$1 port=$2 tries=0
  until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
    alive "$(pid_of "$name")" || { log_tail "$name"; die "$name did not start"; }
    ((++tries > 100)) && { log_tail "$name"; die "$name does not answer on $port"; }
    sleep 0.1
  done
}

start_redis() {
  case $REDIS_TOPOLOGY in
    sentinel) start_redis_sentinel ;;
    cluster) start_redis_cluster ;;
    *) log "starting Redis on 127.0.0.1:$REDIS_PORT"; start_redis_server redis "$REDIS_PORT" ;;
  esac
}

start_redis_sentinel() {
  log "Redis Sentinel: servers on $REDIS_PORT and $REDIS_REPLICA_PORT, three Sentinels on $REDIS_SENTINEL_PORT-$((REDIS_SENTINEL_PORT + 2))"
  # The primary is the one the Sentinels last named (after a failover and `down`, the promoted server: it holds the
  # newest writes); the first `up` makes REDIS_PORT the primary.
  local primary=$REDIS_PORT replica=$REDIS_REPLICA_PORT known
  known="$(sed -n "s/^sentinel monitor $REDIS_SERVICE 127.0.0.1 \([0-9]*\) .*/\1/p" "$DATA/sentinel-1/sentinel.conf" \
    2>/dev/null || true)"
  [[ $known == "$REDIS_REPLICA_PORT" ]] && primary=$REDIS_REPLICA_PORT replica=$REDIS_PORT
  local -A name_of=([$REDIS_PORT]=redis [$REDIS_REPLICA_PORT]=redis-replica)
  start_redis_server "${name_of[$primary]}" "$primary"
  start_redis_server "${name_of[$replica]}" "$replica" --replicaof 127.0.0.1 "$primary"
  local tries=0
  until [[ "$(redis-cli -p "$replica" role 2>/dev/null | sed -n 4p)" == connected ]]; do
    ((++tries > 100)) && { log_tail "${name_of[$replica]}"; die "the Redis replica did not sync with the primary"; }
    sleep 0.1
  done
  local name port
  for name in $(sentinel_names); do
    port="$(sentinel_port "$name")"
    mkdir -p "$DATA/$name"
    # Written afresh at every `up` (the servers' roles were just set); Sentinel then rewrites it as it learns.
    cat >"$DATA/$name/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
dir $DATA/$name
sentinel monitor $REDIS_SERVICE 127.0.0.1 $primary 2
sentinel down-after-milliseconds $REDIS_SERVICE 1000
sentinel failover-timeout $REDIS_SERVICE 10000
sentinel parallel-syncs $REDIS_SERVICE 1
CONF
    spawn "$name" redis-server "$DATA/$name/sentinel.conf" --sentinel
    wait_redis "$name" "$port"
  done
}

start_redis_cluster() {
  log "Redis Cluster: six nodes on $REDIS_CLUSTER_PORT-$((REDIS_CLUSTER_PORT + 5)), three primaries with a replica each"
  local name addrs=()
  for name in $(cluster_names); do
    # A node fails over after 2 s without an answer; its nodes.conf keeps the slot map and roles across `down`/`up`.
    # Full coverage off: while one primary's slots wait for their replica, the other primaries' deals keep selling
    # (with Redis's default every node answers CLUSTERDOWN until the election ends; ClusterFailoverInvariantTests).
    start_redis_server "$name" "$(cluster_port "$name")" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000 --cluster-require-full-coverage no
    addrs+=("127.0.0.1:$(cluster_port "$name")")
  done
  if [[ "$(redis-cli -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')" != 6 ]]; then
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$LOGS/redis-cluster-create.log" 2>&1 ||
      { tail -20 "$LOGS/redis-cluster-create.log" >&2; die "redis-cli --cluster create failed"; }
  fi
  local tries=0
  for name in $(cluster_names); do
    until redis-cli -p "$(cluster_port "$name")" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; do
      ((++tries > 300)) && { log_tail "$name"; die "Redis Cluster did not reach cluster_state:ok ($name)"; }
      sleep 0.1
    done
  done
}

build() {
  if [[ "${FLASHDEAL_SKIP_BUILD:-0}" == 1 ]]; then return 0; fi
  log "dotnet build (Release)"
  local name
  for name in $(unique_projects); do
    dotnet build "${SERVICE_PROJECT[$name]}" -c Release -nologo -v q >"$LOGS/build.log" 2>&1 ||
      { cat "$LOGS/build.log" >&2; die "build of $name failed"; }
  done
}

# One service name per project (the orders replicas share one build and one schema).
unique_projects() {
  local name; local -A seen=()
  for name in "${SERVICE_NAMES[@]}"; do
    [[ -n ${seen[${SERVICE_PROJECT[$name]}]:-} ]] || { seen[${SERVICE_PROJECT[$name]}]=1; echo "$name"; }
  done
}

migrate() {
  local name
  for name in $(unique_projects); do
    log "migrate ${name%-1}"
    dotnet "$(service_dll "$name")" migrate up --connection "$PG_CONN" >>"$LOGS/migrate.log" 2>&1 ||
      { log_tail migrate; die "migrations of ${name%-1} failed"; }
  done
}

start_service() {
  local name=$1 settings=()
  IFS=$'\x1f' read -r -a settings <<<"${SERVICE_ENV[$name]}"
  log "starting $name (gRPC $name 127.0.0.1:${SERVICE_GRPC[$name]}, REST 127.0.0.1:${SERVICE_REST[$name]})"
  # The content root is the build folder, so each service reads its appsettings*.json (log levels among them: without
  # them every request would be logged at Information).
  spawn "$name" env ASPNETCORE_ENVIRONMENT=Development DOTNET_NOLOGO=1 ASPNETCORE_CONTENTROOT="$(dirname "$(service_dll "$name")")" \
    "ConnectionStrings__Postgres=$PG_CONN" "ConnectionStrings__Redis=$REDIS_CONN" \
    Service__BindAddress=127.0.0.1 "Service__GrpcPort=${SERVICE_GRPC[$name]}" "Service__RestPort=${SERVICE_REST[$name]}" \
    Database__MigrateOnStart=false "Logging__Format=${FLASHDEAL_LOG_FORMAT:-json}" "${settings[@]}" dotnet "$(service_dll "$name")"
}

wait_ready() {
  local name=$1 deadline=$((SECONDS + READY_TIMEOUT)) url="http://127.0.0.1:${SERVICE_REST[$1]}/readyz"
  until curl -fsS -m 2 "$url" >/dev/null 2>&1; do
    alive "$(pid_of "$name")" || { log_tail "$name"; echo "flashdeal: $name exited during start-up" >&2; return 1; }
    ((SECONDS >= deadline)) && { log_tail "$name"; echo "flashdeal: $name not ready after ${READY_TIMEOUT}s ($url)" >&2; return 1; }
    sleep 0.3
  done
}

# --- the edge (nginx) ---------------------------------------------------------------------------------------------
# scripts/edge/nginx-conf.sh writes $EDGE/nginx.conf from the chart's routes and FLASHDEAL_EDGE_* knobs; nginx runs in
# the foreground of its own session (daemon off) with its prefix, pid file and temp dirs in $EDGE, logs in $LOGS.
edge_upstreams() { # kind: "host:port ..." of the processes behind one upstream group
  local service=$1 kind=$2 name out=()
  for name in "${SERVICE_NAMES[@]}"; do
    [[ $name == "$service" || $name == "$service"-* ]] || continue
    if [[ $kind == rest ]]; then out+=("127.0.0.1:${SERVICE_REST[$name]}"); else out+=("127.0.0.1:${SERVICE_GRPC[$name]}"); fi
  done
  echo "${out[*]}"
}

write_edge_config() {
  local service kind
  if [[ ${FLASHDEAL_LOCAL_LOAD:-0} == 1 ]]; then # see define_services: address-keyed limits raised, PlaceOrder's kept
    export FLASHDEAL_EDGE_AUTH_RATE="${FLASHDEAL_EDGE_AUTH_RATE:-5000r/s}" FLASHDEAL_EDGE_AUTH_BURST="${FLASHDEAL_EDGE_AUTH_BURST:-5000}"
    export FLASHDEAL_EDGE_USER_RATE="${FLASHDEAL_EDGE_USER_RATE:-5000r/s}" FLASHDEAL_EDGE_USER_BURST="${FLASHDEAL_EDGE_USER_BURST:-5000}"
  fi
  for service in auth catalog orders; do
    for kind in rest grpc; do export "EDGE_UPSTREAM_${service^^}_${kind^^}=$(edge_upstreams "$service" "$kind")"; done
  done
  local conf; conf="$(edge_config)"
  rm -f "$EDGE/nginx.conf" "$EDGE/haproxy.cfg"
  EDGE_DIR="$EDGE" EDGE_LOGS="$LOGS" FLASHDEAL_EDGE_REST_PORT=$EDGE_REST_PORT FLASHDEAL_EDGE_GRPC_PORT=$EDGE_GRPC_PORT \
    FLASHDEAL_EDGE_STATUS_PORT=$EDGE_STATUS_PORT \
    bash "$ROOT/scripts/edge/$EDGE_KIND-conf.sh" >"$conf.new" || die "cannot write the edge configuration"
  mv "$conf.new" "$conf"
  if [[ $EDGE_KIND == haproxy ]]; then
    "$(haproxy_bin)" -c -q -f "$conf" >>"$LOGS/edge.log" 2>&1 || { log_tail edge; die "haproxy rejects $conf"; }
  else
    "$(nginx_bin)" -t -q -p "$EDGE" -c "$conf" -e "$LOGS/edge.log" 2>>"$LOGS/edge.log" || { log_tail edge; die "nginx rejects $conf"; }
  fi
}
edge_config() { if [[ $EDGE_KIND == haproxy ]]; then echo "$EDGE/haproxy.cfg"; else echo "$EDGE/nginx.conf"; fi; }

start_edge() {
  log "starting the edge ($EDGE_KIND): REST http://127.0.0.1:$EDGE_REST_PORT, gRPC 127.0.0.1:$EDGE_GRPC_PORT"
  if [[ $EDGE_KIND == haproxy ]]; then
    # Foreground (-db); the JSON access log on stdout, HAProxy's own messages on stderr. HAProxy sets its stdout
    # non-blocking and so drops O_APPEND: the access log starts a new file (the previous run's is kept as .1).
    [[ -f $LOGS/edge-access.log ]] && mv -f "$LOGS/edge-access.log" "$LOGS/edge-access.log.1"
    setsid "$(haproxy_bin)" -db -f "$EDGE/haproxy.cfg" >"$LOGS/edge-access.log" 2>>"$LOGS/edge.log" </dev/null &
    echo $! >"$RUN/edge.pid"
  else
    spawn edge "$(nginx_bin)" -p "$EDGE" -c "$EDGE/nginx.conf" -e "$LOGS/edge.log"
  fi
  local deadline=$((SECONDS + 15))
  # Ready: the REST listener answers its own 404 and the gRPC listener accepts connections.
  until [[ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EDGE_REST_PORT/_edge-ready" 2>/dev/null)" == 404 ]] &&
    port_busy "$EDGE_GRPC_PORT"; do
    alive "$(pid_of edge)" || { log_tail edge; echo "flashdeal: the edge ($EDGE_KIND) exited during start-up" >&2; return 1; }
    ((SECONDS >= deadline)) && { log_tail edge; echo "flashdeal: the edge is not answering after 15 s" >&2; return 1; }
    sleep 0.2
  done
}

# --- observability (Prometheus and exporters) ----------------------------------------------------------------------
PROM_DIR_NAME=prometheus
# Every process Prometheus scrapes, by job: the services on their REST port's /metrics (jobs named as the chart's
# Services, so rules and dashboards read the same locally and in Kubernetes), the edge, Redis and PostgreSQL exporters.
write_prometheus_config() {
  local dir="$DATA/$PROM_DIR_NAME" service name targets
  mkdir -p "$dir/data"
  {
    cat <<YAML
# Generated by scripts/local-mesh.sh (./flashdeal up): edit the script, not this file.
global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 5s
  external_labels: {mesh: local}
rule_files:
  - $PROMETHEUS_RULES
scrape_configs:
YAML
    for service in auth catalog orders; do
      targets=()
      for name in "${SERVICE_NAMES[@]}"; do
        [[ $name == "$service" || $name == "$service"-* ]] && targets+=("'127.0.0.1:${SERVICE_REST[$name]}'")
      done
      printf '  - job_name: flashdeal-%s
    metrics_path: /metrics
    static_configs:
      - targets: [%s]
        labels: {service: %s}
' \
        "$service" "$(IFS=,; echo "${targets[*]}")" "$service"
    done
    if [[ $EDGE_KIND == haproxy ]]; then
      printf '  - job_name: flashdeal-edge
    static_configs:
      - targets: [%s]
' "'127.0.0.1:$EDGE_STATUS_PORT'"
    else
      printf '  - job_name: flashdeal-edge
    static_configs:
      - targets: [%s]
' "'127.0.0.1:$NGINX_EXPORTER_PORT'"
    fi
    printf '  - job_name: redis
    static_configs:
      - targets: [%s]
' "'127.0.0.1:$REDIS_EXPORTER_PORT'"
    ((OWN_PG)) && printf '  - job_name: postgres
    static_configs:
      - targets: [%s]
' "'127.0.0.1:$PG_EXPORTER_PORT'"
    printf '  - job_name: prometheus
    static_configs:
      - targets: [%s]
' "'127.0.0.1:$PROMETHEUS_PORT'"
  } >"$dir/prometheus.yml"
  if command -v promtool >/dev/null; then
    promtool check config "$dir/prometheus.yml" >"$LOGS/promtool.log" 2>&1 || { cat "$LOGS/promtool.log" >&2; die "promtool rejects $dir/prometheus.yml"; }
  fi
}

start_observability() {
  [[ $PROMETHEUS == on ]] || return 0
  log "starting Prometheus on http://127.0.0.1:$PROMETHEUS_PORT (rules: ${PROMETHEUS_RULES#"$ROOT/"}) and the exporters"
  write_prometheus_config
  local exporter
  if [[ $EDGE_KIND == nginx ]] && exporter="$(command -v prometheus-nginx-exporter)"; then
    spawn nginx-exporter "$exporter" -nginx.scrape-uri "http://127.0.0.1:$EDGE_STATUS_PORT/stub_status" \
      -web.listen-address "127.0.0.1:$NGINX_EXPORTER_PORT"
  fi
  if exporter="$(command -v prometheus-redis-exporter)"; then
    # With Sentinel, the server started as primary (the exporter speaks to one server, not through Sentinel).
    local redis_addr=$REDIS_CONN
    [[ $REDIS_TOPOLOGY == sentinel ]] && redis_addr="127.0.0.1:$REDIS_PORT"
    [[ $REDIS_TOPOLOGY == cluster ]] && redis_addr="127.0.0.1:$REDIS_CLUSTER_PORT"
    spawn redis-exporter "$exporter" -redis.addr "redis://$redis_addr" -web.listen-address "127.0.0.1:$REDIS_EXPORTER_PORT"
  fi
  if ((OWN_PG)) && exporter="$(command -v prometheus-postgres-exporter)"; then
    spawn postgres-exporter env DATA_SOURCE_NAME="postgresql://app@127.0.0.1:$PG_PORT/flashdeal?sslmode=disable" \
      "$exporter" --web.listen-address="127.0.0.1:$PG_EXPORTER_PORT"
  fi
  spawn prometheus "$(command -v prometheus)" --config.file="$DATA/$PROM_DIR_NAME/prometheus.yml" \
    --storage.tsdb.path="$DATA/$PROM_DIR_NAME/data" --storage.tsdb.retention.time=7d \
    --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle
  local deadline=$((SECONDS + 30))
  until curl -fsS -m 1 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1; do
    alive "$(pid_of prometheus)" || { log_tail prometheus; echo "flashdeal: Prometheus exited during start-up" >&2; return 1; }
    ((SECONDS >= deadline)) && { log_tail prometheus; echo "flashdeal: Prometheus not ready after 30 s" >&2; return 1; }
    sleep 0.3
  done
}

# "up/total" targets of the local Prometheus (for status).
prometheus_targets() {
  curl -fsS -m 2 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets?state=active" 2>/dev/null |
    jq -r '[.data.activeTargets[] | .health] | "\(map(select(. == "up")) | length)/\(length) targets up"' 2>/dev/null ||
    echo "targets unknown"
}

# --- stop --------------------------------------------------------------------------------------------------------
stop_pid() {
  local name=$1 pid; pid="$(pid_of "$name")"
  if running "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.2; done
    if alive "$pid"; then echo "flashdeal: $name (pid $pid) ignored SIGTERM for 30 s; killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
    # A child of this shell stays a zombie (kill -0 succeeds) until it is reaped.
    wait "$pid" 2>/dev/null || true
    echo "stopped $name (pid $pid)" >&2
  fi
  rm -f "$RUN/$name.pid"
}

stop_postgres() {
  local pid; pid="$(pid_of postgres)"
  if running postgres; then
    as_pg "$(pg_bin)/pg_ctl" -D "$DATA/pg" -w -t 30 -m fast stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    local i; for ((i = 0; i < 150; i++)); do alive "$pid" || break; sleep 0.2; done
    echo "stopped postgres (pid $pid)" >&2
  fi
  rm -f "$RUN/postgres.pid"
}

stop_all() {
  local i name
  # Prometheus and the exporters first (they would only log scrape errors), then the edge: no new calls reach services
  # that are about to stop.
  stop_pid prometheus
  for name in nginx-exporter redis-exporter postgres-exporter; do stop_pid "$name"; done
  stop_pid edge
  for ((i = ${#SERVICE_NAMES[@]} - 1; i >= 0; i--)); do stop_pid "${SERVICE_NAMES[i]}"; done
  # The Sentinels before the servers they watch: a stopping primary must not be failed over.
  for name in sentinel-1 sentinel-2 sentinel-3 redis-replica redis-1 redis-2 redis-3 redis-4 redis-5 redis-6; do
    stop_pid "$name"
  done
  # Pid files of processes this version does not know (a newer script started them) go before the data stores.
  for name in "$RUN"/*.pid; do
    [[ -e "$name" ]] || continue
    name="$(basename "$name" .pid)"
    [[ $name == redis || $name == postgres ]] || stop_pid "$name"
  done
  stop_pid redis
  stop_postgres
  rm -f "$PORTS_FILE"
}

# --- demo seed ---------------------------------------------------------------------------------------------------
AUTH_REST="http://127.0.0.1:$AUTH_REST_PORT" CATALOG_REST="http://127.0.0.1:$CATALOG_REST_PORT"
JSON='content-type: application/json'

# POST/GET helper: prints the body, fails on an HTTP status outside 2xx except the ones listed in $2.
http() {
  local method=$1 allowed=$2 url=$3; shift 3
  local out status
  out="$(curl -sS -m 10 -X "$method" -H "$JSON" -w '\n%{http_code}' "$url" "$@")" || return 1
  status=${out##*$'\n'}; out=${out%$'\n'*}
  if [[ $status != 2* && " $allowed " != *" $status "* ]]; then
    echo "flashdeal: $method $url answered $status: $out" >&2; return 1
  fi
  printf '%s' "$out"
}

log_in() {
  http POST "" "$AUTH_REST/v1/auth:logIn" -d "{\"email\":\"$1\",\"password\":\"$2\"}" | jq -r .token.accessToken
}

seed_demo() {
  log "seeding the demo"
  local email
  for email in "${CUSTOMERS[@]}"; do
    http POST 409 "$AUTH_REST/v1/auth:signUp" -d "{\"email\":\"$email\",\"password\":\"$CUSTOMER_PASSWORD\"}" >/dev/null
  done
  # The bootstrap admin is created in the background right after start; give it a moment.
  local admin="" tries=0
  until admin="$(log_in "$ADMIN_EMAIL" "$ADMIN_PASSWORD" 2>/dev/null)" && [[ -n $admin && $admin != null ]]; do
    ((++tries > 50)) && { log_tail auth; die "cannot log in as the demo admin"; }
    sleep 0.2
  done

  local PRODUCT_ID="" DEAL_ID="" CAMPAIGN_ID=""
  [[ -f "$DATA/demo.env" ]] && source "$DATA/demo.env"
  if [[ -z $PRODUCT_ID ]] || ! http GET "" "$CATALOG_REST/v1/products/$PRODUCT_ID" >/dev/null 2>&1; then
    PRODUCT_ID="$(http POST "" "$CATALOG_REST/v1/products" -H "authorization: Bearer $admin" -d '{"product":{"name":"Aurora X200 headphones",
      "description":"Wireless noise-cancelling headphones","category":"headphones","listPriceCents":"24900","currency":"USD"}}' |
      jq -r .product.productId)"
  fi
  local state=""
  [[ -n $DEAL_ID ]] && state="$(http GET "" "$CATALOG_REST/v1/deals/$DEAL_ID" 2>/dev/null | jq -r .deal.state)" || true
  if [[ $state != DEAL_STATE_UPCOMING && $state != DEAL_STATE_LIVE ]]; then
    local start end
    start="$(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:%SZ)" end="$(date -u -d '+62 minutes' +%Y-%m-%dT%H:%M:%SZ)"
    DEAL_ID="$(http POST "" "$CATALOG_REST/v1/deals" -H "authorization: Bearer $admin" -d "{\"deal\":{\"productId\":\"$PRODUCT_ID\",
      \"title\":\"Aurora X200 flash deal\",\"dealPriceCents\":\"14900\",\"stock\":100,\"perUserLimit\":2,
      \"startTime\":\"$start\",\"endTime\":\"$end\"}}" | jq -r .deal.dealId)"
  fi
  [[ -n $PRODUCT_ID && $PRODUCT_ID != null && -n $DEAL_ID && $DEAL_ID != null ]] || die "demo seed failed"

  # A coupon give-away for the demo deal (docs/coupons.md): 50 coupons of 10 % off, claimable now for an hour.
  local orders_rest="http://127.0.0.1:${SERVICE_REST[$(orders_names | head -n 1)]}" campaign_end=""
  [[ -n ${CAMPAIGN_ID:-} ]] &&
    campaign_end="$(http GET "" "$orders_rest/v1/coupon-campaigns/$CAMPAIGN_ID" 2>/dev/null | jq -r .campaign.endTime)" || true
  if [[ -z $campaign_end || $campaign_end == null || $campaign_end < $(date -u +%Y-%m-%dT%H:%M:%S) ]]; then
    CAMPAIGN_ID="$(http POST "" "$orders_rest/v1/coupon-campaigns" -H "authorization: Bearer $admin" -d "{\"name\":\"Aurora launch: 10% off\",
      \"percentOff\":10,\"totalQuantity\":50,\"startTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",
      \"endTime\":\"$(date -u -d '+62 minutes' +%Y-%m-%dT%H:%M:%SZ)\",\"dealId\":\"$DEAL_ID\"}" | jq -r .campaign.campaignId)"
  fi
  [[ -n $CAMPAIGN_ID && $CAMPAIGN_ID != null ]] || die "demo seed failed: no coupon campaign"
  printf 'PRODUCT_ID=%s\nDEAL_ID=%s\nCAMPAIGN_ID=%s\n' "$PRODUCT_ID" "$DEAL_ID" "$CAMPAIGN_ID" >"$DATA/demo.env"
}

# $DATA/mesh.env: where everything is, for tools (the load tool, tests). KEY=value lines without quotes (values may hold
# ';' — read it line by line, do not `source` it); mode 600: it holds the admin password.
write_mesh_env() {
  local orders_rest=() orders_grpc=() name
  for name in $(orders_names); do
    orders_rest+=("http://127.0.0.1:${SERVICE_REST[$name]}") orders_grpc+=("http://127.0.0.1:${SERVICE_GRPC[$name]}")
  done
  (
    umask 077
    {
      echo "FLASHDEAL_EDGE_REST=http://127.0.0.1:$EDGE_REST_PORT"
      echo "FLASHDEAL_EDGE_GRPC=http://127.0.0.1:$EDGE_GRPC_PORT"
      echo "FLASHDEAL_AUTH_REST=http://127.0.0.1:$AUTH_REST_PORT"
      echo "FLASHDEAL_AUTH_GRPC=http://127.0.0.1:$AUTH_GRPC_PORT"
      echo "FLASHDEAL_CATALOG_REST=http://127.0.0.1:$CATALOG_REST_PORT"
      echo "FLASHDEAL_CATALOG_GRPC=http://127.0.0.1:$CATALOG_GRPC_PORT"
      echo "FLASHDEAL_ORDERS_REST=$(IFS=,; echo "${orders_rest[*]}")"
      echo "FLASHDEAL_ORDERS_GRPC=$(IFS=,; echo "${orders_grpc[*]}")"
      echo "FLASHDEAL_POSTGRES=$PG_CONN"
      echo "FLASHDEAL_REDIS=$REDIS_CONN"
      echo "FLASHDEAL_ADMIN_EMAIL=$ADMIN_EMAIL"
      echo "FLASHDEAL_ADMIN_PASSWORD=$ADMIN_PASSWORD"
      echo "FLASHDEAL_ORDERS_REPLICAS=$ORDERS_REPLICAS"
      if [[ $PROMETHEUS == on ]]; then echo "FLASHDEAL_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT"; fi
    } >"$DATA/mesh.env.new"
  )
  chmod 600 "$DATA/mesh.env.new"
  mv "$DATA/mesh.env.new" "$DATA/mesh.env"
}

edge_limits_state() {
  { [[ -f $EDGE/nginx.conf ]] && grep -q '^ *limit_req_zone' "$EDGE/nginx.conf"; } ||
    { [[ -f $EDGE/haproxy.cfg ]] && grep -q 'track-sc0' "$EDGE/haproxy.cfg"; } && echo on || echo off
}
edge_kind_running() { if [[ -f $EDGE/haproxy.cfg ]]; then echo haproxy; else echo nginx; fi; }

print_endpoints() {
  local PRODUCT_ID="" DEAL_ID="" CAMPAIGN_ID=""
  source "$DATA/demo.env"
  local start; start="$(http GET "" "$CATALOG_REST/v1/deals/$DEAL_ID" | jq -r .deal.startTime)"
  local e="http://127.0.0.1:$EDGE_REST_PORT" g="http://127.0.0.1:$EDGE_GRPC_PORT"
  local bufc="$BUF curl --schema protos --protocol grpc --http2-prior-knowledge"
  bufc=${bufc#"$ROOT/"}
  local login="{\"email\":\"${CUSTOMERS[0]}\",\"password\":\"$CUSTOMER_PASSWORD\"}"
  cat <<MSG

FlashDeal is up (data in $DATA, logs in $LOGS).

The edge ($(edge_kind_running), the chart's Kong routes, rate limits $(edge_limits_state); access log $LOGS/edge-access.log):
  REST  $e
  gRPC  $g   (h2c)

Demo accounts: admin $ADMIN_EMAIL / $ADMIN_PASSWORD; customers ${CUSTOMERS[*]} / $CUSTOMER_PASSWORD
Demo deal $DEAL_ID (100 units, 2 per customer) opens at $start.
Demo coupon campaign $CAMPAIGN_ID: 50 coupons of 10 % off that deal, claimable now (docs/coupons.md).

  TOKEN=\$(curl -s -X POST $e/v1/auth:logIn -H 'content-type: application/json' \\
      -d '$login' | jq -r .token.accessToken)
  curl -s $e/v1/auth/me -H "authorization: Bearer \$TOKEN"
  curl -s "$e/v1/deals?states=DEAL_STATE_UPCOMING&states=DEAL_STATE_LIVE"
  curl -s $e/v1/deals/$DEAL_ID
  curl -sN $e/v1/deals/$DEAL_ID:watch
  curl -s -X POST $e/v1/orders -H "authorization: Bearer \$TOKEN" \\
      -H 'content-type: application/json' -d '{"dealId":"$DEAL_ID","quantity":1,"idempotencyKey":"demo-1"}'
  curl -s $e/v1/orders -H "authorization: Bearer \$TOKEN"
  COUPON=\$(curl -s -X POST $e/v1/coupon-campaigns/$CAMPAIGN_ID:claim -H "authorization: Bearer \$TOKEN" \\
      -H 'content-type: application/json' -d '{"idempotencyKey":"demo-claim-1"}' | jq -r .coupon.couponId)
  curl -s -X POST $e/v1/orders -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
      -d '{"dealId":"$DEAL_ID","idempotencyKey":"demo-2","couponId":"'\$COUPON'"}'      # once the deal is live
  curl -s -X POST $e/v1/orders/ORDER_ID:pay -H "authorization: Bearer \$TOKEN" -H 'content-type: application/json' \\
      -d '{"paymentToken":"tok_demo"}'     # then :cancel refunds it (docs/orders.md, "Refunds")
  redis-cli -p $REDIS_PORT XRANGE flashdeal:events:orders - + COUNT 5   # domain events (docs/events.md)

  $bufc -d '$login' \\
      $g/flashdeal.auth.v1.AuthService/LogIn
  $bufc $g/flashdeal.catalog.v1.CatalogService/ListDeals
  $bufc -d '{"dealId":"$DEAL_ID"}' $g/flashdeal.catalog.v1.CatalogService/GetDeal
  $bufc -d '{"dealId":"$DEAL_ID"}' $g/flashdeal.catalog.v1.CatalogService/WatchDeal
  $bufc -H "authorization: Bearer \$TOKEN" -d '{}' \\
      $g/flashdeal.orders.v1.OrderService/ListMyOrders
  (The edge routes only the FlashDeal services, not server reflection: buf curl reads the schema from protos/.)

Direct ports (bypassing the edge):
  process   gRPC (h2c)        REST
MSG
  local name
  for name in "${SERVICE_NAMES[@]}"; do
    printf '  %-9s 127.0.0.1:%-7s http://127.0.0.1:%s\n' "$name" "${SERVICE_GRPC[$name]}" "${SERVICE_REST[$name]}"
  done
  printf '  %-9s %s\n  %-9s %s\n' postgres "$PG_CONN" redis "$REDIS_CONN"
  if [[ $PROMETHEUS == on ]]; then
    printf '\nPrometheus: http://127.0.0.1:%s (FlashDeal'"'"'s rules and alerts loaded; graph e.g. flashdeal:placements:rate1m)\n' "$PROMETHEUS_PORT"
    printf 'Live view of a sale in the terminal: ./flashdeal top\n'
  fi
  printf '\nEndpoints for tools: %s (KEY=value lines). ./flashdeal status: health, ports, stream lag.\n\n' "$DATA/mesh.env"
}

# --- commands ----------------------------------------------------------------------------------------------------
running_names() {
  local f
  for f in "$RUN"/*.pid; do [[ -e $f ]] && running "$(basename "$f" .pid)" && basename "$f" .pid; done
  return 0
}

cmd_up() {
  local detach=0
  while (($# > 0)); do
    case $1 in
      --detach | -d) detach=1 ;;
      --orders-replicas) [[ $# -ge 2 ]] || die "up: --orders-replicas needs a number"; ORDERS_REPLICAS=$2; shift ;;
      --orders-replicas=*) ORDERS_REPLICAS=${1#*=} ;;
      --redis) [[ $# -ge 2 ]] || die "up: --redis needs single, sentinel or cluster"; REDIS_TOPOLOGY=$2; shift ;;
      --redis=*) REDIS_TOPOLOGY=${1#*=} ;;
      *) die "up: unknown option $1 (use --detach, --orders-replicas N, --redis single|sentinel|cluster)" ;;
    esac
    shift
  done
  validate_settings
  ((OWN_REDIS)) && REDIS_CONN="$(own_redis_connection)"
  define_services
  local running; running="$(running_names | tr '\n' ' ')"
  [[ -z $running ]] || die "already running from $DATA: $running(./flashdeal status, ./flashdeal down)"
  rm -f "$RUN"/*.pid 2>/dev/null || true

  ensure_prerequisites
  check_ports
  [[ -x $BUF ]] || bash tests/interop/setup.sh >&2 || echo "flashdeal: buf is not installed; the buf curl lines below need it" >&2
  prepare_data
  # The edge's config first: a bad FLASHDEAL_EDGE_* knob stops `up` before anything starts.
  write_edge_config
  build
  save_ports
  # From here on, a failure, Ctrl-C or SIGTERM stops everything started so far.
  STOP_ON_EXIT=1
  trap 'echo >&2; exit 130' INT
  trap 'exit 143' TERM
  ((OWN_PG)) && start_postgres
  ((OWN_REDIS)) && start_redis
  migrate
  local name
  # Start all replicas of a kind, then wait: the orders replicas warm up in parallel.
  for name in "${SERVICE_NAMES[@]}"; do
    start_service "$name"
    [[ $name == orders-* ]] || wait_ready "$name" || reported_exit
  done
  for name in $(orders_names); do wait_ready "$name" || reported_exit; done
  start_edge || reported_exit
  start_observability || reported_exit
  seed_demo
  write_mesh_env
  print_endpoints

  if ((detach)); then
    STOP_ON_EXIT=0
    echo "Running in the background: ./flashdeal status, ./flashdeal down"
    return 0
  fi
  STARTED=1
  echo "Ctrl-C stops everything."
  while true; do
    for name in edge "${SERVICE_NAMES[@]}" $( ((OWN_REDIS)) && echo redis) $( ((OWN_PG)) && echo postgres) \
      $([[ $PROMETHEUS == on ]] && echo prometheus); do
      if ! running "$name"; then
        log_tail "$name"; echo "flashdeal: $name exited" >&2
        reported_exit
      fi
    done
    sleep 1 &
    wait $! || true
  done
}

STOP_ON_EXIT=0 STARTED=0
on_exit() {
  local rc=$?
  # Every early exit says why: die() and the start-up checks print their reason; anything else (a failed command under
  # `set -e`, an unset variable) is reported here with the step it interrupted.
  # (status answers with its exit code by design: 1 unhealthy, 3 nothing started.)
  if ((rc != 0 && rc < 128 && !REPORTED)) && [[ ${COMMAND:-} != status ]]; then
    printf 'flashdeal: stopped with exit code %s during "%s"; see the messages above and the logs in %s\n' \
      "$rc" "$STEP" "$LOGS" >&2
  fi
  ((STOP_ON_EXIT)) || return 0
  if ((rc != 0 && rc < 128 && !STARTED)); then log "start-up failed; stopping what was started"; else log "stopping"; fi
  stop_all
}

cmd_down() {
  local purge=0
  for arg in "$@"; do
    case $arg in --purge) purge=1 ;; *) die "down: unknown option $arg (use --purge)" ;; esac
  done
  load_ports
  define_services
  if [[ -d $RUN ]]; then stop_all; fi
  if ((purge)); then
    [[ -d $DATA ]] && rm -rf "$DATA" && echo "deleted $DATA" >&2
  fi
  return 0
}

# The edge answers by itself (no upstream involved): REST with its JSON 404, gRPC with a trailers-only UNIMPLEMENTED.
edge_health() {
  local rest grpc
  rest="$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EDGE_REST_PORT/_edge-ready" 2>/dev/null || true)"
  grpc="$(curl -s -m 2 --http2-prior-knowledge -X POST -H 'content-type: application/grpc' -o /dev/null -D - \
    "http://127.0.0.1:$EDGE_GRPC_PORT/_edge.Ready/Check" 2>/dev/null | tr -d '\r' | sed -n 's/^grpc-status: //Ip' || true)"
  if [[ $rest == 404 && $grpc == 12 ]]; then echo ready; else echo "not-ready(rest ${rest:-none}, grpc ${grpc:-none})"; fi
}

stream_lag() { # REST port of an orders replica
  curl -fsS -m 2 "http://127.0.0.1:$1/healthz/order-stream" 2>/dev/null |
    jq -r '"stream lag \(.lag), pending \(.pending), persisted \(.persisted_total)" + (if .failing_since then ", FAILING since \(.failing_since): \(.last_error)" else "" end)' 2>/dev/null ||
    echo "stream lag unknown"
}

# "primary" or "replica of HOST:PORT (link up|down)", from ROLE.
redis_role() {
  local role; mapfile -t role < <(redis-cli -p "$1" role 2>/dev/null)
  case ${role[0]:-} in
    master) echo primary ;;
    slave) echo "replica of ${role[1]}:${role[2]}, link ${role[3]}" ;;
    *) echo "role unknown" ;;
  esac
}
# A cluster node's role from CLUSTER NODES: "primary, slots A-B …" or "replica of HOST:PORT"; then the cluster's state.
cluster_role() {
  local nodes state
  nodes="$(redis-cli -p "$1" cluster nodes 2>/dev/null)"
  state="$(redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_state://p')"
  awk -v state="$state" '
    { addr[$1] = $2; sub(/@.*/, "", addr[$1]) }
    $3 ~ /myself/ { me = $0 }
    END {
      split(me, f, " ")
      if (f[3] ~ /master/) {
        slots = ""
        for (i = 9; i <= length(f); i++) slots = slots (slots ? " " : "") f[i]
        print "primary, slots " slots ", cluster " state
      } else print "replica of " addr[f[4]] ", cluster " state
    }' <<<"$nodes"
}
# What one Sentinel says: the primary of the service and how many Sentinels it knows.
sentinel_view() {
  local addr others
  mapfile -t addr < <(redis-cli -p "$1" sentinel get-master-addr-by-name "$REDIS_SERVICE" 2>/dev/null)
  others="$(redis-cli -p "$1" sentinel sentinels "$REDIS_SERVICE" 2>/dev/null | grep -c '^name$' || true)"
  echo "service $REDIS_SERVICE: primary ${addr[0]:-?}:${addr[1]:-?}, $((others + 1)) Sentinels"
}

cmd_status() {
  load_ports
  define_services
  compgen -G "$RUN/*.pid" >/dev/null || { echo "nothing started from $DATA (./flashdeal up)"; return 3; }
  local name pid state health ports detail rc=0
  printf '%-17s %-8s %-6s %-10s %-26s %s\n' process pid alive health ports detail
  for name in edge "${SERVICE_NAMES[@]}" redis redis-replica $(cluster_names) $(sentinel_names) postgres prometheus nginx-exporter \
    redis-exporter postgres-exporter; do
    pid="$(pid_of "$name")"
    [[ -n $pid ]] || continue
    state=no health=down detail=""
    running "$name" && state=yes
    case $name in
      redis | redis-replica)
        ports=$REDIS_PORT
        [[ $name == redis-replica ]] && ports=$REDIS_REPLICA_PORT
        [[ $state == yes ]] && health="$(redis-cli -p "$ports" ping 2>/dev/null || echo down)"
        [[ $REDIS_TOPOLOGY == sentinel && $state == yes ]] && detail="$(redis_role "$ports")" ;;
      redis-[1-6])
        ports="$(cluster_port "$name")"
        [[ $state == yes ]] && health="$(redis-cli -p "$ports" ping 2>/dev/null || echo down)"
        [[ $state == yes ]] && detail="$(cluster_role "$ports")" ;;
      sentinel-*)
        ports="$(sentinel_port "$name")"
        [[ $state == yes ]] && health="$(redis-cli -p "$ports" ping 2>/dev/null || echo down)"
        [[ $state == yes ]] && detail="$(sentinel_view "$ports")" ;;
      postgres)
        ports=$PG_PORT
        [[ $state == yes ]] && { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && health=ready || health=down; } ;;
      prometheus)
        ports=$PROMETHEUS_PORT
        if [[ $state == yes ]]; then
          curl -fsS -m 2 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1 && health=ready || health=not-ready
        fi
        detail="http://127.0.0.1:$PROMETHEUS_PORT, $(prometheus_targets)" ;;
      *-exporter)
        case $name in
          nginx-*) ports=$NGINX_EXPORTER_PORT ;; redis-*) ports=$REDIS_EXPORTER_PORT ;; *) ports=$PG_EXPORTER_PORT ;;
        esac
        if [[ $state == yes ]]; then
          curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$ports/metrics" && health=ready || health=not-ready
        fi ;;
      edge)
        ports="rest $EDGE_REST_PORT, grpc $EDGE_GRPC_PORT"
        [[ $state == yes ]] && health="$(edge_health)"
        detail="$(edge_kind_running); $(orders_names | wc -l) orders upstreams; rate limits $(edge_limits_state)" ;;
      *)
        ports="grpc ${SERVICE_GRPC[$name]}, rest ${SERVICE_REST[$name]}"
        if [[ $state == yes ]]; then
          health="$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${SERVICE_REST[$name]}/readyz" || true)"
          [[ $health == 200 ]] && health=ready || health="not-ready(${health:-none})"
        fi
        [[ $name == orders-* && $state == yes ]] && detail="$(stream_lag "${SERVICE_REST[$name]}")" ;;
    esac
    [[ $state == yes && ($health == ready || $health == PONG) ]] || rc=1
    printf '%-17s %-8s %-6s %-10s %-26s %s\n' "$name" "$pid" "$state" "$health" "$ports" "$detail"
  done
  if [[ -f "$DATA/demo.env" ]]; then
    local PRODUCT_ID="" DEAL_ID="" deal
    source "$DATA/demo.env"
    if deal="$(http GET "" "$CATALOG_REST/v1/deals/$DEAL_ID" 2>/dev/null)"; then
      jq -r '.deal | "demo deal \(.dealId): \(.state), \(.remainingStock // 0) of \(.stock) left, opens \(.startTime)"' <<<"$deal"
    else
      echo "demo deal $DEAL_ID: catalog unreachable"; rc=1
    fi
  fi
  return $rc
}

COMMAND=${1:-}
trap on_exit EXIT
case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) die "usage: local-mesh.sh up [--detach] [--orders-replicas N] [--redis single|sentinel|cluster] | down [--purge] | status" ;;
esac
