#!/usr/bin/env bash
# Benchmarks the Herald Redis client against redis-benchmark on a private redis-server.
# Builds herald-redis-bench in release mode, starts redis-server on a free loopback port with its own
# temporary directory, runs the benchmark (extra arguments are passed on, e.g. --requests 500000),
# and always stops the server. HERALD_BENCH_BIN=path skips the build and runs that binary instead;
# HERALD_BENCH_BUILD_FLAGS adds swift build flags (e.g. "--scratch-path .build-bench").
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${HERALD_BENCH_BIN:-}" ]]; then
  bench=$HERALD_BENCH_BIN
else
  read -r -a flags <<<"${HERALD_BENCH_BUILD_FLAGS:-}"
  swift build -c release "${flags[@]}" --product herald-redis-bench
  bench="$(swift build -c release "${flags[@]}" --show-bin-path)/herald-redis-bench"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize no \
  --logfile "$dir/redis.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT

for _ in $(seq 1 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$dir/redis.log"; exit 1; }
  sleep 0.05
done
redis-cli -p "$port" ping >/dev/null

"$bench" --url "redis://127.0.0.1:$port" "$@"
