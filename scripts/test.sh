#!/usr/bin/env bash
# Runs Herald's whole test suite: installs what is missing, builds, runs the Swift tests
# (each suite starts its own redis-server and the built executables), fuzzes the two parsers of untrusted
# bytes for a bounded time, then drives the chat page
# in headless Chromium against a deployment started from the same build, and speaks AG-UI to that deployment
# the way an outside client does (Tests/agui).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test
# The tree is formatted as .swift-format says (`swift format format --in-place --recursive .` fixes it).
swift format lint --strict --recursive --parallel Package.swift Shared Services Tests Fuzz Benchmarks
python3 -m pytest -q Tests/deploy
# The port of the AG-UI client's ordering checks, by itself (no deployment needed).
python3 -m pytest -q Tests/agui/test_agui_verify.py
swift build --build-tests
bin=$(swift build --show-bin-path)
# At most HERALD_TEST_PARALLELISM tests at a time (default 6). Many tests start a redis-server and two to
# six Herald processes; all of them at once on two cores starve them past the product's own timeouts (a
# 5 s connect, a 10 s upgrade), which tests rightly treat as failures.
HERALD_BIN_DIR="$bin" swift test --skip-build \
  --experimental-maximum-parallelization-width "${HERALD_TEST_PARALLELISM:-6}"
# The client-message decoder and the RESP reply path under libFuzzer, 30 s each (Fuzz/README.md).
Fuzz/run.sh 30

mkdir -p artifacts
rm -rf artifacts/browser-deployment
# Port 0: the gateway binds a free port itself and run.sh prints the URL naming it.
# A high API rate limit: schemathesis (Tests/api) sends hundreds of requests as one user in a few seconds, and
# the limit itself is tested by the Swift suites.
HERALD_PORT=0 HERALD_RUN_DIR=artifacts/browser-deployment HERALD_SKIP_BUILD=1 HERALD_BUILD=debug HERALD_OFFLINE_DELAY_MS=5 \
  HERALD_RATE_LIMIT_PER_SECOND=1000 HERALD_RATE_LIMIT_BURST=1000 HERALD_GUEST_NEW_PER_MINUTE=100000 HERALD_GUEST_RUNS_PER_HOUR=100000 \
  scripts/run.sh >artifacts/browser-deployment.log 2>&1 &
deployment=$!
trap 'kill -TERM $deployment 2>/dev/null; wait $deployment 2>/dev/null || true' EXIT
show_deployment() {
  echo "--- the browser tests' deployment (artifacts/browser-deployment.log):"
  cat artifacts/browser-deployment.log
  for log in artifacts/browser-deployment/*.log; do
    echo "--- the end of $log:"
    tail -n 30 "$log"
  done
}
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^Herald is running: open \(http[^ ]*\) .*/\1/p' artifacts/browser-deployment.log)
  [ -n "$url" ] && break
  kill -0 $deployment 2>/dev/null || break
  sleep 0.2
done
if [ -z "$url" ] || ! kill -0 $deployment 2>/dev/null; then
  echo "Herald did not start for the browser tests" >&2
  show_deployment >&2
  exit 1
fi
HERALD_BIN_DIR="$bin" HERALD_URL="$url" python3 -m pytest -q Tests/browser || { show_deployment >&2; exit 1; }
# The AG-UI endpoint (POST /agui, GET /agui/{threadId}) as an outside client sees it, against the same deployment.
HERALD_URL="$url" python3 -m pytest -q Tests/agui || { show_deployment >&2; exit 1; }
HERALD_URL="$url" python3 -m pytest -q Tests/api || { show_deployment >&2; exit 1; }
