#!/usr/bin/env bash
# `npm run faults`: the long fault matrix (see scripts/faults.ts); `npm run faults -- <file>` runs some files.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx scripts/faults.ts "$@"
