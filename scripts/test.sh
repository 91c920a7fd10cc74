#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every test:
#   0. the code against .swift-format, layout included, over every Swift folder (scripts/format-lint.sh);
#   1. the Swift test suites (each starts its own redis-server and Runtime API servers on free
#      loopback ports and stops them);
#   2. template.yaml through the pinned cfn-lint and the checks cfn-lint does not make;
#   3. scripts/deploy.sh's argument checks (offline);
#   4. the packaged zips run outside the build environment (a chroot, so root is needed);
#   5. the same for arm64 zips under qemu: also the build of every product with Swift 6.0.3 (the
#      arm64 compiler), so a change that needs a newer Swift fails here. From scratch it first
#      installs the arm64 toolchain (~4 GB, a few minutes);
#   6. the Swift suites again under AddressSanitizer and ThreadSanitizer (scripts/test-sanitizers.sh,
#      about 5 minutes with their builds).
# Root is also needed by the failover tests (unshare --mount gives the function its own /etc/hosts).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== swift build (debug, with tests)"
swift build --build-tests
echo "== swift format lint (.swift-format's rules)"
bash scripts/format-lint.sh
echo "== swift test"
swift test --skip-build

echo "== template.yaml"
bash scripts/lint-template.sh
echo "== deploy.sh arguments"
bash scripts/test-deploy.sh
echo "== packaged zips outside the build environment"
bash scripts/test-package.sh
echo "== packaged arm64 zips outside the build environment, under qemu (Swift 6.0.3 cross build)"
bash scripts/test-package.sh --arch arm64 RuntimeEcho PriceCacheHandler SignalHandler
echo "== the test suites under AddressSanitizer and ThreadSanitizer"
bash scripts/test-sanitizers.sh
