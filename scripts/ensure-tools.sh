#!/usr/bin/env bash
# Installs (as root, with apt) or names exactly what is missing: the system tools the tests, demo and bench use,
# and the npm dependencies. Idempotent and quiet when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PACKAGE=( [docker-registry]=docker-registry [skopeo]=skopeo [podman]=podman [pigz]=pigz [htpasswd]=apache2-utils [openssl]=openssl [zcat]=gzip [chromium]=chromium )
missing=()
for tool in "${!PACKAGE[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PACKAGE[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# zlib.crc32 (the archive's gzip framing) needs Node.js 20.15 or newer.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=15)?0:1)' 2>/dev/null; then
  echo "Node.js 20.15 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci when the lockfile's content differs from the one installed (a stamp of its sha256), not when it is merely
# newer: a fresh git worktree has a newer lockfile, and npm ci through a node_modules symlink empties the shared tree.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.lockfile-sha256 2>/dev/null)" != "$lock_sum" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > node_modules/.lockfile-sha256
fi
