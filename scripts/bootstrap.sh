#!/usr/bin/env bash
# Makes a Debian 12 machine ready to build and run rackwitness: Node.js >= 20 with npm, then the
# project's npm dependencies (npm ci, from the lock file). Idempotent; run as root from the repo.
set -euo pipefail
cd "$(dirname "$0")/.."

need_major=20
have_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap: installing Debian's nodejs and npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates
fi
if [ "$(have_major)" -lt "$need_major" ]; then
  # Debian 12 ships Node 18; Node 20 comes from the npm registry's node package (a binary package).
  echo "bootstrap: Node $(node --version) is older than ${need_major}; installing node@${need_major} from the npm registry"
  npm install -g --no-fund --no-audit "node@${need_major}"
  hash -r
  [ "$(have_major)" -ge "$need_major" ] || { echo "bootstrap: could not get Node >= ${need_major}" >&2; exit 1; }
fi
echo "bootstrap: node $(node --version), npm $(npm --version)"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit
fi
