#!/usr/bin/env bash
# JCL (M = 4, lambda = 4, tau = 0.2) against MoCo v2 (M = 1) on Fashion-MNIST (Debian: dataset-fashion-mnist),
# resnet-tiny on 28x28, 6 epochs of 50 steps of batch 64 (a short CPU budget), k-NN and linear evaluation.
# Usage: bench/paper-claim/run-fashion-mnist.sh [OUT_DIR] [SEEDS...]    (default runs/paper-claim-fmnist, seed 1)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${1:-runs/paper-claim-fmnist}"
shift || true
if [[ $# -gt 0 ]]; then seeds=("$@"); else seeds=(1); fi
mkdir -p "$out"
common="--preset demo --dataset fashion-mnist --image-size 28 --queue 4096 --epochs 6 --warmup-epochs 1 --steps-per-epoch 50 --set eval.knnK=200"
declare -A variants=([mocov2]="--method mocov2" [jcl-m4]="--method jcl --positives 4 --lambda 4 --tau 0.2")
for seed in "${seeds[@]}"; do
  for name in mocov2 jcl-m4; do
    dir="$out/$name-seed$seed"
    rm -rf "$dir"
    start=$(date +%s)
    # shellcheck disable=SC2086
    node bin/jcl.js train $common ${variants[$name]} --seed "$seed" --out "$dir" >"$dir.log" 2>&1
    node bin/jcl.js eval linear --checkpoint "$dir" --cache-features --limit 10000 >>"$dir.log" 2>&1
    echo "$name seed $seed: $(( $(date +%s) - start )) s" | tee -a "$out/times.txt"
  done
done
