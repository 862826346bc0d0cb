#!/usr/bin/env bash
# Runs Herald on this machine: installs what is missing, builds, starts a private redis-server
# (unless HERALD_REDIS_URL is set), one relay, two workers and the gateway, prints the chat
# page's URL, and stops everything cleanly on Ctrl-C.
#   HERALD_PORT=8080           the gateway's port
#   HERALD_BUILD=release       build configuration (debug builds faster)
#   HERALD_WORKERS=2           how many workers to start
#   HERALD_SKIP_BUILD=1        use the binaries already built
#   HERALD_BIN_DIR=path        where those binaries are (default: SwiftPM's bin folder)
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

state=$(mktemp -d -t herald-run.XXXXXX)
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping Herald…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped. logs were in $state"
}
trap stop INT TERM EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

if [ -z "${HERALD_REDIS_URL:-}" ]; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state" \
    --logfile "$state/redis.log" &
  pids+=($!)
  export HERALD_REDIS_URL="redis://127.0.0.1:$redis_port"
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

HERALD_ADMIN_PORT=$(free_port) "$bin/herald-relay" >"$state/relay.log" 2>&1 &
pids+=($!)
for i in $(seq 1 "$workers"); do
  HERALD_ADMIN_PORT=$(free_port) "$bin/herald-worker" >"$state/worker-$i.log" 2>&1 &
  pids+=($!)
done
"$bin/herald-gateway" >"$state/gateway.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$HERALD_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
if ! curl -fsS "http://127.0.0.1:$HERALD_PORT/readyz" >/dev/null 2>&1; then
  echo "the gateway did not become ready; its log:" >&2
  tail -n 20 "$state/gateway.log" >&2
  exit 1
fi

echo
echo "Herald is running: open http://127.0.0.1:$HERALD_PORT/ (Ctrl-C stops it)"
echo "Redis: $HERALD_REDIS_URL · logs: $state"
wait -n "${pids[@]}" || true
echo "a Herald process exited; see the logs in $state" >&2
