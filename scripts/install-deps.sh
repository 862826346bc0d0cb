#!/usr/bin/env bash
# Installs the system packages Herald needs, only when missing. Used by the README's commands,
# CI and deploy/Dockerfile alike, so every path exercises the same steps.
#   scripts/install-deps.sh           build and run: hiredis, redis-server, pkg-config
#   scripts/install-deps.sh --runtime only what the built executables need (libhiredis, CA certs)
#   scripts/install-deps.sh --test    also what the tests use: chromium, its driver, selenium, nginx, docker-compose,
#                                     the AG-UI Python SDK (ag-ui-protocol) and websockets
#   scripts/install-deps.sh --bench-peer  nginx with the nchan module, the peer of scripts/bench.sh's path stage
set -euo pipefail

mode=${1:-build}
packages=()
need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || packages+=("$1"); }

case "$mode" in
  --runtime)
    need libhiredis0.14; need ca-certificates ;;
  build|--build)
    need libhiredis-dev; need pkg-config; need redis-server; need ca-certificates ;;
  --test)
    need libhiredis-dev; need pkg-config; need redis-server; need ca-certificates
    need chromium; need chromium-driver; need python3-pip; need curl
    need nginx; need docker-compose ;;
  --bench-peer)
    need nginx; need libnginx-mod-nchan; need curl ;;
  *)
    echo "usage: $0 [--runtime|--test|--bench-peer]" >&2; exit 2 ;;
esac

if [ ${#packages[@]} -gt 0 ]; then
  echo "installing: ${packages[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [ "$mode" = "--test" ]; then
  # Python packages of the tests, each only when missing: selenium (Tests/browser), the AG-UI Python SDK
  # (ag-ui-protocol, imported as ag_ui) and websockets (Tests/agui).
  pip_need() { # import name, then the PyPI package
    python3 -c "import $1" 2>/dev/null || python3 -m pip install -q "$2" 2>/dev/null || python3 -m pip install -q --break-system-packages "$2"
  }
  pip_need selenium selenium
  pip_need ag_ui.core ag-ui-protocol
  pip_need websockets.sync.client websockets
  pip_need schemathesis 'schemathesis==4.*'
  # The official MCP SDK: the worker's MCP tests start servers written with it (Tests/mcp).
  pip_need mcp.server.mcpserver 'mcp>=2,<3'
  pip_need openapi_spec_validator openapi-spec-validator
fi
