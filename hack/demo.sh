#!/usr/bin/env bash
# npm run demo: from nothing to a backed-up and restored set of images on the local stack.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
bash hack/stack.sh up
npm run --silent build
exec node --import tsx hack/demo.ts "$@"
