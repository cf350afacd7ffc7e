#!/usr/bin/env bash
# README command 1: a whole archive run against a local registry seeded with sample images, into Azurite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
npm run --silent build
exec node dist/tools/demo.js "$@"
