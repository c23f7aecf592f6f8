#!/usr/bin/env bash
# `npm test`: the full test suite (see scripts/test.ts); `npm test -- unit` runs one suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx scripts/test.ts "$@"
