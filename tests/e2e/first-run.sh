#!/usr/bin/env bash
# End-to-end test of the first `./flashdeal up` on a machine without haproxy and redis-server: `up` must install them
# (apt-get), stop the servers the packages start, and come up; and when the install leaves them missing, it must stop
# and say why. Runs as root in a private mount namespace where the real binaries are hidden (an empty, non-executable
# file bound over each) and `apt-get` and `service` are stubs first on PATH: the stub apt-get "installs" a package by
# removing its bind mount, so the real binary appears exactly as after an install. Nothing outside the namespace changes.
#
# Ports and data folder as in tests/e2e/local-mesh.sh (lib.sh mesh_setup). FLASHDEAL_SKIP_BUILD=1 when the Release
# build is fresh. Without root (or unshare) it says so and exits 0 unless FLASHDEAL_REQUIRE_FIRST_RUN=1 (CI).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

if [[ $(id -u) -ne 0 ]] || ! command -v unshare >/dev/null; then
  echo "first-run: cannot run here (needs root and unshare for a private mount namespace)" >&2
  [[ ${FLASHDEAL_REQUIRE_FIRST_RUN:-0} == 1 ]] && exit 1
  exit 0
fi
if [[ ${FLASHDEAL_FIRST_RUN_NAMESPACE:-0} != 1 ]]; then
  exec unshare --mount --propagation private env FLASHDEAL_FIRST_RUN_NAMESPACE=1 bash "$0" "$@"
fi

source tests/e2e/lib.sh
mesh_setup first-run
export FLASHDEAL_ORDERS_REPLICAS=1 FLASHDEAL_PASSWORD_ITERATIONS=1000
STUBS="$DATA/stubs" CALLS="$DATA/calls.log"
mkdir -p "$STUBS"
: >"$CALLS" && : >"$DATA/empty"

# A PATH without haproxy and redis-server: $STUBS holds a link to every other command of the current PATH (first one
# wins, as in a lookup) and the stubs. The real binaries also get an empty, non-executable file bound over them, for
# lookups by absolute path (/usr/sbin/haproxy). The stub apt-get "installs" by linking and unbinding them again.
for dir in ${PATH//:/ }; do
  [[ -d $dir ]] || continue
  for bin in "$dir"/*; do
    name="${bin##*/}"
    case $name in haproxy | redis-server | apt-get | service) continue ;; esac
    [[ -x $bin && ! -e "$STUBS/$name" ]] && ln -s "$bin" "$STUBS/$name"
  done
done
hide() {
  local bin; bin="$(command -v "$1")" || { fail "$1 is installed on this machine (the test hides it)"; exit 1; }
  echo "$bin" >"$DATA/path-$1"
  mount --bind "$DATA/empty" "$(readlink -f "$bin")"
  readlink -f "$bin" >"$DATA/hidden-$1"
}
hide haproxy
hide redis-server
# apt-get stub: records its arguments; "installs" haproxy/redis-server (unhides them) unless STUB_APT_INSTALLS=none.
cat >"$STUBS/apt-get" <<EOF
#!/usr/bin/env bash
echo "apt-get \$*" >>"$CALLS"
[[ \${STUB_APT_INSTALLS:-all} == none ]] && exit 0
for arg; do
  [[ -f "$DATA/hidden-\$arg" ]] || continue
  umount "\$(cat "$DATA/hidden-\$arg")"
  ln -s "\$(cat "$DATA/path-\$arg")" "$STUBS/\$arg"
done
exit 0
EOF
# service stub: the packages' own servers are "stopped" (recorded, nothing touched).
printf '#!/usr/bin/env bash\necho "service $*" >>"%s"\n' "$CALLS" >"$STUBS/service"
chmod +x "$STUBS/apt-get" "$STUBS/service"
export PATH="$STUBS"
command -v haproxy >/dev/null || command -v redis-server >/dev/null || [[ -x /usr/sbin/haproxy ]] &&
  { fail "haproxy and redis-server hidden"; exit 1; }

echo "e2e first run: data in $FLASHDEAL_DATA, ports ${PORTS[*]}"
# 1. The install does not make the binaries appear: up stops before starting anything and says why.
if STUB_APT_INSTALLS=none timeout 60 ./flashdeal up --detach >"$DATA/up-broken.out" 2>&1; then
  fail "up refuses to go on when apt-get leaves haproxy/redis-server missing"
else
  grep -q "still not on PATH" "$DATA/up-broken.out" && pass "up stops with a reason when the install leaves them missing" ||
    { fail "up stops with a reason when the install leaves them missing"; tail -n 20 "$DATA/up-broken.out"; }
fi
: >"$CALLS"

# 2. The real first run: apt-get brings both, the packages' servers are stopped, the mesh comes up.
if timeout 150 ./flashdeal up --detach >"$DATA/up.out" 2>&1; then
  pass "first up --detach on a machine without haproxy and redis-server"
else
  fail "first up --detach on a machine without haproxy and redis-server"; tail -n 40 "$DATA/up.out"
  echo "e2e first run: $passed passed, $failed failed"; exit 1
fi
grep -q "installing redis-server haproxy" "$DATA/up.out" && pass "up says what it installs" || fail "up says what it installs"
grep -q "^apt-get install -y -q redis-server haproxy" "$CALLS" && pass "apt-get install redis-server haproxy" ||
  { fail "apt-get install redis-server haproxy"; cat "$CALLS"; }
missing=()
for unit in postgresql redis-server haproxy; do grep -qx "service $unit stop" "$CALLS" || missing+=("$unit"); done
((${#missing[@]} == 0)) && pass "the packages' own servers are stopped (service(8), not a shell function)" ||
  { fail "service stop for ${missing[*]}"; cat "$CALLS"; }
grep -q "FlashDeal is up" "$DATA/up.out" && pass "up prints the endpoints" || fail "up prints the endpoints"
check "status: every process ready" ./flashdeal status

mesh_snapshot_pids
check_down_leaves_nothing
echo "e2e first run: $passed passed, $failed failed"
((failed == 0))
