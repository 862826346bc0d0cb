#!/usr/bin/env bash
# Runs Herald's whole test suite: installs what is missing, builds, runs the Swift tests
# (each suite starts its own redis-server and the built executables), fuzzes the two parsers of untrusted
# bytes for a bounded time, then drives the chat page
# in headless Chromium against a deployment started from the same build.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test
python3 -m pytest -q Tests/deploy
swift build --build-tests
bin=$(swift build --show-bin-path)
HERALD_BIN_DIR="$bin" swift test --skip-build
# The client-message decoder and the RESP reply path under libFuzzer, 30 s each (Fuzz/README.md).
Fuzz/run.sh 30

mkdir -p artifacts
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
HERALD_PORT=$port HERALD_SKIP_BUILD=1 HERALD_BUILD=debug HERALD_OFFLINE_DELAY_MS=5 scripts/run.sh >artifacts/browser-deployment.log 2>&1 &
deployment=$!
trap 'kill -TERM $deployment 2>/dev/null; wait $deployment 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  grep -q "Herald is running" artifacts/browser-deployment.log 2>/dev/null && break
  kill -0 $deployment 2>/dev/null || { cat artifacts/browser-deployment.log; exit 1; }
  sleep 0.2
done
HERALD_URL="http://127.0.0.1:$port/" python3 -m pytest -q Tests/browser
