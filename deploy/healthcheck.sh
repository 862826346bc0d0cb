#!/usr/bin/env bash
# herald-healthcheck: the container healthcheck of the Herald image, which has no curl.
#   herald-healthcheck gateway|worker|relay|PORT [PATH]
# Sends GET PATH (default /readyz) to 127.0.0.1 on the service's port — the gateway's HERALD_PORT
# (default 8080), the worker's or relay's HERALD_ADMIN_PORT (default 9091 and 9092) — over bash's
# /dev/tcp, and exits 0 only when the answer's status is 200. /readyz answers 503 while Redis is
# unreachable, so the container shows "unhealthy" until Redis is back.
set -uo pipefail

target=${1:-}
path=${2:-/readyz}
case "$target" in
  gateway) port=${HERALD_PORT:-8080} ;;
  worker)  port=${HERALD_ADMIN_PORT:-9091} ;;
  relay)   port=${HERALD_ADMIN_PORT:-9092} ;;
  ''|*[!0-9]*) echo "usage: herald-healthcheck gateway|worker|relay|PORT [PATH]" >&2; exit 2 ;;
  *)       port=$target ;;
esac

if ! exec 3<>"/dev/tcp/127.0.0.1/$port"; then
  echo "nothing listens on port $port" >&2
  exit 1
fi
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUser-Agent: herald-healthcheck\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
status=""
IFS= read -r -t 5 status <&3 || true
exec 3<&- 3>&-
status=${status%$'\r'}
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  "") echo "no answer from port $port" >&2; exit 1 ;;
  *)  echo "$path on port $port: $status" >&2; exit 1 ;;
esac
