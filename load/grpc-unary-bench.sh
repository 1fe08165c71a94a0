#!/usr/bin/env bash
# Unary gRPC Echo throughput and latency: our runtime (tests/FlashDeal.Grpc.Testing) against raw Kestrel answering the
# same call with a canned reply (load/FlashDeal.Grpc.RawBaseline), each driven by h2load and by our LoadClient.
# Loopback only; every run is bounded in requests and time; the servers started here are stopped on exit.
#
#   load/grpc-unary-bench.sh [--runs 3] [--requests 100000] [--warmup 200000] [--client-warmup 50000]
#                            [--connections 2] [--streams 64] [--message TEXT] [--no-build]
#
# --warmup calls go to each server once before the first run (tiered JIT and PGO need a couple of seconds of traffic);
# --client-warmup calls start every LoadClient run (a fresh process) unmeasured.
#
# Prints one Markdown table of the median over the runs of each metric (docs/benchmarks.md explains the columns).
set -euo pipefail

runs=3
requests=100000
warmup=200000
client_warmup=50000
connections=2
streams=64
message="hello flashdeal"
build=1
run_timeout=60

while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --client-warmup) client_warmup=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --message) message=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
if (( streams % connections != 0 )); then
  echo "--streams must be a multiple of --connections (h2load opens streams/connections per connection)" >&2
  exit 2
fi
command -v h2load >/dev/null || { echo "h2load not found: apt-get install -y nghttp2-client" >&2; exit 1; }

repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
server_pids=()

cleanup() {
  for pid in "${server_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${server_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build (Release)" >&2
projects=(tests/FlashDeal.Grpc.Testing load/FlashDeal.Grpc.RawBaseline load/FlashDeal.Grpc.LoadClient)
if (( build )); then
  for project in "${projects[@]}"; do
    dotnet build "$repo/$project" -c Release -nologo -v quiet >"$work/build.log" 2>&1 \
      || { cat "$work/build.log" >&2; exit 1; }
  done
fi
ours_dll=$repo/tests/FlashDeal.Grpc.Testing/bin/Release/net10.0/FlashDeal.Grpc.Testing.dll
raw_dll=$repo/load/FlashDeal.Grpc.RawBaseline/bin/Release/net10.0/FlashDeal.Grpc.RawBaseline.dll
client_dll=$repo/load/FlashDeal.Grpc.LoadClient/bin/Release/net10.0/FlashDeal.Grpc.LoadClient.dll

# The request as one gRPC frame: EchoRequest { message (1) = TEXT, sequence (2) = 1 }.
frame=$work/echo-request.bin
size=$(LC_ALL=C; echo ${#message})
(( size < 124 )) || { echo "--message must stay under 124 bytes (one-byte lengths)" >&2; exit 2; }
printf "\x00\x00\x00\x00\x$(printf %02x $((size + 4)))\x0a\x$(printf %02x "$size")%s\x10\x01" "$message" >"$frame"

# start_server NAME COMMAND...: starts it in the background and sets $address from the "gRPC http://..." line it prints.
start_server() {
  local name=$1; shift
  ASPNETCORE_ENVIRONMENT=Production "$@" >"$work/$name.log" 2>&1 &
  server_pids+=($!)
  for _ in $(seq 300); do
    address=$(sed -n 's|^gRPC \(http://[0-9.:]*\).*|\1|p' "$work/$name.log")
    [[ -n $address ]] && return 0
    kill -0 "${server_pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start:" >&2; cat "$work/$name.log" >&2; exit 1
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== start servers" >&2
start_server ours dotnet "$ours_dll" --grpc-port 0 --rest-port 0
ours=$address ours_pid=${server_pids[-1]}
start_server raw dotnet "$raw_dll" --port 0 --message "$message"
raw=$address raw_pid=${server_pids[-1]}
echo "ours $ours, raw $raw" >&2

method=/flashdeal.testing.v1.EchoService/Echo

run_h2load() { # URL COUNT → raw h2load output
  timeout "$run_timeout" h2load -n "$2" -c "$connections" -m $((streams / connections)) -t 1 -d "$frame" \
    -H 'content-type: application/grpc' -H 'te: trailers' "$1$method"
}

# h2load prints min/max/mean/sd of "time for request" in us, ms or s: normalise to microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); print v + 0 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); print v * 1000 }
    else { sub(/s$/, "", v); print v * 1000000 } }'
}

# CPU time (user + system) a process has used, in microseconds.
clock_ticks=$(getconf CLK_TCK)
cpu_us() { awk -v hz="$clock_ticks" '{ printf "%.0f", ($14 + $15) * 1000000 / hz }' "/proc/$1/stat"; }

# Results: one line per run in $work/results:
# TARGET TOOL RPS MEAN_US P50_US P95_US P99_US MAX_US ERRORS SERVER_CPU_US_PER_CALL CLIENT_CPU_US_PER_CALL
results=$work/results
: >"$results"

measure_h2load() { # TARGET URL SERVER_PID
  local out rps total ok mean max cpu_before cpu client_s
  cpu_before=$(cpu_us "$3")
  # bash's time keyword reports the user + system seconds of h2load (a waited-for child of timeout).
  client_s=$( { TIMEFORMAT='%3U %3S'; time run_h2load "$2" "$requests" >"$work/h2load.out" || true; } 2>&1 | awk '{ print $1 + $2 }')
  out=$(<"$work/h2load.out")
  cpu=$(( $(cpu_us "$3") - cpu_before ))
  rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  total=$(sed -n 's/^requests: \([0-9]*\) total.*/\1/p' <<<"$out")
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
  read -r max mean < <(awk '/^time for request:/ { print $5, $6 }' <<<"$out")
  if [[ -z $rps || -z $ok ]]; then echo "$out" >&2; exit 1; fi
  echo "$1 h2load ${rps%.*} $(to_us "$mean") - - - $(to_us "$max") $((total - ok)) $(awk -v c="$cpu" -v s="$client_s" -v n="$total" 'BEGIN { printf "%.1f %.1f", c / n, s * 1e6 / n }')" >>"$results"
}

measure_client() { # TARGET URL SERVER_PID
  local out line cpu_before cpu
  cpu_before=$(cpu_us "$3")
  out=$(timeout "$run_timeout" dotnet "$client_dll" --target "$2" --path "$method" --data "$frame" \
    -c "$connections" -m "$streams" -n "$requests" --warmup "$client_warmup" --time-limit $((run_timeout / 2)) || true)
  cpu=$(( $(cpu_us "$3") - cpu_before ))
  line=$(grep '^RESULT ' <<<"$out") || { echo "$out" >&2; exit 1; }
  grep '^first error' <<<"$out" >&2 || true
  # The client's own warm-up calls hit the server inside the CPU window too.
  awk -v target="$1" -v cpu="$cpu" -v calls=$((requests + client_warmup)) '{
      for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
      print target, "loadclient", r["rps"], r["mean_us"], r["p50_us"], r["p95_us"], r["p99_us"], r["max_us"], r["errors"],
        sprintf("%.1f", cpu / calls), r["client_cpu_us"]
    }' <<<"$line" >>"$results"
}

echo "== warm up ($warmup calls each)" >&2
for url in "$ours" "$raw"; do
  run_h2load "$url" "$warmup" >"$work/warmup.out" || { cat "$work/warmup.out" >&2; exit 1; }
done

for run in $(seq "$runs"); do
  # Alternate the order so slow drift on a shared box does not always favour the same target.
  targets=(ours raw)
  (( run % 2 == 0 )) && targets=(raw ours)
  for target in "${targets[@]}"; do
    url=$ours pid=$ours_pid
    [[ $target == raw ]] && url=$raw pid=$raw_pid
    echo "== run $run/$runs: $target" >&2
    measure_h2load "$target" "$url" "$pid"
    measure_client "$target" "$url" "$pid"
  done
done

echo "== per-run results (latencies in us)" >&2
column -t "$results" >&2

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo
echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), .NET $(dotnet --version), $(h2load --version | head -1); load average before: $load_before"
echo "Load: $requests calls per run after warm-up, $streams concurrent streams over $connections connections; medians of $runs runs, errors summed."
echo

# Median per metric over the runs ("-" where the tool has no such number); errors are summed over all runs.
awk -v runs="$runs" '
  function median(key, col,   n, i, j, t, v) {
    n = split(values[key, col], v, " ")
    if (v[1] == "-") return "-"
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
    return v[int((n + 1) / 2)]
  }
  function total(key, col,   n, i, v, sum) {
    n = split(values[key, col], v, " ")
    for (i = 1; i <= n; i++) sum += v[i]
    return sum
  }
  function ms(us) { return us == "-" ? "–" : sprintf("%.2f", us / 1000) }
  {
    key = $1 SUBSEP $2
    for (c = 3; c <= 11; c++) values[key, c] = values[key, c] (values[key, c] == "" ? "" : " ") $c
    seen[key] = 1
  }
  END {
    print "| target | tool | req/s | mean ms | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU µs/call | client CPU µs/call |"
    print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    split("ours raw", targets, " "); split("h2load loadclient", tools, " ")
    name["ours"] = "FlashDeal.Grpc"; name["raw"] = "raw Kestrel"
    for (t = 1; t <= 2; t++) for (u = 1; u <= 2; u++) {
      key = targets[t] SUBSEP tools[u]
      if (!(key in seen)) continue
      printf "| %s | %s | %d | %s | %s | %s | %s | %s | %d | %.1f | %.1f |\n", name[targets[t]], tools[u], median(key, 3),
        ms(median(key, 4)), ms(median(key, 5)), ms(median(key, 6)), ms(median(key, 7)), ms(median(key, 8)), total(key, 9),
        median(key, 10), median(key, 11)
    }
    print ""
    for (u = 1; u <= 2; u++) {
      o = "ours" SUBSEP tools[u]; r = "raw" SUBSEP tools[u]
      line = sprintf("ours/raw (%s): throughput %.2f, server CPU per call %.2f, mean latency %.2f", tools[u],
        median(o, 3) / median(r, 3), median(o, 10) / median(r, 10), median(o, 4) / median(r, 4))
      if (median(o, 7) != "-") line = line sprintf(", p99 %.2f", median(o, 7) / median(r, 7))
      print line
    }
  }' "$results"
