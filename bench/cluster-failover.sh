#!/usr/bin/env bash
# Cluster failover: time-to-answer after kill -9 and time-to-declared-dead after SIGSTOP of the silo hosting an
# endpoint grain, 3 real controlplane nodes on one real redis-server (loopback), --membership orleans vs fast.
#   bench/cluster-failover.sh [REPS]        (default 3; needs a Release build of src/ControlPlane.Server, redis-server, curl)
# kill -9: a survivor's GET /admin/v1/endpoints/ID answers again (attempts bounded at 2 s, every 100 ms).
# SIGSTOP: a survivor's GET /admin/v1/fleet answers (every grain reachable) with no grain left on the stopped silo
#          (attempts bounded at 6 s, every 100 ms), i.e. the silo was declared dead and its grains re-activated.
set -euo pipefail
reps="${1:-3}"
cap="${CAP:-90}"   # a measurement that reaches the cap is reported as the cap (not detected within it)
root="$(cd "$(dirname "$0")/.." && pwd)"
exe="$root/src/ControlPlane.Server/bin/Release/net10.0/controlplane"
[[ -x "$exe" ]] || { echo "build first: dotnet build src/ControlPlane.Server -c Release" >&2; exit 1; }
target=openai-gpt4o-us
work="$(mktemp -d /tmp/cp-failover.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]:-}"; do if [[ -n "$p" ]]; then kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; fi; done; pids=(); }
trap 'cleanup; rm -rf "$work"' EXIT
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now() { date +%s.%N; }

redis_port=$(freeport)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --logfile redis.log --daemonize no &
redis_pid=$!
trap 'cleanup; kill -9 $redis_pid 2>/dev/null; rm -rf "$work"' EXIT
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done

declare -A admin silo
start_cluster() { # $1 = membership profile, $2 = run id
  local prefix="fo-$2" i
  for i in 1 2 3; do
    admin[$i]=$(freeport); silo[$i]=$(freeport)
    Logging__LogLevel__Default=Warning "$exe" --redis "127.0.0.1:$redis_port" --node-name "n$i" --grpc-listen "127.0.0.1:$(freeport)" \
      --admin-listen "127.0.0.1:${admin[$i]}" --silo-port "${silo[$i]}" --gateway-port "$(freeport)" --cluster-prefix "$prefix" \
      --membership "$1" >"$work/$2-n$i.log" 2>&1 &
    pids[$i]=$!
    if [[ $i == 1 ]]; then until grep -qs '^Cluster node' "$work/$2-n1.log"; do sleep 0.1; done; fi
  done
  for i in 1 2 3; do
    until curl -sf -m 10 "http://127.0.0.1:${admin[$i]}/admin/v1/fleet" >/dev/null; do sleep 0.2; done
  done
}
host_node() { # node index hosting $target, asked through node $1
  local host; host=$(curl -sf -m 10 "http://127.0.0.1:${admin[$1]}/admin/v1/endpoints/$target" | python3 -c 'import json,sys;print(json.load(sys.stdin)["host"])')
  for i in 1 2 3; do [[ "$host" == *":${silo[$i]}:"* ]] && { echo "$i"; return; }; done
  echo "no node hosts $target ($host)" >&2; exit 1
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A results
for profile in orleans fast; do
  kills=(); stops=()
  for rep in $(seq 1 "$reps"); do
    start_cluster "$profile" "$profile-k$rep"
    v=$(host_node 1); s=$(( v % 3 + 1 ))
    t0=$(now); kill -9 "${pids[$v]}"
    until curl -sf -m 2 -o /dev/null "http://127.0.0.1:${admin[$s]}/admin/v1/endpoints/$target"; do
      (( $(echo "$(now) - $t0 > $cap" | bc) )) && break; sleep 0.1; done
    kills+=("$(echo "$(now) - $t0" | bc)"); cleanup
    echo "$profile kill -9 rep $rep: ${kills[-1]} s" >&2

    start_cluster "$profile" "$profile-s$rep"
    v=$(host_node 1); s=$(( v % 3 + 1 ))
    t0=$(now); kill -STOP "${pids[$v]}"
    while true; do
      body=$(curl -sf -m 6 "http://127.0.0.1:${admin[$s]}/admin/v1/fleet" || true)
      [[ -n "$body" && "$body" != *":${silo[$v]}:"* ]] && break
      (( $(echo "$(now) - $t0 > $cap" | bc) )) && break
      sleep 0.1
    done
    stops+=("$(echo "$(now) - $t0" | bc)"); cleanup
    echo "$profile SIGSTOP rep $rep: ${stops[-1]} s" >&2
  done
  results[$profile]="kill -9 median $(median "${kills[@]}") s (runs: ${kills[*]}); SIGSTOP median $(median "${stops[@]}") s (runs: ${stops[*]})"
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
for profile in orleans fast; do echo "--membership $profile: ${results[$profile]}"; done
