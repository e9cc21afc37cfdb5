#!/usr/bin/env bash
# The whole suite on a fresh Debian 12 machine, as root: Node + npm deps, the Debian packages the
# tests use as real peers, then type check, lint, build and every test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash test/install-deps.sh
echo "== type check"; npx tsc -p . --noEmit
echo "== lint"; npx biome check .
echo "== tests"; npm test
