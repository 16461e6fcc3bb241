#!/usr/bin/env bash
# Installs what the tests need beyond the .NET SDK on a fresh Debian machine:
# Debian packages (real redis-server, Python grpcio C-core client, nghttp2 tools, gRPC protos, chromium for the
# dashboard's Playwright tests: the driver ships in the Microsoft.Playwright NuGet package with its own node)
# and the pinned npm packages of the grpc-js interop client. Idempotent and quick when warm.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

debs=(redis-server python3-grpcio python3-protobuf nghttp2-client grpc-proto chromium prometheus)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-test-deps: apt-get install ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The Debian package starts a system redis on 6379; tests start their own on free ports.
  if command -v systemctl >/dev/null 2>&1; then $sudo_cmd systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
  # prometheus (promtool, and a real server for the scrape test) starts a system service on :9090: tests run their own.
  if command -v systemctl >/dev/null 2>&1; then $sudo_cmd systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
  if [ -x /etc/init.d/prometheus ]; then $sudo_cmd /etc/init.d/prometheus stop >/dev/null 2>&1 || true; fi
fi

# Node.js and npm (Debian's nodejs/npm) for the npm packages below, when the machine has none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-test-deps: apt-get install nodejs npm"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# npm packages for the grpc-js interop client, the schema validator and the Portkey gateway of the comparison
# (bench/portkey, run by tests/ControlPlane.Drills.Tests/Targets/PortkeyTargetTests), pinned by package-lock.json.
for dir in "$root"/tests/interop/node "$root"/deploy/validate "$root"/bench/portkey; do
  if [ -f "$dir/package-lock.json" ]; then
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "install-test-deps: npm ci in ${dir#$root/}"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
done
