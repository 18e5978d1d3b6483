#!/usr/bin/env bash
# The README's first command. Until `kiln build` exists it parses the example Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx tsc -p .
node bin/kiln.js debug parse examples/node-app/Dockerfile
