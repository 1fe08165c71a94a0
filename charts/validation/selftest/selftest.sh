#!/usr/bin/env bash
# Offline self-tests of the cluster-facing scripts, run by charts/validate.sh: load/hpa-stress.sh and
# k8s/overlays/dev/signing-key.sh against a fake kubectl (fake-kubectl) and a fake load tool (fake-load-tool), proving
# the polling, the CSV, the report, exit codes and the key generation without a cluster. About five seconds.
# shellcheck disable=SC2016  # the single-quoted bash -c / awk programs expand their own arguments
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="$(mktemp -d)"
trap '[[ -n "${SELFTEST_KEEP:-}" ]] || rm -rf "$tmp"' EXIT
# shellcheck source=charts/validation/selftest/lib.sh
source "$here/lib.sh"
# A fresh fake cluster per case: its own log, poll counter and Secret state.
fake() { fake_cluster "$1" fake-kubectl; }

hpa_stress() { # case-dir args...
  local case_dir="$1"
  shift
  PATH="$case_dir/bin:$PATH" FAKE_KUBECTL_DIR="$case_dir" bash "$root/load/hpa-stress.sh" \
    --rest http://kong.test:8000 --grpc https://kong.test:8443 --load-tool "$here/fake-load-tool" "$@"
}

echo "hpa-stress.sh"
# 1. --dry-run: the plan names the load command; kubectl is never called.
c="$(fake dry)"
plan="$(hpa_stress "$c" --dry-run --out "$c/out" -- --users 5 2>&1)"
expect "--dry-run prints the spike command with the Kong URLs and the pass-through options" \
  grep -qF -- "spike --transport grpc --rest http://kong.test:8000 --grpc https://kong.test:8443 --stages" <<<"$plan"
expect "--dry-run passes options after -- to the load tool, after a --timeout of the stages + 120 s" \
  grep -qF -- "--out $c/out/load --timeout 420s --users 5" <<<"$plan"
plan="$(hpa_stress "$c" --dry-run --stages "a:1m:10,b:500ms:20:hold" -- --timeout 9m 2>&1)"
expect "an explicit --timeout for the load tool replaces the computed one" bash -c '
  grep -qF -- "--stages a:1m:10,b:500ms:20:hold --out " <<<"$1" && grep -qF -- " --timeout 9m" <<<"$1" && ! grep -qF -- "--timeout 181s" <<<"$1"' _ "$plan"
set +e
msg="$(hpa_stress "$c" --dry-run --stages "spike:fast:10" 2>&1)"
rc=$?
set -e
expect "malformed --stages is a usage error (exit 2) naming the stage" test "$rc" = 2 -a -n "$(grep -F "spike:fast:10" <<<"$msg")"
expect "--dry-run calls no kubectl" test ! -e "$c/kubectl.log"

# 2. Usage errors exit 2 and name the option.
c="$(fake usage)"
set +e
msg="$(PATH="$c/bin:$PATH" FAKE_KUBECTL_DIR="$c" bash "$root/load/hpa-stress.sh" --rest http://kong.test:8000 2>&1)"
rc=$?
set -e
expect "a missing --grpc is a usage error (exit 2) that names it" test "$rc" = 2 -a -n "$(grep -- '--grpc' <<<"$msg")"
set +e
msg="$(hpa_stress "$c" --interval 0 2>&1)"
rc=$?
set -e
expect "--interval 0 is refused (exit 2)" test "$rc" = 2 -a -n "$(grep -- '--interval' <<<"$msg")"

# 3. A run: polls into timeline.csv during and after the load, writes the report, exits with the load tool's 0.
c="$(fake run)"
set +e
FAKE_LOAD_SECONDS=2 hpa_stress "$c" --interval 0.2 --settle 1 --out "$c/out" --transport rest -- --users 5 --stock 3 >"$c/stdout" 2>&1
rc=$?
set -e
csv="$c/out/timeline.csv"
report="$c/out/report.md"
expect "a passing run exits 0" test "$rc" = 0
expect "timeline.csv has the header" grep -qx 'utc,elapsed_s,phase,service,hpa_min,hpa_max,hpa_current,hpa_desired,cpu_pct,cpu_target_pct,pods,pods_ready,pods_pending,pods_terminating' "$csv"
expect "timeline.csv has rows for auth, catalog and orders in each phase (before, load, settle)" bash -c '
  for s in auth catalog orders; do for p in before load settle; do grep -q ",$p,$s," "$1" || exit 1; done; done' _ "$csv"
expect "timeline.csv counts pods per service: ready, pending, terminating (migrations pods not counted)" bash -c '
  grep -q ",orders,3,30,[0-9]*,[0-9]*,[0-9]*,55,[0-9]*,[0-9]*,1,0$" "$1" && grep -q ",orders,.*,1$" "$1" &&
  ! grep -q ",migrations," "$1" && grep -q ",auth,2,6,2,2,12,70,2,2,0,0$" "$1"' _ "$csv"
expect "timeline.csv shows orders scaling up during the load" awk -F, '
  $4 == "orders" && $3 == "before" && !b { b = $8 } $4 == "orders" && $3 != "before" && $8 > b { up = 1 } END { exit !up }' "$csv"
expect "the load tool got spike, the transport, both Kong URLs, --stages, --out DIR/load and the pass-through options" bash -c '
  tr "\n" " " < "$1" | grep -qF -- "spike --transport rest --rest http://kong.test:8000 --grpc https://kong.test:8443 --stages " &&
  tr "\n" " " < "$1" | grep -qF -- "--out $2/load --timeout 420s --users 5 --stock 3 "' _ "$c/load.args" "$c/out"
expect "report.md has the per-service summary with orders scaled up" grep -qE '^\| orders \| 3–30 \| [0-9]+ \| [4-6] \| [0-9]+ \| [0-9-]+ s \|' "$report"
expect "report.md has the replica timeline with a column per service" grep -qE '^\| t \(s\) \| UTC \| phase \| auth \| catalog \| orders \|$' "$report"
expect "report.md lists the HPA events of the run, not older ones" bash -c '
  grep -q "flashdeal-orders | SuccessfulRescale | New size: 4" "$1" && ! grep -q "from before the test" "$1"' _ "$report"
expect "report.md embeds the load tool's report two heading levels down" bash -c '
  grep -qx "### Load report: spike" "$1" && grep -qx "#### Operations" "$1" && grep -q fake-load-report-marker "$1"' _ "$report"
expect "the describe/events files are written" test -s "$c/out/hpa-describe.txt" -a -s "$c/out/events.txt"
calls=$(wc -l < "$c/kubectl.log")
sleep 0.6
expect "no poller survives the run (no kubectl call after the exit)" test "$(wc -l < "$c/kubectl.log")" = "$calls"

# 4. A failing load: its exit code comes through and the report still exists.
c="$(fake failing)"
set +e
FAKE_LOAD_SECONDS=0.3 FAKE_LOAD_RC=1 hpa_stress "$c" --interval 0.2 --settle 0 --out "$c/out" >"$c/stdout" 2>&1
rc=$?
set -e
expect "a failing load tool makes the run exit 1" test "$rc" = 1
expect "the report is written anyway and shows the exit code" grep -qF "load tool exit code **1**" "$c/out/report.md"

echo "signing-key.sh"
# 5. No Secret yet: a fresh P-256 key goes into it through a temporary file that is gone afterwards.
c="$(fake key-new)"
PATH="$c/bin:$PATH" FAKE_KUBECTL_DIR="$c" bash "$root/k8s/overlays/dev/signing-key.sh" flashdeal-dev >"$c/stdout" 2>&1
expect "creates secret flashdeal-signing-keys in the namespace" grep -q "^-n flashdeal-dev create secret generic flashdeal-signing-keys" "$c/kubectl.log"
expect "creates the namespace declaratively first" grep -q "name: flashdeal-dev" "$c/applied.yaml"
expect "the key is an EC P-256 private key named <kid>.pem" node -e '
  const fs = require("fs"), crypto = require("crypto");
  const k = crypto.createPrivateKey(fs.readFileSync(process.argv[1]));
  const name = fs.readFileSync(process.argv[2], "utf8").trim();
  if (k.asymmetricKeyType !== "ec" || k.asymmetricKeyDetails.namedCurve !== "prime256v1" || !/^dev-\d{8}\.pem$/.test(name)) process.exit(1);
' "$c/secret-key.pem" "$c/secret-key-name"
expect "the temporary key file is deleted" test ! -e "$(cat "$c/secret-key-path")"
# 6. The Secret exists: kept, nothing created.
c="$(fake key-kept)"
touch "$c/secret-exists"
PATH="$c/bin:$PATH" FAKE_KUBECTL_DIR="$c" bash "$root/k8s/overlays/dev/signing-key.sh" >"$c/stdout" 2>&1
expect "an existing Secret is kept (no create)" bash -c '! grep -q "create secret" "$1" && grep -q kept "$2"' _ "$c/kubectl.log" "$c/stdout"

((fails == 0)) || { echo "selftest.sh: $fails check(s) failed" >&2; exit 1; }
echo "selftest.sh: all script self-tests passed"
