#!/usr/bin/env bash
# Runs Herald on this machine: installs what is missing, builds, starts a private redis-server
# (unless HERALD_REDIS_URL is set), one relay, two workers and the gateway, prints the chat
# page's URL, and stops everything cleanly on Ctrl-C.
#   HERALD_PORT=8080           the gateway's port (0: any free port; the URL printed names it)
#   HERALD_BUILD=release       build configuration (debug builds faster)
#   HERALD_WORKERS=2           how many workers to start
#   HERALD_SKIP_BUILD=1        use the binaries already built
#   HERALD_BIN_DIR=path        where those binaries are (default: SwiftPM's bin folder)
#   HERALD_RUN_DIR=path        where the logs go (default: a new temporary folder)
set -euo pipefail
cd "$(dirname "$0")/.."

config=${HERALD_BUILD:-release}
workers=${HERALD_WORKERS:-2}
export HERALD_PORT=${HERALD_PORT:-8080}

scripts/install-deps.sh
if [ -z "${HERALD_SKIP_BUILD:-}" ]; then
  echo "building ($config)…"
  swift build -c "$config" --product herald-gateway
  swift build -c "$config" --product herald-worker
  swift build -c "$config" --product herald-relay
fi
bin=${HERALD_BIN_DIR:-$(swift build -c "$config" --show-bin-path)}

if [ -n "${HERALD_RUN_DIR:-}" ]; then
  state=$HERALD_RUN_DIR
  mkdir -p "$state"
else
  state=$(mktemp -d -t herald-run.XXXXXX)
fi
pids=()
names=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping Herald…"
  # Herald's processes first, so none of them logs a lost Redis connection; Redis last.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    [ "${names[$i]}" = redis ] || kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    [ "${names[$i]}" = redis ] || wait "${pids[$i]}" 2>/dev/null || true
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    [ "${names[$i]}" != redis ] || { kill -TERM "${pids[$i]}" 2>/dev/null; wait "${pids[$i]}" 2>/dev/null; } || true
  done
  echo "stopped. logs are in $state"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Names the processes that are no longer running, with the end of their logs.
report_exited() {
  local i
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "${names[$i]} exited; the end of $state/${names[$i]}.log:" >&2
      tail -n 20 "$state/${names[$i]}.log" >&2 || true
    fi
  done
}

start() { # name, then the command; its output goes to $state/name.log
  local name=$1; shift
  "$@" >"$state/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
}

if [ -z "${HERALD_REDIS_URL:-}" ]; then
  # Redis needs a port number before it starts. One chosen by the kernel a moment ago can be taken
  # by another program's outgoing connection before redis-server binds it: then choose again.
  for attempt in 1 2 3 4 5; do
    redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state"
    for _ in $(seq 1 100); do
      redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
      kill -0 "${pids[-1]}" 2>/dev/null || break
      sleep 0.1
    done
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    kill -TERM "${pids[-1]}" 2>/dev/null || true
    wait "${pids[-1]}" 2>/dev/null || true
    unset 'pids[-1]' 'names[-1]'
    if [ "$attempt" = 5 ]; then
      echo "redis-server did not start; its log:" >&2
      tail -n 20 "$state/redis.log" >&2
      exit 1
    fi
  done
  export HERALD_REDIS_URL="redis://127.0.0.1:$redis_port"
fi

# Port 0: each relay and worker binds its operator port itself, so no two can race for one.
HERALD_ADMIN_PORT=${HERALD_ADMIN_PORT:-0}
export HERALD_ADMIN_PORT
start relay "$bin/herald-relay"
for i in $(seq 1 "$workers"); do
  start "worker-$i" "$bin/herald-worker"
done
start gateway "$bin/herald-gateway"

# The gateway logs the port it bound, which is how HERALD_PORT=0 is resolved.
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's/.*port=\([0-9][0-9]*\) \[herald_gateway\] gateway listening.*/\1/p' "$state/gateway.log" | head -n 1)
  if [ -n "$port" ] && curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  port=""
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "the gateway did not become ready; its log:" >&2
  tail -n 20 "$state/gateway.log" >&2
  exit 1
fi
for pid in "${pids[@]}"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    report_exited
    exit 1
  fi
done

echo
echo "Herald is running: open http://127.0.0.1:$port/ (Ctrl-C stops it)"
echo "Redis: $HERALD_REDIS_URL · logs: $state"
wait -n "${pids[@]}" || true
echo "a Herald process exited:" >&2
report_exited
