#!/usr/bin/env bash
# README command 2: every test. Installs what it needs, type-checks, lints, checks formatting (Prettier), lints and
# compiles the Bicep (scripts/bicep.sh finds or installs the pinned Bicep CLI), then runs the node:test suites (real
# registry, real Azurite, real worker processes, podman and skopeo as independent checks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
npm run --silent build
npm run --silent lint
npx prettier --check --log-level warn . || { echo "formatting differs from Prettier's: run npm run format" >&2; exit 1; }
npm run --silent infra:build
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
