#!/usr/bin/env bash
# The chaos run (issue 4): 200 runs across 3 workers and 2 relays while a random worker is killed
# every two seconds and the active relay twice; every run must end validly, with no gap or duplicate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
HERALD_CHAOS=1 HERALD_BIN_DIR="$(swift build --show-bin-path)" swift test --skip-build --filter ChaosTests 2>&1 | tee /dev/stderr | grep -E "^chaos:|Test run" || true
