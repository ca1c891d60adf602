#!/usr/bin/env bash
# Runs the nsqadmin browser tests standalone: builds our daemons, installs playwright-core
# (npm ci) if needed, and drives Debian's chromium headless. Screenshots land in
# tests/out/screenshots/.
#
# Environment: NSQD_BIN / NSQLOOKUPD_BIN / NSQADMIN_BIN (default: target/debug/<name>),
# CHROMIUM_BIN (default /usr/bin/chromium), NO_BUILD=1 to skip cargo build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM_BIN:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "error: no chromium at $chromium (Debian: apt-get install -y chromium)" >&2
  exit 1
fi
if [ "${NO_BUILD:-}" != "1" ]; then
  (cd "$repo" && cargo build -p nsqd -p nsqlookupd -p nsqadmin)
fi
cd "$here"
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
mkdir -p "$repo/tests/out/screenshots"
exec node --test --test-concurrency=1 --test-timeout=300000 "$@" ./*.test.mjs
