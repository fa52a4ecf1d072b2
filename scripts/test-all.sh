#!/usr/bin/env bash
# The README's test command: install what the tests need, then run every test.
#   1. npm dependencies (npm ci when node_modules is missing or stale)
#   2. the real Kubernetes control plane for the e2e tests (built once with Go, cached outside the clone)
#   3. npm test: typecheck, lint, CRD drift check, unit + integration tests, e2e tests on the real plane
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

step "building the test control plane (cached in ${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator})"
bash scripts/controlplane-build.sh

step "running the test suite"
npm test
