# Shared by the end-to-end scripts in tests/e2e/: check bookkeeping and free loopback ports. Source it.

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && ! ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# A block of $1 consecutive free ports in 20000-29999 (prints its first port).
pick_ports() {
  local count=$1 base i
  for _ in $(seq 1 50); do
    base=$((20000 + RANDOM % (10000 - count)))
    for ((i = 0; i < count; i++)); do port_free $((base + i)) || continue 2; done
    echo "$base"; return 0
  done
  return 1
}
