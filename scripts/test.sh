#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every test: the Swift test suites (each starts its own
# redis-server and Runtime API servers on free loopback ports and stops them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== swift build (debug, with tests)"
swift build --build-tests
echo "== swift test"
swift test --skip-build
