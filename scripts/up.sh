#!/usr/bin/env bash
# `npm start`: bring the whole system up (see scripts/up.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx scripts/up.ts "$@"
