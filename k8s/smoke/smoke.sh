#!/usr/bin/env bash
# Smoke deploy without a cluster: builds the service images with their own Dockerfiles, renders the Helm chart with
# k8s/smoke/values.yaml, runs the rendered workloads with `podman kube play` (one replica each, the chart's in-pod
# PostgreSQL and Redis), runs the migration Jobs, then calls every service over REST and gRPC and stops it gracefully.
#
#   k8s/smoke/smoke.sh [--keep] [--check] [SERVICE[=DOCKERFILE] ...]
#
#   SERVICE     auth | catalog | orders; default: every one whose project exists (services/<Name>/FlashDeal.<Name>)
#   =DOCKERFILE build that slot from another Dockerfile (e.g. an experimental image of the same service)
#   --keep      leave the pods running, also after a failure (ports in .data/smoke/play/ports.json); stop with the
#               printed command
#   --check     only say whether this machine can run the smoke deploy: exit 0, or 3 with the reason
#
# Exit codes: 0 passed, 1 failed (the failing pod's logs are printed), 2 usage, 3 prerequisites missing (not root, no
# podman and no apt-get to install it, no dotnet/node): `./flashdeal test` reports that as skipped unless
# FLASHDEAL_REQUIRE_SMOKE=1 (CI), where it fails.
#
# SMOKE_DEBIAN_MIRROR overrides the Debian mirror of the base image (default: the one this machine's apt uses).
# SMOKE_HELM_ARGS adds `helm template` arguments (e.g. "--set services.orders.env.Foo=bar" to try a value).
# Every wait is bounded (SMOKE_TIMEOUT_SCALE=2 doubles them all on a slow machine); on any exit the pods it started
# are removed (unless --keep), as are pods an earlier, interrupted run left (all are named smoke-…).
#
# Needs root (podman) and Debian/Ubuntu packages it installs when missing. No image is pulled: the base is a
# debootstrap of Debian bookworm, the .NET SDK and runtime come from this machine's dotnet, PostgreSQL and Redis from
# Debian packages. Those base images are built once and reused (SMOKE_REBUILD_BASES=1 forces a rebuild).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# shellcheck source=charts/tools.sh
source "$root/charts/tools.sh"
work="${SMOKE_WORK:-$root/.data/smoke}"
buf="$root/tests/interop/node/node_modules/.bin/buf"
base_prefix="localhost/flashdeal-smoke"
export CONTAINERS_CONF="$work/containers.conf"

keep=false
check_only=false
declare -A dockerfile=()
slots=()
for arg in "$@"; do
  case "$arg" in
    --keep) keep=true ;;
    --check) check_only=true ;;
    auth|auth=*|catalog|catalog=*|orders|orders=*)
      slot="${arg%%=*}"
      slots+=("$slot")
      [[ "$arg" == *=* ]] && dockerfile[$slot]="${arg#*=}"
      ;;
    *) echo "usage: k8s/smoke/smoke.sh [--keep] [--check] [auth|catalog|orders[=DOCKERFILE] ...]" >&2; exit 2 ;;
  esac
done
# Why this machine cannot run the smoke deploy, or nothing when it can.
missing_prerequisite() {
  if [[ $(id -u) -ne 0 ]]; then echo "needs root (podman runs the pods as root here)"; return; fi
  if ! command -v podman >/dev/null && ! command -v apt-get >/dev/null; then echo "needs podman (or apt-get to install it)"; return; fi
  if ! command -v dotnet >/dev/null; then echo "needs dotnet (its SDK and runtime go into the base images)"; return; fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then echo "needs node and npm (helm, the manifest adapter, buf)"; return; fi
}
reason="$(missing_prerequisite)"
if [[ -n "$reason" ]]; then
  echo "smoke.sh: cannot run here: $reason" >&2
  exit 3
fi
$check_only && { echo "smoke.sh: this machine can run the smoke deploy" >&2; exit 0; }

if ((${#slots[@]} == 0)); then
  for slot in auth catalog orders; do
    name="${slot^}"
    [[ -f "services/$name/FlashDeal.$name/FlashDeal.$name.csproj" ]] && slots+=("$slot")
  done
fi
((${#slots[@]} > 0)) || { echo "smoke.sh: no service project exists under services/" >&2; exit 2; }
for slot in "${slots[@]}"; do
  [[ -n "${dockerfile[$slot]:-}" ]] || dockerfile[$slot]="services/${slot^}/Dockerfile"
  [[ -f "${dockerfile[$slot]}" ]] || { echo "smoke.sh: ${dockerfile[$slot]} does not exist" >&2; exit 2; }
done

timings=()
phase_start=0
phase() { phase_start=$(date +%s); printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
phase_end() { timings+=("$(printf '%-44s %4d s' "$1" $(( $(date +%s) - phase_start )))"); }
# The pod a failure is about: its logs are printed in full on the way out (the others' last lines).
suspect=""
die() { printf 'smoke.sh: %s\n' "$*" >&2; exit 1; }
# Bounded waits: every limit is multiplied by SMOKE_TIMEOUT_SCALE (integer, default 1).
scale="${SMOKE_TIMEOUT_SCALE:-1}"
[[ "$scale" =~ ^[1-9][0-9]*$ ]] || { echo "smoke.sh: SMOKE_TIMEOUT_SCALE must be a positive integer" >&2; exit 2; }
limit() { timeout "$(( $1 * scale ))" "${@:2}"; }

prerequisites() {
  local packages=(podman runc fuse-overlayfs slirp4netns uidmap catatonit debootstrap curl) missing=() p
  for p in "${packages[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    echo "installing ${missing[*]}" >&2
    limit 300 apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive limit 600 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  mkdir -p "$work"
  # crun fails in this kind of machine; the default open-file limit is too small for dotnet restore.
  printf '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n' > "$CONTAINERS_CONF"
  install_k8s_tools
  install_validation_modules
  [[ -x "$buf" ]] || bash tests/interop/setup.sh >&2
}

image_missing() { [[ "${SMOKE_REBUILD_BASES:-0}" == 1 ]] || ! podman image exists "$1"; }

base_images() {
  local ctx="$work/context" dotnet_root
  dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  if image_missing "$base_prefix/bookworm:latest"; then
    rm -rf "$work/rootfs"
    # The mirror this machine's apt uses for bookworm (a CI network may only reach that one); SMOKE_DEBIAN_MIRROR wins.
    local mirror="${SMOKE_DEBIAN_MIRROR:-}"
    [[ -n "$mirror" ]] || mirror="$(apt-cache policy 2>/dev/null | awk '$3 == "bookworm/main" && $2 ~ /^https?:\/\// { print $2; exit }')"
    [[ -n "$mirror" ]] || mirror="http://deb.debian.org/debian"
    limit 900 debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log"; die "debootstrap failed"; }
    rm -rf "$work/rootfs"/usr/share/{doc,man,locale}/* "$work/rootfs"/var/lib/apt/lists/*
    tar -C "$work/rootfs" -c . | podman import -q - "$base_prefix/bookworm:latest" >/dev/null
    rm -rf "$work/rootfs"
  fi
  if image_missing "$base_prefix/sdk:10.0"; then
    rm -rf "$ctx" && mkdir -p "$ctx"
    cp -al "$dotnet_root" "$ctx/dotnet" 2>/dev/null || cp -a "$dotnet_root" "$ctx/dotnet"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
    limit 600 podman build -q --force-rm -f k8s/smoke/images/sdk.Containerfile -t "$base_prefix/sdk:10.0" "$ctx" >/dev/null
  fi
  if image_missing "$base_prefix/aspnet:10.0"; then
    rm -rf "$ctx" && mkdir -p "$ctx/dotnet/shared"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$ctx/dotnet/"
    cp -a "$dotnet_root/shared/Microsoft.NETCore.App" "$dotnet_root/shared/Microsoft.AspNetCore.App" "$ctx/dotnet/shared/"
    limit 600 podman build -q --force-rm -f k8s/smoke/images/aspnet.Containerfile -t "$base_prefix/aspnet:10.0" "$ctx" >/dev/null
  fi
  rm -rf "$ctx"
  local db
  for db in postgres:15 redis:7; do
    if image_missing "$base_prefix/$db"; then
      limit 900 podman build -q --force-rm --network host -f "k8s/smoke/images/${db%%:*}.Containerfile" -t "$base_prefix/$db" k8s/smoke/images >/dev/null
    fi
  done
}

build_service_images() {
  local slot
  for slot in "${slots[@]}"; do
    limit 1200 podman build -q --force-rm --network host -f "${dockerfile[$slot]}" \
      --build-arg SDK_IMAGE="$base_prefix/sdk:10.0" --build-arg RUNTIME_IMAGE="$base_prefix/aspnet:10.0" \
      -t "localhost/flashdeal/$slot:smoke" . >/dev/null || die "image build of $slot (${dockerfile[$slot]}) failed"
  done
}

render() {
  local args=(-f k8s/smoke/values.yaml) slot extra=()
  read -r -a extra <<<"${SMOKE_HELM_ARGS:-}"
  args+=("${extra[@]}")
  for slot in auth catalog orders; do
    if [[ " ${slots[*]} " != *" $slot "* ]]; then
      args+=(--set "services.$slot.enabled=false")
    fi
  done
  "$flashdeal_bin/helm" template smoke charts/flashdeal --kube-version 1.32.0 "${args[@]}" > "$work/rendered.yaml"
  rm -rf "$work/play"
  node k8s/smoke/podman-manifests.mjs "$work/rendered.yaml" "$work/play" >/dev/null
}

port() { node -e "const p=require('$work/play/ports.json'); console.log($1)"; }

# Every pod of a smoke run is named smoke-…: remove them all, whatever an earlier run left. The pods use the host's
# network and host directories, so kube play makes no volumes; the one network it creates on first use
# (podman-default-kube-network) is removed again when it did not exist before the run.
kube_network=podman-default-kube-network
kube_network_existed=true
down() {
  local pods=()
  mapfile -t pods < <(podman pod ps -q --filter name='^smoke-')
  ((${#pods[@]} == 0)) || limit 120 podman pod rm -f -t 5 "${pods[@]}" >/dev/null || echo "smoke.sh: could not remove pods ${pods[*]}" >&2
  if [[ -n "$(podman pod ps -q --filter name='^smoke-' || true)" ]]; then
    echo "smoke.sh: pods left over: $(podman pod ps --filter name='^smoke-' --format '{{.Name}}' | tr '\n' ' ')" >&2
    return 1
  fi
  if [[ $kube_network_existed == false ]] && podman network exists "$kube_network"; then
    podman network rm "$kube_network" >/dev/null 2>&1 || echo "smoke.sh: network $kube_network is in use, left in place" >&2
  fi
}

# On a failure: every smoke container's state, the suspect pod's log in full (up to 200 lines), the others' tails.
dump_logs() {
  local name state lines
  echo "smoke.sh: containers at the failure:" >&2
  podman ps -a --filter name='^smoke-' --format '  {{.Names}}  {{.Status}}' >&2 || true
  while read -r name state; do
    [[ -n "$name" ]] || continue
    lines=15
    [[ -n "$suspect" && "$name" == "smoke-$suspect-"* ]] && lines=200
    printf '\n----- %s (%s), last %d log lines -----\n' "$name" "$state" "$lines" >&2
    podman logs --tail "$lines" "$name" 2>&1 | sed 's/^/  | /' >&2 || true
  done < <(podman ps -a --filter name='^smoke-' --format '{{.Names}} {{.State}}' 2>/dev/null)
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc != 0)) && [[ $rc != 3 ]]; then dump_logs; fi
  if [[ $keep == true ]]; then
    ((rc == 0)) || echo "smoke.sh: --keep: the pods stay for inspection (podman pod ps)" >&2
  else
    down || rc=1
  fi
  exit "$rc"
}

wait_for() { # description seconds command...
  local what="$1" deadline=$(( $(date +%s) + $2 * scale ))
  shift 2
  until limit 10 "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || return 1
    sleep 0.5
  done
  echo "  ready: $what" >&2
}

play_databases() {
  limit 120 podman kube play "$work/play/databases.yaml" >/dev/null || die "podman kube play of the databases failed"
  suspect=postgresql
  wait_for "PostgreSQL" 90 podman exec smoke-postgresql-pod-0-postgresql pg_isready -h 127.0.0.1 -p "$(port p.postgresql)" \
    || die "PostgreSQL did not start"
  suspect=redis
  wait_for "Redis" 60 podman exec smoke-redis-pod-0-redis redis-cli -p "$(port p.redis)" ping \
    || die "Redis did not start"
  suspect=""
}

# The chart's hook Jobs, as run-once pods: each must exit 0 ("<service> migrate up").
run_migrations() {
  [[ -s "$work/play/migrations.yaml" ]] || { echo "  no migration Jobs rendered" >&2; return; }
  limit 120 podman kube play "$work/play/migrations.yaml" >/dev/null || die "podman kube play of the migration Jobs failed"
  local container code
  for container in $(podman ps -a --filter name='^smoke-' --format '{{.Names}}' | grep -- '-migrate-migrate$' || true); do
    suspect="${container#smoke-}"
    suspect="${suspect%%-*}-migrate"
    code="$(limit 180 podman wait "$container" || echo "no exit within $((180 * scale)) s")"
    podman logs "$container" 2>&1 | sed 's/^/    /' >&2
    [[ "$code" == 0 ]] || die "$container exited with $code"
    echo "  migrated: ${container%-migrate-migrate}" >&2
  done
}

play_services() {
  suspect=""
  limit 120 podman kube play "$work/play/services.yaml" >/dev/null || die "podman kube play of the services failed"
  local slot
  local url deadline state
  for slot in "${slots[@]}"; do
    suspect="$slot"
    url="http://127.0.0.1:$(port "p.services.$slot.rest")/readyz"
    deadline=$(( $(date +%s) + 120 * scale ))
    until curl -fsS --max-time 5 "$url" >/dev/null 2>&1; do
      # A container that exited (or crashed and was restarted: restartPolicy Always) will not become ready: fail now,
      # not at the deadline.
      state="$(podman inspect -f '{{.State.Status}} {{.RestartCount}}' "smoke-$slot-pod-0-$slot" 2>/dev/null || echo missing 0)"
      [[ "${state% *}" == running || "${state% *}" == created || "${state% *}" == configured ]] \
        || die "$slot container is ${state% *} before it became ready"
      [[ "${state#* }" == 0 ]] || die "$slot container crashed and was restarted ${state#* } time(s) before it became ready"
      (( $(date +%s) < deadline )) || die "$slot did not become ready within $((120 * scale)) s"
      sleep 0.5
    done
    echo "  ready: $slot /readyz" >&2
  done
  suspect=""
}

failures=0
failed_slots=()
check() { # description expected-substring command...
  local what="$1" expected="$2" output
  shift 2
  if output="$("$@" 2>&1)" && [[ "$output" == *"$expected"* ]]; then
    echo "  ok    $what" >&2
  else
    echo "  FAIL  $what: $(head -c 400 <<<"$output")" >&2
    failures=$((failures + 1))
    failed_slots+=("${what%% *}")
  fi
}
rest() { # slot path → "STATUS BODY"
  curl -sS --max-time 10 -o /dev/stdout -w ' %{http_code}' "http://127.0.0.1:$(port "p.services.$1.rest")$2"
}
grpc() { # slot method json → buf curl output (reflection); a non-OK status is printed with its code
  limit 30 "$buf" curl --protocol grpc --http2-prior-knowledge --timeout 10s -d "$3" "http://127.0.0.1:$(port "p.services.$1.grpc")/$2" || true
}

calls() {
  local slot
  for slot in "${slots[@]}"; do
    check "$slot REST /readyz" '"SERVING"' rest "$slot" /readyz
    check "$slot gRPC grpc.health.v1.Health/Check" '"SERVING"' grpc "$slot" grpc.health.v1.Health/Check '{"service":""}'
    case "$slot" in
      auth)
        check "auth REST GET /.well-known/jwks.json" '"keys"' rest auth /.well-known/jwks.json
        check "auth gRPC AuthService/GetJwks" '"keys"' grpc auth flashdeal.auth.v1.AuthService/GetJwks '{}'
        ;;
      catalog)
        check "catalog REST GET /v1/deals" ' 200' rest catalog /v1/deals
        check "catalog gRPC CatalogService/ListDeals" '{' grpc catalog flashdeal.catalog.v1.CatalogService/ListDeals '{}'
        ;;
      orders)
        # Without a token the order API must refuse: proves routing, transcoding and token validation are wired.
        check "orders REST GET /v1/orders without a token → 401" ' 401' rest orders /v1/orders
        check "orders gRPC OrderService/ListMyOrders without a token" 'unauthenticated' grpc orders flashdeal.orders.v1.OrderService/ListMyOrders '{}'
        ;;
    esac
  done
}

# The services' and migration Jobs' logs must be clean: no warning or error lines (simple console format
# "hh:mm:ss.fff warn: …"), nothing a native library printed (Npgsql's "Cannot load library libgssapi_krb5.so.2" where
# GSS encryption is tried: FlashDeal.Data disables it by default), no unhandled exception.
clean_logs() {
  local container noisy
  for container in $(podman ps -a --filter name='^smoke-' --format '{{.Names}}' | grep -vE '^smoke-(postgresql|redis)-' || true); do
    noisy="$(podman logs "$container" 2>&1 \
      | grep -E '^([0-9:.]+ )?(warn|fail|crit):|libgssapi|Cannot load library|Unhandled exception' -A1 || true)"
    if [[ -n "$noisy" ]]; then
      echo "  FAIL  $container log has warnings or errors:" >&2
      head -20 <<<"$noisy" | sed 's/^/          /' >&2
      failures=$((failures + 1))
      container="${container#smoke-}"
      failed_slots+=("${container%%-*}")
    else
      echo "  ok    $container log: no warnings or errors" >&2
    fi
  done
}

# SIGTERM → drain → exit: every service pod must stop well inside terminationGracePeriodSeconds.
graceful_stop() {
  local started slot
  started=$(date +%s)
  limit 90 podman kube play --down "$work/play/services.yaml" >/dev/null || die "podman kube play --down of the services failed or hung"
  local took=$(( $(date +%s) - started ))
  for slot in "${slots[@]}"; do
    if podman container exists "smoke-$slot-pod-0-$slot"; then
      die "$slot still exists after kube play --down"
    fi
  done
  (( took < 30 )) || die "stopping the services took ${took} s (SIGTERM not handled?)"
  echo "  services stopped in ${took} s" >&2
}

started=$(date +%s)
phase "prerequisites (packages, helm, node modules, buf)"; prerequisites; phase_end "prerequisites"
podman network exists "$kube_network" || kube_network_existed=false
trap on_exit EXIT
trap 'echo "smoke.sh: interrupted" >&2; exit 130' INT TERM
down
phase "base images (debootstrap, .NET SDK/runtime, PostgreSQL, Redis)"; base_images; phase_end "base images (cached after the first run)"
phase "service images: ${slots[*]}"; build_service_images; phase_end "service images (${slots[*]})"
phase "render the chart and adapt it for podman"; render; phase_end "helm template + podman adaptation"
phase "PostgreSQL and Redis pods"; play_databases; phase_end "databases up"
phase "migration Jobs"; run_migrations; phase_end "migrations"
phase "service pods"; play_services; phase_end "services ready"
phase "REST and gRPC calls"; calls; clean_logs; phase_end "calls"
if ((failures > 0)); then
  suspect="${failed_slots[0]}"
  die "$failures check(s) failed"
fi
if [[ $keep == true ]]; then
  echo "pods keep running; ports: $work/play/ports.json; stop: CONTAINERS_CONF=$CONTAINERS_CONF podman kube play --down FILE for $work/play/{services,migrations,databases}.yaml" >&2
else
  phase "graceful stop"; graceful_stop; phase_end "graceful stop"
fi

printf '\nsmoke timings\n' >&2
printf '  %s\n' "${timings[@]}" >&2
printf '  %-44s %4d s\n' "total" $(( $(date +%s) - started )) >&2
echo "smoke.sh: ${slots[*]} deployed from the chart, called over REST and gRPC, stopped cleanly" >&2
