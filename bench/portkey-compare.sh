#!/usr/bin/env bash
# Side by side with Portkey (docs/comparison.md): the same outage drill through our stack (3 reference proxies + the
# control plane) and through 3 replicas of the Portkey AI gateway 1.15.2 (bench/portkey, bound to 127.0.0.1), then a
# table of both reports, plus the gateway's own per-request overhead (no fault, simulator answering at once).
#   bench/portkey-compare.sh [--short] [--scenario NAME|FILE] [--replicas N] [--cluster 1|3] [--out DIR] [--skip-overhead]
# Needs: Release builds of src/ControlPlane.Server and src/ControlPlane.Simulator (built here when missing), Node.js, `npm ci` in bench/portkey
# (scripts/install-test-deps.sh does both). Writes DIR/ours/<scenario>/{report.html,summary.json},
# DIR/portkey/<scenario>/..., DIR/overhead.json and DIR/comparison.md (default DIR: artifacts/comparison).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scenario="outage"; replicas=3; cluster=1; out="$root/artifacts/comparison"; short=(); overhead=1
while (($#)); do
  case "$1" in
    --short) short=(--short); shift ;;
    --scenario) scenario="${2:?--scenario NAME}"; shift 2 ;;
    --replicas) replicas="${2:?--replicas N}"; shift 2 ;;
    --cluster) cluster="${2:?--cluster 1|3}"; shift 2 ;;
    --out) out="${2:?--out DIR}"; shift 2 ;;
    --skip-overhead) overhead=0; shift ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "portkey-compare: unexpected argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$replicas" =~ ^[1-8]$ ]] || { echo "portkey-compare: --replicas must be 1..8" >&2; exit 2; }
[[ "$cluster" =~ ^[13]$ ]] || { echo "portkey-compare: --cluster must be 1 or 3" >&2; exit 2; }
command -v node >/dev/null || { echo "portkey-compare: node is missing: run scripts/install-test-deps.sh" >&2; exit 2; }
[[ -f "$root/bench/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" ]] \
  || { echo "portkey-compare: the gateway is not installed: run scripts/install-test-deps.sh (npm ci in bench/portkey)" >&2; exit 2; }

exe="$root/src/ControlPlane.Server/bin/Release/net10.0/controlplane"
sim="$root/src/ControlPlane.Simulator/bin/Release/net10.0/ControlPlane.Simulator"
if [[ ! -x "$exe" ]]; then
  echo "portkey-compare: building src/ControlPlane.Server (Release)"
  dotnet build "$root/src/ControlPlane.Server" -c Release -nologo -v q
fi
if ((overhead)) && [[ ! -x "$sim" ]]; then
  echo "portkey-compare: building src/ControlPlane.Simulator (Release)"
  dotnet build "$root/src/ControlPlane.Simulator" -c Release -nologo -v q
fi
mkdir -p "$out"
cd "$root"

# Each drill exits 1 when one of its targets (SLO lines) failed: expected for some lines, not a reason to stop.
run_drill() { # $1 = target, $2 = out dir
  local rc=0
  "$exe" drill "$scenario" --target "$1" --replicas "$replicas" --cluster "$cluster" --out "$2" "${short[@]}" || rc=$?
  if ((rc > 1)); then echo "portkey-compare: drill --target $1 failed to run (exit $rc)" >&2; exit "$rc"; fi
  echo "$rc" > "$2/exit-code"
}
echo "== ours: $replicas proxies + control plane ($cluster node(s))"
run_drill proxy "$out/ours"
echo "== portkey: $replicas gateway replicas"
run_drill portkey "$out/portkey"

name="$(basename "${scenario%.yaml}")"
if ((overhead)); then
  echo "== overhead: one gateway replica vs direct, no fault, simulator answering at once"
  work="$(mktemp -d /tmp/portkey-overhead.XXXXXX)"
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  "$sim" --fleet "$root/deploy/fleet.sample.yaml" --latency-scale 0 --upstreams-out "$work/upstreams.json" \
    >"$work/sim.log" 2>&1 &
  pids+=($!)
  "$root/bench/portkey/gateway.sh" 0 >"$work/gateway.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do
    [[ -s "$work/upstreams.json" ]] && grep -q '^portkey-listening' "$work/gateway.log" && break
    sleep 0.1
  done
  port="$(sed -n 's/^portkey-listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/gateway.log" | head -1)"
  [[ -n "$port" && -s "$work/upstreams.json" ]] || { echo "portkey-compare: simulator or gateway did not start" >&2; cat "$work"/*.log >&2; exit 1; }
  node "$root/bench/portkey/overhead.mjs" --upstreams "$work/upstreams.json" --endpoint openai-gpt4o-us \
    --gateway "http://127.0.0.1:$port" --n 1000 --warmup 100 | tee "$out/overhead.json"
fi

node "$root/bench/portkey/compare-table.mjs" "$out/ours/$name/summary.json" "$out/portkey/$name/summary.json" \
  "$out/overhead.json" > "$out/comparison.md"
cat "$out/comparison.md"
echo "reports: $out/ours/$name/report.html $out/portkey/$name/report.html"
