#!/usr/bin/env bash
# What the reference proxy adds to a call: the same chat request sent straight to the provider simulator and through
# the proxy (which asks the control plane Route, calls the simulator, and reports the outcome in the background), in
# the same run, alternating rounds, with h2load (nghttp2's C load generator) over HTTP/1.1 at fixed concurrency.
#
#   direct   POST http://127.0.0.1:<sim port of openai-gpt41-us>/v1/chat/completions
#   proxy    POST http://127.0.0.1:<proxy>/v1/chat/completions with X-Workload-Class: browser_agent (its only primary
#            is openai-gpt41-us, so both targets hit the same simulated endpoint)
#
# The simulator runs with --latency-scale 0 (it answers at once), so the latency difference is the proxy's own cost:
# HTTP front, body parse and rewrite, Route over gRPC to an embedded control plane (controlplane --storage memory),
# the upstream call, the answer, and the batched outcome report. Also printed: the proxy's and the control plane's CPU
# time per proxied request (utime + stime from /proc/<pid>/stat around the proxy runs).
#
# Usage: bench/proxy-overhead.sh [--rounds R] [-n REQUESTS] [--concurrency C]
# Env (flags win): ROUNDS (5), N (requests per run; 20000), CONCURRENCY (h2load -c; 8), WARMUP_N (requests per target
#   before round 1; 5000), SKIP_BUILD=1, OUT (work dir; default a new /tmp dir), KEEP_LOGS=1.
# The fleet is deploy/fleet.sample.yaml with every endpoint limit and class budget raised (quota never runs dry).
# Exit status: 0 when every request of every round answered 2xx, 1 otherwise.
set -euo pipefail

rounds=${ROUNDS:-5}
requests=${N:-20000}
concurrency=${CONCURRENCY:-8}
warmup=${WARMUP_N:-5000}
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    -n|--requests) requests=$2; shift 2 ;;
    --concurrency|-c) concurrency=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$(mktemp -d /tmp/proxy-overhead.XXXXXX)}
mkdir -p "$out"
log() { echo "proxy-overhead: $*" >&2; }
# shellcheck source=lib/servers.sh
source "$repo/bench/lib/servers.sh"
command -v h2load > /dev/null || { log "h2load not found (Debian: nghttp2-client)"; exit 1; }
clk_tck=$(getconf CLK_TCK)

# --- build ------------------------------------------------------------------------------------------------------------
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  for p in src/ControlPlane.Server src/ControlPlane.Simulator src/ControlPlane.Proxy; do
    dotnet build -c Release -nologo -v q "$repo/$p" >&2
  done
fi
bin() { echo "$repo/src/$1/bin/Release/net10.0/$2"; }
product=$(bin ControlPlane.Server controlplane.dll)
simulator=$(bin ControlPlane.Simulator ControlPlane.Simulator.dll)
proxy=$(bin ControlPlane.Proxy ControlPlane.Proxy.dll)

fleet=$out/fleet.bench.yaml
raise_fleet_limits "$repo/deploy/fleet.sample.yaml" "$fleet" --spend
echo '{"messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":16}' > "$out/body.json"

# --- servers ----------------------------------------------------------------------------------------------------------
sim_admin=$(free_port); cp_port=$(free_port); cp_admin=$(free_port); proxy_port=$(free_port)
dotnet "$simulator" --fleet "$fleet" --latency-scale 0 --admin-port "$sim_admin" --upstreams-out "$out/upstreams.json" \
  > "$out/simulator.log" 2>&1 & pids+=($!); sim_pid=$!
admin_key=$(new_admin_key)
CONTROLPLANE_ADMIN_KEY=$admin_key dotnet "$product" --storage memory --fleet "$fleet" \
  --grpc-listen "127.0.0.1:$cp_port" --admin-listen "127.0.0.1:$cp_admin" > "$out/controlplane.log" 2>&1 & pids+=($!); cp_pid=$!
wait_for "$out/simulator.log" '^upstreams:' 120 "$sim_pid"
wait_for "$out/controlplane.log" 'Admin listening' 120 "$cp_pid"
(umask 077; curl -sf -H "authorization: Bearer $admin_key" -H 'content-type: application/json' -X POST "http://127.0.0.1:$cp_admin/admin/v1/keys" \
  -d '{"name":"bench-proxy","roles":["data-plane"],"reason":"bench/proxy-overhead.sh"}' | sed -nE 's/.*"key":"([^"]+)".*/\1/p' > "$out/credential")
[[ $(cat "$out/credential") == cpk_* ]] || { log "could not create a data-plane key"; exit 1; }
dotnet "$proxy" --control-plane "http://127.0.0.1:$cp_port" --credential-file "$out/credential" --upstreams "$out/upstreams.json" \
  --listen "127.0.0.1:$proxy_port" > "$out/proxy.log" 2>&1 & pids+=($!); proxy_pid=$!
wait_for "$out/proxy.log" 'listening on' 120 "$proxy_pid"

direct_url=$(sed -nE 's/^  openai-gpt41-us (http:[^ ]+)$/\1/p' "$out/simulator.log")/v1/chat/completions
proxy_url=http://127.0.0.1:$proxy_port/v1/chat/completions
[[ $direct_url == http://* ]] || { log "no address for openai-gpt41-us in the simulator's output"; exit 1; }
run_h2load() { # target requests log
  local extra=()
  [[ $1 == proxy ]] && extra=(-H 'x-workload-class: browser_agent')
  local url=$direct_url; [[ $1 == proxy ]] && url=$proxy_url
  timeout 600 h2load --h1 -n "$2" -c "$concurrency" -t 1 -d "$out/body.json" -H 'content-type: application/json' "${extra[@]}" \
    ${3:+--log-file "$3"} "$url"
}
log "sanity check:"
curl -s -i -H 'content-type: application/json' -H 'x-workload-class: browser_agent' --data-binary @"$out/body.json" "$proxy_url" \
  | grep -iE '^(HTTP/|x-controlplane-endpoint|x-controlplane-route-reason)' >&2
log "warm-up: $warmup requests per target"
for t in direct proxy; do run_h2load "$t" "$warmup" "" > "$out/warmup-$t.txt" 2>&1 || { cat "$out/warmup-$t.txt" >&2; exit 1; }; done

# --- rounds -----------------------------------------------------------------------------------------------------------
declare -A p50 p95 rps
added=(); proxy_cpu=(); cp_cpu=(); failed=0
printf '%-6s %-7s %9s %9s %9s %8s\n' round target req/s p50_ms p95_ms non2xx >&2
for r in $(seq 1 "$rounds"); do
  order=(direct proxy); (( r % 2 == 0 )) && order=(proxy direct)
  for t in "${order[@]}"; do
    run=$out/r$r-$t
    if [[ $t == proxy ]]; then pc0=$(cpu_ticks "$proxy_pid"); cc0=$(cpu_ticks "$cp_pid"); fi
    run_h2load "$t" "$requests" "$run.log" > "$run.txt" 2>&1 || { cat "$run.txt" >&2; exit 1; }
    if [[ $t == proxy ]]; then pc1=$(cpu_ticks "$proxy_pid"); cc1=$(cpu_ticks "$cp_pid"); fi
    ok=$(sed -nE 's/^status codes: ([0-9]+) 2xx,.*/\1/p' "$run.txt")
    bad=$(( requests - ok )); failed=$(( failed + bad ))
    awk '$2 >= 200 && $2 < 300 { print $3 }' "$run.log" > "$run.us"
    p50[$t,$r]=$(percentile "$run.us" 0.50); p95[$t,$r]=$(percentile "$run.us" 0.95)
    rps[$t,$r]=$(sed -nE 's/^finished in [0-9.]+m?s, ([0-9.]+) req\/s.*/\1/p' "$run.txt")
    if [[ $t == proxy ]]; then
      proxy_cpu+=("$(awk -v d="$(( pc1 - pc0 ))" -v hz="$clk_tck" -v n="$ok" 'BEGIN { printf "%.1f", (n > 0 ? d / hz / n * 1e6 : 0) }')")
      cp_cpu+=("$(awk -v d="$(( cc1 - cc0 ))" -v hz="$clk_tck" -v n="$ok" 'BEGIN { printf "%.1f", (n > 0 ? d / hz / n * 1e6 : 0) }')")
    fi
    rm -f "$run.us"; [[ ${KEEP_LOGS:-0} == 1 ]] || rm -f "$run.log"
    printf '%-6s %-7s %9s %9s %9s %8s\n' "$r" "$t" "${rps[$t,$r]}" "${p50[$t,$r]}" "${p95[$t,$r]}" "$bad" >&2
  done
  added+=("$(awk -v a="${p50[proxy,$r]}" -v b="${p50[direct,$r]}" 'BEGIN { printf "%.3f", a - b }')")
done

# --- summary (stdout) -------------------------------------------------------------------------------------------------
col() { local t=$1 vals=() r; local -n arr=$2; for r in $(seq 1 "$rounds"); do vals+=("${arr[$t,$r]}"); done; median "${vals[@]}"; }
echo "proxy overhead: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$repo" rev-parse --short HEAD)"
echo "per run: h2load --h1 -n $requests -c $concurrency -t 1, body $(stat -c %s "$out/body.json") B; $rounds rounds, order alternated; simulator --latency-scale 0"
printf '%-8s %9s %9s %9s\n' target req/s 'p50 ms' 'p95 ms'
for t in direct proxy; do printf '%-8s %9s %9s %9s\n' "$t" "$(col "$t" rps)" "$(col "$t" p50)" "$(col "$t" p95)"; done
echo "p50 added by the proxy (median over rounds of proxy p50 - direct p50): $(median "${added[@]}") ms"
echo "CPU per proxied request: proxy $(median "${proxy_cpu[@]}") us, control plane $(median "${cp_cpu[@]}") us"
echo "non-2xx answers: $failed"
[[ $failed -eq 0 ]]
