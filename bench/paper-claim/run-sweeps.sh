#!/usr/bin/env bash
# The paper's ablations, once each, on the synthetic demo setting (seed 1): M in {1..5} (lambda 4, tau 0.2),
# lambda in {0, 1, 2, 4, 8} (M 4, tau 0.2), tau in {0.07, 0.1, 0.2, 0.3, 0.5} (M 4, lambda 4).
# Usage: bench/paper-claim/run-sweeps.sh [OUT_DIR] [SEED]     (default runs/paper-sweeps, seed 1)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${1:-runs/paper-sweeps}"
seed="${2:-1}"
mkdir -p "$out"
run() {
  local name="$1"
  shift
  local dir="$out/$name-seed$seed"
  [[ -f "$dir/evaluations.jsonl" ]] && return 0 # the same run (e.g. M=4, lambda=4, tau=0.2) is shared
  rm -rf "$dir"
  local start
  start=$(date +%s)
  node bin/jcl.js train --preset demo --epochs 10 --method jcl --seed "$seed" --out "$dir" "$@" >"$dir.log" 2>&1
  node bin/jcl.js eval linear --checkpoint "$dir" --cache-features >>"$dir.log" 2>&1
  echo "$name seed $seed: $(( $(date +%s) - start )) s" | tee -a "$out/times.txt"
}
for m in 1 2 3 4 5; do run "M$m-lambda4-tau0.2" --positives "$m" --lambda 4 --tau 0.2; done
for l in 0 1 2 8; do run "M4-lambda$l-tau0.2" --positives 4 --lambda "$l" --tau 0.2; done
for t in 0.07 0.1 0.3 0.5; do run "M4-lambda4-tau$t" --positives 4 --lambda 4 --tau "$t"; done
