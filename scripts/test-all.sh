#!/usr/bin/env bash
# The README's test command: install what the tests need, then run every test.
#   1. npm dependencies (npm ci when node_modules is missing or stale)
#   2. the native TensorFlow backend (npm run setup:tensorflow: tfjs-node built against PyPI's TensorFlow
#      wheel, cached outside the clone; after npm ci, which removes it from node_modules; a warm run takes
#      seconds), and JCL_REQUIRE_NATIVE=1 so the native tests (test/integration/native/) fail, not skip,
#      when it is missing
#   3. Chromium (Debian package) for the report test, when missing and we may install it
#   4. the real Kubernetes control plane for the e2e tests (built once with Go, cached outside the clone)
#      and SeaweedFS, the S3-compatible server of the checkpoint-storage tests (likewise)
#   5. Kueue's manager for the Kueue e2e test (scripts/kueue-build.sh: built once with Go, cached likewise)
#   6. npm test: typecheck, lint, CRD drift check, unit + integration tests, e2e tests on the real plane
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  step "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

step "installing the native TensorFlow backend (npm run setup:tensorflow, cached in ${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator}/tensorflow)"
npm run --silent setup:tensorflow
export JCL_REQUIRE_NATIVE=1

if ! command -v chromium >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  step "installing Chromium for the report rendering test (apt-get)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
    echo "warning: could not install chromium; the report rendering test will say what to install" >&2
fi

step "building the test control plane (cached in ${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator})"
bash scripts/controlplane-build.sh

step "building SeaweedFS for the object-storage checkpoint tests (cached in ${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator})"
bash scripts/seaweedfs-build.sh

step "building Kueue for the gang admission e2e test (cached in ${JCL_CACHE_DIR:-$HOME/.cache/jcl-operator})"
bash scripts/kueue-build.sh

step "running the test suite"
npm test
