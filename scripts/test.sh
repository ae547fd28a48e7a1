#!/usr/bin/env bash
# The full test suite: installs the real test servers (apt, cached kube-apiserver build), builds,
# type-checks and runs every mocha suite. Used by `npm test` and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-test-deps.sh
npm run --silent build
npx tsc -p tsconfig.json --noEmit
export IMPRIMATUR_LOG_LEVEL=${IMPRIMATUR_LOG_LEVEL:-silent}
if [ $# -eq 0 ]; then set -- "test/**/*.test.ts"; fi
npx mocha --reporter ./test/support/summary-reporter.cjs "$@"
