#!/usr/bin/env bash
# Install npm packages when node_modules is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 20 or newer is required (node not found on PATH)." >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "Node.js 20 or newer is required (found $(node --version))." >&2
  exit 1
fi
needs_install() {
  [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]
}
if needs_install; then
  # One install at a time: two runs started together (npm test and npm run typecheck, say)
  # would both run npm ci, and one would delete node_modules under the other. The second
  # waits for the first and finds the packages installed.
  if command -v flock >/dev/null 2>&1; then
    exec 9>".npm-install.lock"
    flock 9
  fi
  if needs_install; then
    echo "Installing npm packages (npm ci)…" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
fi
