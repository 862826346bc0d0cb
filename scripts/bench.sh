#!/usr/bin/env bash
# Herald's benchmark suite: builds the executables in release mode, starts a private deployment
# (redis-server on a free loopback port, one relay, two workers, the gateway, HERALD_OFFLINE_DELAY_MS=0),
# runs every stage against it, and prints ONE table with every figure, its target and its ratio to
# redis-benchmark on the same Redis. Everything it started is stopped at the end, even on failure or Ctrl-C.
# See Benchmarks/README.md for how to read the table.
#
#   HERALD_SKIP_BUILD=1            use the binaries already built
#   HERALD_SCRATCH_PATH=.build     SwiftPM's build folder
#   HERALD_BIN_DIR=path            the binaries to run (default: that build folder's); e.g. to compare two builds
#   HERALD_BUILD=release           build configuration (debug only to try the script: its figures mean nothing)
#   BENCH_STAGES="ceiling client relay relay-mixed load path sse-load fanout idle idle-sse"   the stages to run, in this order
#                                  (relay-mixed: the relay fed event by event across threads; path: Herald fed at the
#                                  worker's boundary beside nginx + nchan on its own Redis; sse-load: the same runs as
#                                  AG-UI streams, beside a /ws load at the same rate; idle-sse: idle AG-UI streams, with
#                                  the workers stopped so no run is taken: it must come last. See Benchmarks/README.md)
#   BENCH_LOAD_SESSIONS=500  BENCH_LOAD_EVENTS=2000 (events/s; a probe run sets the run rate)
#   BENCH_LOAD_RATE=           runs/s in total instead of BENCH_LOAD_EVENTS
#   BENCH_LOAD_DURATION=30  BENCH_LOAD_WARMUP=5
#   BENCH_PATH_LOADS="1000:50 2000:100 10000:500"   path: events/s:sessions, each a side-by-side table
#   BENCH_PATH_DURATION=10  BENCH_PATH_ROUNDS=2  BENCH_NCHAN_WORKERS=1 (nginx worker processes)
#   BENCH_PATH_ARGS="--tap"        more herald-bench path options (--tap: time the relay's PUBLISH too)
#   BENCH_FANOUT_CONNECTIONS=100  BENCH_FANOUT_FRAMES=5000
#   BENCH_IDLE_CONNECTIONS=1000,10000
#   BENCH_LOG_LEVEL=info           the services' HERALD_LOG_LEVEL
#   BENCH_WORKER_CONCURRENCY=32    the workers' HERALD_WORKER_CONCURRENCY: with their default of 8 run slots
#                                  each, two workers cannot carry 2,000 events/s on two cores (README)
#   BENCH_STRICT=1                 exit 1 when a target is missed (default: only when a stage fails)
set -euo pipefail
cd "$(dirname "$0")/.."

scratch=${HERALD_SCRATCH_PATH:-.build}
config=${HERALD_BUILD:-release}
stages=${BENCH_STAGES:-ceiling client relay relay-mixed load path sse-load fanout idle idle-sse}
load_sessions=${BENCH_LOAD_SESSIONS:-500}
load_events=${BENCH_LOAD_EVENTS:-2000}
if [ -n "${BENCH_LOAD_RATE:-}" ]; then load_rate_args=(--runs-per-second "$BENCH_LOAD_RATE"); else load_rate_args=(--events-per-second "$load_events"); fi
load_duration=${BENCH_LOAD_DURATION:-30}
load_warmup=${BENCH_LOAD_WARMUP:-5}
fanout_connections=${BENCH_FANOUT_CONNECTIONS:-100}
fanout_frames=${BENCH_FANOUT_FRAMES:-5000}
idle_connections=${BENCH_IDLE_CONNECTIONS:-1000,10000}
log_level=${BENCH_LOG_LEVEL:-info}

has_stage() { [[ " $stages " == *" $1 "* ]]; }
needs_gateway() { has_stage load || has_stage path || has_stage sse-load || has_stage fanout || has_stage idle || has_stage idle-sse; }

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  scripts/install-deps.sh
fi
if has_stage path && [ ! -f /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
  scripts/install-deps.sh --bench-peer
fi

suite_start=$(date +%s)
if [ -z "${HERALD_SKIP_BUILD:-}" ]; then
  products="herald-worker herald-relay herald-bench herald-redis-bench"
  needs_gateway && products="herald-gateway $products"
  for product in $products; do
    echo "building $product ($config)…"
    swift build -c "$config" --scratch-path "$scratch" --product "$product"
  done
fi
bin=${HERALD_BIN_DIR:-$(swift build -c "$config" --scratch-path "$scratch" --show-bin-path)}
for product in herald-worker herald-relay herald-bench; do
  [ -x "$bin/$product" ] || { echo "$bin/$product is not built" >&2; exit 1; }
done
if needs_gateway && [ ! -x "$bin/herald-gateway" ]; then
  echo "$bin/herald-gateway is not built" >&2
  exit 1
fi
build_seconds=$(( $(date +%s) - suite_start ))

# Thousands of sockets: the idle stage needs more than the usual 1024 files, here and in the gateway.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
largest_idle=${idle_connections##*,}
if has_stage idle && [ "$(ulimit -n)" -lt $(( largest_idle + 200 )) ]; then
  echo "warning: ulimit -n is $(ulimit -n), below the $largest_idle idle connections plus headroom" >&2
fi

# Every figure assumes the machine is otherwise idle; say so when it is not.
read -r load1 _ < /proc/loadavg
echo "machine: $(nproc) cores, load average $load1"
if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
  echo "warning: the machine is busy (load average $load1): figures will be skewed; see the 'other processes' CPU rows" >&2
fi

state=$(mktemp -d -t herald-bench.XXXXXX)
results="$state/results.jsonl"
: >"$results"
pids=()
worker_pids=()
gateway_pid=""
stop_all() {
  trap - INT TERM EXIT
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped the deployment; logs and results are in $state"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_ready() { # name port pid
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.05
  done
  echo "$1 did not become ready; its log:" >&2
  tail -n 30 "$state/$1.log" >&2
  return 1
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state" \
  --maxclients 20000 --logfile "$state/redis.log" &
pids+=($!)
watch=(--watch "redis-server=$!")
redis_url="redis://127.0.0.1:$redis_port"
for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$redis_port" ping >/dev/null

export HERALD_REDIS_URL=$redis_url HERALD_OFFLINE_DELAY_MS=0 HERALD_LOG_LEVEL=$log_level
export HERALD_WORKER_CONCURRENCY=${BENCH_WORKER_CONCURRENCY:-32}
export HERALD_ADMIN_HOST=127.0.0.1 HERALD_HOST=127.0.0.1
# Every simulated user is a guest from 127.0.0.1: the guest limits would stop the load, not measure it.
export HERALD_GUEST_NEW_PER_MINUTE=1000000 HERALD_GUEST_RUNS_PER_HOUR=1000000

relay_port=$(free_port)
HERALD_ADMIN_PORT=$relay_port "$bin/herald-relay" >"$state/relay.log" 2>&1 &
pids+=($!)
watch+=(--watch "relay=$!")
wait_ready relay "$relay_port" "${pids[-1]}"
for i in 1 2; do
  port=$(free_port)
  HERALD_ADMIN_PORT=$port "$bin/herald-worker" >"$state/worker-$i.log" 2>&1 &
  pids+=($!)
  worker_pids+=($!)
  watch+=(--watch "worker-$i=$!")
  wait_ready "worker-$i" "$port" "${pids[-1]}"
done

gateway_port=$(free_port)
start_gateway() {
  # The fan-out stage watches one thread from many connections of one guest: lift the per-user cap (default 20).
  HERALD_PORT=$gateway_port HERALD_MAX_CONNECTIONS_PER_USER=100000 "$bin/herald-gateway" >>"$state/gateway.log" 2>&1 &
  gateway_pid=$!
  pids+=("$gateway_pid")
  wait_ready gateway "$gateway_port" "$gateway_pid"
}
if needs_gateway; then start_gateway; fi
ws_url="ws://127.0.0.1:$gateway_port/ws"
echo "deployment up: redis $redis_url, relay admin :$relay_port, 2 workers × $HERALD_WORKER_CONCURRENCY runs, gateway $ws_url (logs: $state)"

failed=()
run_stage() { # name command…
  local name=$1
  shift
  echo
  echo "=== $name"
  local began=$(date +%s)
  if "$@"; then
    echo "=== $name done in $(( $(date +%s) - began )) s"
  else
    echo "=== $name FAILED (exit $?)" >&2
    failed+=("$name")
  fi
}

# nginx + nchan on its own redis-server (Benchmarks/nchan/nginx.conf), for the path stage; started once.
nchan_url=""
start_nchan() {
  [ -n "$nchan_url" ] && return 0
  local peer_redis_port nchan_port
  peer_redis_port=$(free_port)
  redis-server --port "$peer_redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$state" \
    --maxclients 20000 --logfile "$state/nchan-redis.log" &
  pids+=($!)
  nchan_watch=(--watch "nchan-redis=$!")
  for _ in $(seq 1 100); do redis-cli -p "$peer_redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
  nchan_port=$(free_port)
  sed -e "s|@PORT@|$nchan_port|g" -e "s|@REDIS_PORT@|$peer_redis_port|g" -e "s|@STATE@|$state|g" \
    -e "s|@WORKERS@|${BENCH_NCHAN_WORKERS:-1}|g" Benchmarks/nchan/nginx.conf >"$state/nginx.conf"
  # One worker runs without a master, so the process watched for CPU is the one doing the work.
  local directives='daemon off;'
  [ "${BENCH_NCHAN_WORKERS:-1}" = 1 ] && directives+=' master_process off;'
  # In a subshell that waits for it, so nginx's exit at the end is reported in its log, not here.
  (nginx -c "$state/nginx.conf" -p "$state" -g "$directives" || true) >"$state/nginx.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$nchan_port/pub?id=ready" -d x && break; sleep 0.05; done
  curl -fsS -o /dev/null "http://127.0.0.1:$nchan_port/pub?id=ready" -d x || { echo "nginx + nchan did not start:" >&2; cat "$state/nginx.log" "$state/nginx-error.log" >&2; return 1; }
  nchan_url="http://127.0.0.1:$nchan_port"
  nginx_pid=$(cat "$state/nginx.pid")
  pids+=("$nginx_pid")
  nchan_watch+=(--watch "nginx=$nginx_pid")
}

# Herald fed at the worker's boundary beside nginx + nchan, at each BENCH_PATH_LOADS rate; a table each.
path_stage() {
  start_nchan || return 1
  local load rate sessions status=0 target
  for load in ${BENCH_PATH_LOADS:-1000:50 2000:100 10000:500}; do
    rate=${load%%:*}
    sessions=${load##*:}
    target=()
    [ "$rate" -ge 10000 ] && target=(--target-p99 5)
    "$bin/herald-bench" path --herald-url "$ws_url" --redis-url "$redis_url" --nchan-url "$nchan_url" \
      --sessions "$sessions" --events-per-second "$rate" --duration "${BENCH_PATH_DURATION:-10}" \
      --rounds "${BENCH_PATH_ROUNDS:-2}" "${target[@]}" "${watch[@]}" --watch "gateway=$gateway_pid" "${nchan_watch[@]}" \
      ${BENCH_PATH_ARGS:-} --results "$results" || status=1
  done
  return $status
}

# The Herald Redis client beside redis-benchmark; its pipelined rows join the table.
client_stage() {
  local out="$state/redis-bench.txt"
  "$bin/herald-redis-bench" --url "$redis_url" --rounds 1 --requests 200000 | tee "$out" || return 1
  local name key value
  for key in publish xadd; do
    name=$( [ $key = publish ] && echo PUBLISH || echo XADD )
    value=$(awk -F'  +' -v n="$name pipelined" 'index($0, n) == 1 { gsub(/[ ,]|ops\/s/, "", $2); print $2 }' "$out")
    [ -n "$value" ] || continue
    printf '{"ceiling":"%s","key":"client.%s","label":"Herald Redis client %s pipelined (-P 16 -c 50)","stage":"ceiling","unit":"/s","value":%s}\n' \
      "$key" "$key" "$name" "$value" >>"$results"
  done
}

for stage in $stages; do
  case $stage in
    ceiling) run_stage ceiling "$bin/herald-bench" ceiling --redis-url "$redis_url" --results "$results" ;;
    client) run_stage client client_stage ;;
    relay) run_stage relay "$bin/herald-bench" relay --redis-url "$redis_url" --results "$results" ;;
    relay-mixed) run_stage relay-mixed "$bin/herald-bench" relay --interleave --redis-url "$redis_url" --results "$results" ;;
    load)
      run_stage load "$bin/herald-bench" load --url "$ws_url" --sessions "$load_sessions" "${load_rate_args[@]}" \
        --duration "$load_duration" --warmup "$load_warmup" --relay-metrics "http://127.0.0.1:$relay_port/metrics" \
        "${watch[@]}" --watch "gateway=$gateway_pid" --results "$results" ;;
    path) run_stage path path_stage ;;
    sse-load)
      # The same light load over /ws and over AG-UI streams, one after the other (Benchmarks/README.md, "SSE streams").
      run_stage sse-load-ws "$bin/herald-bench" load --url "$ws_url" --sessions 20 --runs-per-second 20 \
        --duration 15 --warmup 3 --gateway-metrics none --results-name ws-beside-sse --results "$results"
      run_stage sse-load "$bin/herald-bench" sse-load --port "$gateway_port" --sessions 20 --session-rate 1 \
        --duration 15 --warmup 3 --results "$results" ;;
    idle-sse)
      # Idle streams watch runs that no worker takes: the workers stop first, and a fresh gateway starts.
      for pid in "${worker_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
      for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
      kill -TERM "$gateway_pid" 2>/dev/null || true
      wait "$gateway_pid" 2>/dev/null || true
      if start_gateway; then
        # Target: within 1.5x of an idle WebSocket (issue 14), whose target is 20 KiB and figure 9.3 KiB.
        run_stage idle-sse "$bin/herald-bench" idle --transport sse --url "$ws_url" --gateway-pid "$gateway_pid" \
          --connections "$idle_connections" --target-ki-b 14 --results "$results"
      else
        failed+=(idle-sse)
      fi ;;
    fanout)
      run_stage fanout "$bin/herald-bench" fanout --url "$ws_url" --redis-url "$redis_url" \
        --connections "$fanout_connections" --frames "$fanout_frames" "${watch[@]}" --watch "gateway=$gateway_pid" --results "$results" ;;
    idle)
      # A fresh gateway: memory the allocator kept from the load stages would hide part of the cost.
      kill -TERM "$gateway_pid" 2>/dev/null || true
      wait "$gateway_pid" 2>/dev/null || true
      if start_gateway; then
        run_stage idle "$bin/herald-bench" idle --url "$ws_url" --gateway-pid "$gateway_pid" \
          --connections "$idle_connections" --results "$results"
      else
        failed+=(idle)
      fi ;;
    *) echo "unknown stage '$stage'" >&2; failed+=("$stage") ;;
  esac
done

echo
echo "================ Herald benchmark ($config build, $(nproc) cores; build ${build_seconds} s, suite $(( $(date +%s) - suite_start - build_seconds )) s) ================"
report_args=("$results")
[ -n "${BENCH_STRICT:-}" ] && report_args+=(--strict)
report_status=0
"$bin/herald-bench" report "${report_args[@]}" || report_status=$?
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed stages: ${failed[*]}" >&2
  exit 1
fi
exit "$report_status"
