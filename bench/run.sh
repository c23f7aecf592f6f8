#!/usr/bin/env bash
# `npm run bench`: the benchmark scenarios (see bench/run.ts and bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx bench/run.ts "$@"
