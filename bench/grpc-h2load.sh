#!/usr/bin/env bash
# gRPC data plane under h2load (nghttp2's C load generator, in its own process), loopback h2c only.
#
# Targets, alternated in rounds with the same h2load settings and the same request bytes:
#   echo-kestrel  bare Kestrel h2c: one MapPost route copying the request body back (grpc-status 0 trailer)
#   echo-grpc     Grpc.AspNetCore: controlplane.v1.Routing/Route parses the RouteRequest, answers a prebuilt RouteDecision
#   route         the product (controlplane --storage memory): /controlplane.v1.Routing/Route
#   route-notel   the same product started with --telemetry off (a second process): Route without metrics, traces or
#                 the Prometheus exporter, so "route / route-notel" is what telemetry costs
#   report        the product: /controlplane.v1.Routing/ReportOutcome (unary; one outcome per call)
#   reports       the product: /controlplane.v1.Routing/ReportOutcomes (client streaming; BATCH outcomes per call, so
#                 outcomes/s = calls/s x BATCH: the way a proxy's batching reporter sends them)
# Both echoes are bench/ControlPlane.Echo. The request frames come from `controlplane-echo frames`.
#
# Usage: bench/grpc-h2load.sh [--rounds N] [--seconds S | -n REQUESTS] [--concurrency C] [--streams M]
# Env (flags win): ROUNDS (5), SECONDS (10 per target per round), N (requests per run; replaces SECONDS),
#   CONCURRENCY (h2load -c, connections; 8), STREAMS (h2load -m, streams per connection; 8),
#   THREADS (h2load -t; 1), WARMUP (seconds per target before round 1; 5), TARGETS ("echo-kestrel echo-grpc route report reports";
#   add route-notel for telemetry on vs off),
#   BATCH (outcomes per ReportOutcomes call; 100, at most 127),
#   FLEET (fleet file for the product; default: deploy/fleet.sample.yaml with every endpoint limit and class budget
#   raised to 1e11 tokens / 1e9 requests per minute, so quota never runs dry and Route answers its normal decision),
#   CONTROLPLANE (product executable; default its Release build), SKIP_BUILD=1, OUT (work dir; default a new /tmp dir).
# A Route answer smaller than the first (e.g. no_capacity, no endpoint, when the as-shipped limits run dry) counts
# as a failure in the Route row. Exit status: 0 when every call of every round succeeded (HTTP 200 and grpc-status 0), 1 otherwise.
# Credentials: the product is started with a fresh bootstrap admin key (CONTROLPLANE_ADMIN_KEY); with it the script
# creates a data-plane API key (POST /admin/v1/keys, role data-plane) and every target's calls carry
# 'authorization: Bearer <that key>' (the echoes ignore it; the request bytes stay the same for all targets).
set -euo pipefail

# Read before anything else: bash counts SECONDS up from the value it was given (0 when unset).
duration=$SECONDS
[[ $duration -gt 0 ]] || duration=10
rounds=${ROUNDS:-5}
requests=${N:-}
concurrency=${CONCURRENCY:-8}
streams=${STREAMS:-8}
threads=${THREADS:-1}
warmup=${WARMUP:-5}
targets=(${TARGETS:-echo-kestrel echo-grpc route report reports})
batch=${BATCH:-100}
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) duration=$2; requests=; shift 2 ;;
    -n|--requests) requests=$2; shift 2 ;;
    --concurrency|-c) concurrency=$2; shift 2 ;;
    --streams|-m) streams=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "grpc-h2load: unknown argument $1" >&2; exit 2 ;;
  esac
done
for v in rounds duration concurrency streams threads warmup batch; do
  [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || { echo "grpc-h2load: $v must be a positive integer" >&2; exit 2; }
done
[[ -z $requests || $requests =~ ^[0-9]+$ ]] || { echo "grpc-h2load: N must be a positive integer" >&2; exit 2; }
[[ $batch -le 127 ]] || { echo "grpc-h2load: BATCH must be at most 127 (one-byte varint in the ack)" >&2; exit 2; }
[[ $rounds -le 50 && $duration -le 300 ]] || { echo "grpc-h2load: at most 50 rounds of 300 s" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$(mktemp -d /tmp/grpc-h2load.XXXXXX)}
mkdir -p "$out"
echo_bin=$repo/bench/ControlPlane.Echo/bin/Release/net10.0/controlplane-echo
product_bin=${CONTROLPLANE:-$repo/src/ControlPlane.Server/bin/Release/net10.0/controlplane}
clk_tck=$(getconf CLK_TCK)
# Every call carries a credential (the product refuses calls without one; the echoes ignore it): a fresh bootstrap key
# (every role) for this run, handed to the product as CONTROLPLANE_ADMIN_KEY.
grpc_headers=(-H 'content-type: application/grpc' -H 'te: trailers')

log() { printf '%s\n' "$*" >&2; }
# shellcheck source=lib/servers.sh
source "$repo/bench/lib/servers.sh"

# --- tools ------------------------------------------------------------------------------------------------------------
if ! command -v h2load >/dev/null || ! command -v nghttp >/dev/null; then
  log "installing nghttp2-client (h2load, nghttp)"
  if [[ $(id -u) -eq 0 ]]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client >/dev/null; fi
fi

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "building Release (echo servers, product)"
  dotnet build -c Release -nologo -v q "$repo/bench/ControlPlane.Echo/ControlPlane.Echo.csproj" >&2
  [[ -n ${CONTROLPLANE:-} ]] || dotnet build -c Release -nologo -v q "$repo/src/ControlPlane.Server/ControlPlane.Server.csproj" >&2
fi
[[ -x $echo_bin && -x $product_bin ]] || { log "missing $echo_bin or $product_bin"; exit 1; }

# --- request bytes and fleet ------------------------------------------------------------------------------------------
"$echo_bin" frames --out "$out/frames" >&2
route_frame=$out/frames/route-request.grpc
outcome_frame=$out/frames/outcome.grpc
route_frame_size=$(stat -c %s "$route_frame")
decision_frame_size=$(stat -c %s "$out/frames/route-decision.grpc")
ack_frame_size=7 # OutcomeAck{accepted: 1}: 2 bytes of protobuf + the 5-byte prefix
# ReportOutcomes: BATCH length-prefixed Outcome messages in one request body (a client stream); its ack is
# OutcomeAck{accepted: BATCH}, also 7 bytes while BATCH < 128.
outcomes_frame=$out/frames/outcomes-x$batch.grpc
for _ in $(seq 1 "$batch"); do cat "$outcome_frame"; done > "$outcomes_frame"
if [[ -z ${FLEET:-} ]]; then
  FLEET=$out/fleet.bench.yaml
  raise_fleet_limits "$repo/deploy/fleet.sample.yaml" "$FLEET"
fi

# --- servers ----------------------------------------------------------------------------------------------------------
kestrel_port=$(free_port); grpc_port=$(free_port); product_port=$(free_port); admin_port=$(free_port)
"$echo_bin" serve --mode kestrel --listen "127.0.0.1:$kestrel_port" > "$out/echo-kestrel.log" 2>&1 & pids+=($!); kestrel_pid=$!
"$echo_bin" serve --mode grpc --listen "127.0.0.1:$grpc_port" > "$out/echo-grpc.log" 2>&1 & pids+=($!); grpc_pid=$!
admin_key=$(new_admin_key) # a fresh bootstrap admin key (never printed)
CONTROLPLANE_ADMIN_KEY=$admin_key "$product_bin" --storage memory --accept-unrouted-outcomes --fleet "$FLEET" \
  --grpc-listen "127.0.0.1:$product_port" --admin-listen "127.0.0.1:$admin_port" \
  > "$out/controlplane.log" 2>&1 & pids+=($!); product_pid=$!
wait_for "$out/echo-kestrel.log" 'listening' 60 "$kestrel_pid"
wait_for "$out/echo-grpc.log" 'listening' 60 "$grpc_pid"
wait_for "$out/controlplane.log" 'gRPC listening' 120 "$product_pid"
wait_for "$out/controlplane.log" 'Admin listening' 30 "$product_pid"
admin_auth=(-H "authorization: Bearer $admin_key")
# The data-plane key every call carries (Route, ReportOutcome(s) need the data-plane role).
data_plane_key=$(curl -sf "${admin_auth[@]}" -H 'content-type: application/json' -X POST "http://127.0.0.1:$admin_port/admin/v1/keys" \
  -d '{"name":"bench-h2load","roles":["data-plane"],"reason":"bench/grpc-h2load.sh load run"}' | sed -nE 's/.*"key":"([^"]+)".*/\1/p') || true
[[ $data_plane_key == cpk_* ]] || { log "could not create a data-plane key through POST /admin/v1/keys"; exit 1; }
declare -A key_of=([echo-kestrel]=$data_plane_key [echo-grpc]=$data_plane_key [route]=$data_plane_key [report]=$data_plane_key [reports]=$data_plane_key)
notel_port=; notel_pid=
if [[ " ${targets[*]} " == *" route-notel "* ]]; then
  notel_port=$(free_port); notel_admin=$(free_port)
  CONTROLPLANE_ADMIN_KEY=$admin_key "$product_bin" --storage memory --accept-unrouted-outcomes --fleet "$FLEET" --telemetry off \
    --grpc-listen "127.0.0.1:$notel_port" --admin-listen "127.0.0.1:$notel_admin" \
    > "$out/controlplane-notel.log" 2>&1 & pids+=($!); notel_pid=$!
  wait_for "$out/controlplane-notel.log" 'gRPC listening' 120 "$notel_pid"
  wait_for "$out/controlplane-notel.log" 'Admin listening' 30 "$notel_pid"
  key_of[route-notel]=$(curl -sf "${admin_auth[@]}" -H 'content-type: application/json' -X POST "http://127.0.0.1:$notel_admin/admin/v1/keys" \
    -d '{"name":"bench-h2load","roles":["data-plane"],"reason":"bench/grpc-h2load.sh load run"}' | sed -nE 's/.*"key":"([^"]+)".*/\1/p') || true
  [[ ${key_of[route-notel]} == cpk_* ]] || { log "could not create a data-plane key on the --telemetry off node"; exit 1; }
fi

declare -A url pid frame path_of
path_of[echo-kestrel]=/controlplane.v1.Routing/Route;  url[echo-kestrel]=http://127.0.0.1:$kestrel_port; pid[echo-kestrel]=$kestrel_pid; frame[echo-kestrel]=$route_frame
path_of[echo-grpc]=/controlplane.v1.Routing/Route;     url[echo-grpc]=http://127.0.0.1:$grpc_port;       pid[echo-grpc]=$grpc_pid;       frame[echo-grpc]=$route_frame
path_of[route]=/controlplane.v1.Routing/Route;         url[route]=http://127.0.0.1:$product_port;        pid[route]=$product_pid;        frame[route]=$route_frame
path_of[route-notel]=/controlplane.v1.Routing/Route;   url[route-notel]=http://127.0.0.1:$notel_port;     pid[route-notel]=$notel_pid;    frame[route-notel]=$route_frame
path_of[report]=/controlplane.v1.Routing/ReportOutcome; url[report]=http://127.0.0.1:$product_port;      pid[report]=$product_pid;       frame[report]=$outcome_frame
path_of[reports]=/controlplane.v1.Routing/ReportOutcomes; url[reports]=http://127.0.0.1:$product_port;   pid[reports]=$product_pid;      frame[reports]=$outcomes_frame
declare -A answer_type=([echo-kestrel]=route-request [echo-grpc]=route-decision [route]=route-decision [route-notel]=route-decision [report]=outcome-ack [reports]=outcome-ack)
# Every answer's DATA bytes: a failed gRPC call (trailers only) carries none, so bytes / size counts the good answers.
declare -A answer_size=([echo-kestrel]=$route_frame_size [echo-grpc]=$decision_frame_size [report]=$ack_frame_size)

# One call with nghttp: HTTP status and grpc-status from the headers and trailers, the answer decoded.
probe() { # target -> prints the decoded answer; fails unless :status 200 and grpc-status 0
  local t=$1 target_url="${url[$1]}${path_of[$1]}"
  nghttp -v -n -d "${frame[$t]}" "${grpc_headers[@]}" -H "authorization: Bearer ${key_of[$t]}" "$target_url" > "$out/probe-$t.txt" 2>&1 || true
  grep -q ':status: 200' "$out/probe-$t.txt" && grep -q 'grpc-status: 0$' "$out/probe-$t.txt" || { cat "$out/probe-$t.txt" >&2; return 1; }
  nghttp -d "${frame[$t]}" "${grpc_headers[@]}" -H "authorization: Bearer ${key_of[$t]}" "$target_url" > "$out/probe-$t.bin"
  "$echo_bin" decode "${answer_type[$t]}" "$out/probe-$t.bin"
}
# Route's decision ids end in the node's decision counter (hex), which every answered Route advances by one.
# Server-side counts are extra checks: if a later product changes its id format or admin API they print "n/a" and
# the answer bytes alone decide (a failed call carries no DATA).
# The node's decision counter, read from a fresh decision id: base64url of a 45-byte record whose bytes 5..12 are the
# decision number, big-endian (src/ControlPlane.Service/DataPlane/DecisionIds.cs).
decision_number() { # target (route or route-notel)
  local id; id=$(probe "$1" | sed -nE 's/.*"decisionId": "([^"]*)".*/\1/p') || true
  /usr/bin/python3 -c 'import base64, sys
s = sys.argv[1]
try:
    b = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    print(int.from_bytes(b[5:13], "big") if len(b) in (45, 48) else "n/a")
except Exception:
    print("n/a")' "$id"
}
class_events() {
  local n; n=$(curl -sf "${admin_auth[@]}" "http://127.0.0.1:$admin_port/admin/v1/classes/customer_chat" | sed -nE 's/.*"availability":\{[^}]*"events":([0-9]+).*/\1/p') || true
  echo "${n:-n/a}"
}
# Outcomes are queued and flushed to the grains every 50 ms: wait until the class's event count stops moving.
settled_class_events() {
  local last=-1 now
  for _ in $(seq 1 50); do now=$(class_events); [[ $now == "$last" ]] && { echo "$now"; return; }; last=$now; sleep 0.2; done
  echo "$now"
}
# This shell's reaped children (cutime + cstime, fields 16, 17): around one h2load run, that is h2load's CPU time.
client_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }

log "sanity check (one call each, :status and grpc-status from the trailers, answer decoded):"
for t in "${targets[@]}"; do
  for _ in $(seq 1 100); do probe "$t" > "$out/sanity-$t.json" 2>/dev/null && break; sleep 0.2; done # the node answers UNAVAILABLE until ready
  answer=$(probe "$t") || { log "  $t: FAILED"; exit 1; }
  log "  $t ${path_of[$t]}: HTTP 200, grpc-status 0: $answer"
done
if [[ " ${targets[*]} " == *" route "* || " ${targets[*]} " == *" route-notel "* ]]; then
  first_route=route; [[ " ${targets[*]} " == *" route "* ]] || first_route=route-notel
  sed -n 's/.*"endpointId": "\([^"]*\)".*/\1/p' "$out/sanity-$first_route.json" | grep -q . || { log "route answered without an endpoint (no capacity?)"; exit 1; }
  # Decision ids have a fixed length; answers differ by the chosen endpoint's names (gpt-4o vs gpt-4.1): the byte
  # count is a floor of good answers at the smallest one, and the node's decision counter is the exact figure.
  route_min_size=$(( $(stat -c %s "$out/probe-$first_route.bin") - 8 ))
fi

h2load_args=(-c "$concurrency" -m "$streams" -t "$threads" "${grpc_headers[@]}")
if [[ -n $requests ]]; then run_args=(-n "$requests"); limit=600; else run_args=(-D "$duration"); limit=$(( duration + 60 )); fi
h2load_cmd="h2load -c $concurrency -m $streams -t $threads ${run_args[*]} -d FRAME -H 'content-type: application/grpc' -H 'te: trailers' -H 'authorization: Bearer DATA_PLANE_KEY' --log-file LOG URL"

log "warm-up: ${warmup}s per target"
for t in "${targets[@]}"; do
  timeout $(( warmup + 60 )) h2load "${h2load_args[@]}" -H "authorization: Bearer ${key_of[$t]}" -D "$warmup" -d "${frame[$t]}" "${url[$t]}${path_of[$t]}" > "$out/warmup-$t.txt" 2>&1 \
    || { log "warm-up of $t failed"; cat "$out/warmup-$t.txt" >&2; exit 1; }
done

num() { sed -nE "$2" "$1" | head -1; }

declare -A calls_s p50 p99 cpu hcpu fails
failed_total=0
printf '%-6s %-13s %9s %9s %8s %8s %11s %11s %8s  %s\n' round target calls/s ok_calls p50_ms p99_ms server_us/call h2load_us/call failures check >&2
for r in $(seq 1 "$rounds"); do
  order=("${targets[@]}")
  if (( r % 2 == 0 )); then order=(); for (( i=${#targets[@]}-1; i>=0; i-- )); do order+=("${targets[i]}"); done; fi
  for t in "${order[@]}"; do
    run=$out/r$r-$t
    before_server=; events=n/a
    case $t in route|route-notel) before_server=$(decision_number "$t") ;; report|reports) before_server=$(settled_class_events) ;; esac
    c0=$(cpu_ticks "${pid[$t]}"); h0=$(client_ticks)
    timeout "$limit" h2load "${h2load_args[@]}" -H "authorization: Bearer ${key_of[$t]}" "${run_args[@]}" -d "${frame[$t]}" --log-file "$run.log" "${url[$t]}${path_of[$t]}" > "$run.txt" 2>&1 \
      || { log "h2load failed for $t:"; cat "$run.txt" >&2; exit 1; }
    c1=$(cpu_ticks "${pid[$t]}"); h1=$(client_ticks)
    secs=$(num "$run.txt" 's/^finished in ([0-9.]+)s,.*/\1/p')
    done_=$(num "$run.txt" 's/^requests: .* ([0-9]+) done,.*/\1/p')
    http_ok=$(num "$run.txt" 's/^status codes: ([0-9]+) 2xx,.*/\1/p')
    data=$(num "$run.txt" 's/^traffic: .*\(([0-9]+)\) data$/\1/p')
    # gRPC-level successes: exact by the answer bytes where every good answer has the same size, and by the server's
    # own count for the product (Route: the decision counter; report: outcomes the class grain recorded).
    case $t in
      route|route-notel)
        after_server=$(decision_number "$t")
        server_ok=n/a; [[ $after_server == n/a || $before_server == n/a ]] || server_ok=$(( after_server - before_server - 1 )) # minus the probe
        by_bytes=$(( data / route_min_size ))
        grpc_ok=$(( by_bytes < http_ok ? by_bytes : http_ok )); [[ $server_ok == n/a ]] || grpc_ok=$(( server_ok < grpc_ok ? server_ok : grpc_ok ))
        check="server decisions $server_ok (in flight at the cut-off <= $(( concurrency * streams )) more), data / ${route_min_size}B = $by_bytes" ;;
      report|reports)
        per_call=1; [[ $t == reports ]] && per_call=$batch
        grpc_ok=$(( data / ack_frame_size < http_ok ? data / ack_frame_size : http_ok ))
        after_server=$(settled_class_events)
        events=n/a; [[ $after_server == n/a || $before_server == n/a ]] || events=$(( (after_server - before_server) / per_call ))
        check="acks $(( data / ack_frame_size )) x $per_call outcomes, class events / $per_call = +$events (>= acks; in flight at the cut-off <= $(( concurrency * streams )))" ;;
      *)
        size=${answer_size[$t]}
        grpc_ok=$(( data / size < http_ok ? data / size : http_ok ))
        check="data = ${size} B x $(( data / size )) + $(( data % size )) B" ;;
    esac
    failures=$(( done_ - grpc_ok ))
    # An acknowledged outcome the class grain never recorded is a failure too.
    if [[ ($t == report || $t == reports) && $events != n/a && $events -lt $grpc_ok ]]; then failures=$(( failures + grpc_ok - events )); fi
    failed_total=$(( failed_total + failures ))
    awk '$2 >= 200 && $2 < 300 { print $3 }' "$run.log" > "$run.us"
    calls_s[$t,$r]=$(awk -v n="$grpc_ok" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
    p50[$t,$r]=$(percentile "$run.us" 0.50)
    p99[$t,$r]=$(percentile "$run.us" 0.99)
    cpu[$t,$r]=$(awk -v d="$(( c1 - c0 ))" -v hz="$clk_tck" -v n="$grpc_ok" 'BEGIN { printf "%.1f", (n > 0 ? d / hz / n * 1e6 : 0) }')
    hcpu[$t,$r]=$(awk -v d="$(( h1 - h0 ))" -v hz="$clk_tck" -v n="$grpc_ok" 'BEGIN { printf "%.1f", (n > 0 ? d / hz / n * 1e6 : 0) }')
    fails[$t]=$(( ${fails[$t]:-0} + failures ))
    rm -f "$run.us"
    [[ ${KEEP_LOGS:-0} == 1 ]] || rm -f "$run.log"
    printf '%-6s %-13s %9s %9s %8s %8s %11s %11s %8s  %s\n' "$r" "$t" "${calls_s[$t,$r]}" "$grpc_ok" "${p50[$t,$r]}" "${p99[$t,$r]}" "${cpu[$t,$r]}" "${hcpu[$t,$r]}" "$failures" "$check" >&2
  done
done

# --- summary (stdout) -------------------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? 100 * a / b : 0) }'; }
col() { local t=$1 r vals=(); local -n arr=$2; for r in $(seq 1 "$rounds"); do vals+=("${arr[$t,$r]}"); done; awk -v v="$(median "${vals[@]}")" -v f="$3" 'BEGIN { printf f, v }'; }
echo "gRPC data plane under h2load: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit $(git -C "$repo" rev-parse --short HEAD), $(h2load --version | head -1), dotnet $(dotnet --version 2>/dev/null || echo '?')"
echo "per run: $h2load_cmd; $rounds rounds, order reversed every other round; warm-up ${warmup}s per target"
echo "route frame ${route_frame_size} B, outcome frame $(stat -c %s "$outcome_frame") B; fleet $FLEET"
printf '%-13s %-38s %9s %8s %8s %15s %15s %8s\n' target path 'calls/s' 'p50 ms' 'p99 ms' 'server us/call' 'h2load us/call' failures
for t in "${targets[@]}"; do
  printf '%-13s %-38s %9s %8s %8s %15s %15s %8s\n' "$t" "${path_of[$t]}" "$(col "$t" calls_s %.0f)" "$(col "$t" p50 %.3f)" "$(col "$t" p99 %.3f)" \
    "$(col "$t" cpu %.1f)" "$(col "$t" hcpu %.1f)" "${fails[$t]}"
done
if [[ " ${targets[*]} " == *" reports "* ]]; then
  echo "reports: $(awk -v c="$(col reports calls_s %.1f)" -v b="$batch" 'BEGIN { printf "%.0f", c * b }') outcomes/s ($batch outcomes per ReportOutcomes call; server $(awk -v u="$(col reports cpu %.3f)" -v b="$batch" 'BEGIN { printf "%.2f", u / b }') us of CPU per outcome)"
fi
echo "(medians over rounds; calls/s counts calls answered with HTTP 200 and grpc-status 0; report: 1 outcome per call, so outcomes/s = calls/s;"
echo " server us/call: utime+stime of the server process over the run / calls; h2load us/call: the client's own CPU)"
for base in echo-kestrel echo-grpc; do
  for t in route route-notel report; do
    [[ " ${targets[*]} " == *" $t "* && " ${targets[*]} " == *" $base "* ]] || continue
    per=(); for r in $(seq 1 "$rounds"); do per+=("$(ratio "${calls_s[$t,$r]}" "${calls_s[$base,$r]}")"); done
    echo "$t / $base: $(ratio "$(col "$t" calls_s %.1f)" "$(col "$base" calls_s %.1f)") % of the medians; per round ${per[*]} %; median per round $(median "${per[@]}") %"
  done
done
if [[ " ${targets[*]} " == *" route "* && " ${targets[*]} " == *" route-notel "* ]]; then
  per=(); for r in $(seq 1 "$rounds"); do per+=("$(ratio "${calls_s[route,$r]}" "${calls_s[route-notel,$r]}")"); done
  echo "route (telemetry on) / route-notel (off): $(ratio "$(col route calls_s %.1f)" "$(col route-notel calls_s %.1f)") % of the medians; per round ${per[*]} %; server us/call $(col route cpu %.1f) vs $(col route-notel cpu %.1f)"
fi
echo "work dir $out"
[[ $failed_total -eq 0 ]]
