#!/usr/bin/env bash
# The pure unit tier: no registry, no Azurite, no Functions host, no worker process (in-process loopback servers only).
# Type-checks and compiles (no worker bundle), then runs test/unit in seconds. `npm test` runs every tier.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || { echo "node_modules is missing: run npm ci (or npm test, which installs everything)" >&2; exit 1; }
rm -rf dist
npx tsc -p tsconfig.json
mapfile -t files < <(find dist/test/unit -name '*.test.js' | sort)
exec node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
