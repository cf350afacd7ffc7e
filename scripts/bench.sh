#!/usr/bin/env bash
# npm run bench: old pipeline vs ours, measured in the same run (several minutes; needs ~8 GB of free disk).
# Flags (npm run bench -- …): --only loopback|wan|upload, --rtt-ms 20, --rate-mbps 25 (the network shape; see bench/networkProxy.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh
npm run --silent build
exec node dist/bench/archiveBench.js "$@"
