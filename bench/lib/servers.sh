# Shared by the bench scripts that start local servers and load them with h2load (bench/grpc-h2load.sh,
# bench/proxy-overhead.sh). Source it after defining log() (one line to stderr); it defines functions and the `pids`
# array, and installs the EXIT trap that stops every server started into `pids` (SIGTERM, up to 10 s, then SIGKILL).
# shellcheck shell=bash

# A free loopback TCP port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# Servers started in the background: `cmd & pids+=($!)`.
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until a server's log has a line matching the pattern; fails (printing the log) if the server exits first or
# the time runs out.
wait_for() { # file pattern seconds pid
  for _ in $(seq 1 $(( $3 * 10 ))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || { log "server exited:"; cat "$1" >&2; return 1; }
    sleep 0.1
  done
  log "timed out waiting for '$2' in $1"; cat "$1" >&2; return 1
}

# A fresh bootstrap admin key: cpk_<12 of [a-z0-9]>_<base64url of 32 random bytes> (never printed).
new_admin_key() {
  local key_id; key_id=$(head -c 1024 /dev/urandom | LC_ALL=C tr -dc 'a-z0-9')
  echo "cpk_${key_id:0:12}_$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
}

# A copy of a fleet file with every endpoint limit and class budget raised to 1e11 tokens / 1e9 requests per minute
# (quota never runs dry); with --spend also every spend ceiling to 1e9 USD.
raise_fleet_limits() { # source destination [--spend]
  local spend=()
  [[ ${3:-} == --spend ]] && spend=(-e 's/usd_per_day: [0-9_]+/usd_per_day: 1_000_000_000/; s/usd_per_month: [0-9_]+/usd_per_month: 1_000_000_000/')
  sed -E -e 's/tpm: [0-9_]+/tpm: 100_000_000_000/; s/rpm: [0-9_]+/rpm: 1_000_000_000/' \
         -e 's/tokens_per_minute: [0-9_]+/tokens_per_minute: 100_000_000_000/; s/requests_per_minute: [0-9_]+/requests_per_minute: 1_000_000_000/' \
         "${spend[@]}" "$1" > "$2"
}

# A process's CPU time so far in clock ticks: utime + stime (/proc/<pid>/stat fields 14, 15).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# The p-quantile (nearest rank) of a file of microsecond figures, in milliseconds.
percentile() { sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { i = int(p * NR); if (i < p * NR) i++; if (i < 1) i = 1; printf "%.3f", a[i] / 1000 }'; }

# The median of the arguments ("nan" when none).
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
