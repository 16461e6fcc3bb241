#!/usr/bin/env bash
# Starts one Portkey AI gateway replica (@portkey-ai/gateway, pinned in package-lock.json) bound to 127.0.0.1.
#   bench/portkey/gateway.sh [PORT]      (PORT 0 or none: the OS picks a free port)
# Prints `portkey-listening 127.0.0.1:<port>` once it accepts connections. The gateway itself has no host option
# (it binds every interface); bind-loopback.mjs rewrites its listen() to loopback before the socket is bound.
# Headless (no log UI, no /log/stream) and NODE_ENV=production (no static UI routes), as a deployment would run it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
port="${1:-0}"
[[ "$port" =~ ^[0-9]{1,5}$ ]] && ((port <= 65535)) || { echo "gateway.sh: port must be 0..65535, got '$port'" >&2; exit 2; }
entry="$here/node_modules/@portkey-ai/gateway/build/start-server.js"
[ -f "$entry" ] || { echo "gateway.sh: run 'npm ci' in bench/portkey first (missing $entry)" >&2; exit 2; }
export NODE_ENV=production
exec node --import "$here/bind-loopback.mjs" "$entry" "--port=$port" --headless
