#!/usr/bin/env bash
# JCL (M = 4 and 5, lambda = 4, tau = 0.2) against the MoCo v2 baseline (M = 1) on the built-in synthetic
# dataset, equal epochs, several seeds; each run is evaluated with k-NN (end of training) and the linear
# protocol on cached features. Results: <out>/<name>-seed<k>/{summary.json,evaluations.jsonl}.
# Usage: bench/paper-claim/run-synthetic.sh [OUT_DIR] [SEEDS...]     (default runs/paper-claim, seeds 1 2 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${1:-runs/paper-claim}"
shift || true
if [[ $# -gt 0 ]]; then seeds=("$@"); else seeds=(1 2 3); fi
mkdir -p "$out"
declare -A variants=(
  [mocov2]="--method mocov2"
  [jcl-m4]="--method jcl --positives 4 --lambda 4 --tau 0.2"
  [jcl-m5]="--method jcl --positives 5 --lambda 4 --tau 0.2"
)
for seed in "${seeds[@]}"; do
  for name in mocov2 jcl-m4 jcl-m5; do
    dir="$out/$name-seed$seed"
    rm -rf "$dir"
    start=$(date +%s)
    # shellcheck disable=SC2086
    node bin/jcl.js train --preset demo --epochs 10 ${variants[$name]} --seed "$seed" --out "$dir" >"$dir.log" 2>&1
    node bin/jcl.js eval linear --checkpoint "$dir" --cache-features --epochs 100 --batch 256 >>"$dir.log" 2>&1
    echo "$name seed $seed: $(( $(date +%s) - start )) s" | tee -a "$out/times.txt"
  done
done
