#!/usr/bin/env bash
# jcl bench loader beside torchvision's DataLoader: same folder, same MoCo v2 augmentation (224 px, 1 + M
# crops), same batch, same number of loader workers, run alternately in one session so machine load hits
# both alike. One JSON line per run; the folders are generated under /tmp (never in the repository).
#   bash bench/loader/compare.sh [rounds=2] [workers="1 2"] [batches=6] [batch=32]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
workers=${2:-"1 2"}
batches=${3:-6}
batch=${4:-32}
npx tsx bench/loader/make-image-folder.ts --out /tmp/jcl-imgf-1k --images 1000 >&2
for r in $(seq "$rounds"); do
  for w in $workers; do
    node bin/jcl.js bench loader --dataset image-folder --data-path /tmp/jcl-imgf-1k --image-size 224 --keys 5 \
      --batch "$batch" --batches "$batches" --loader-workers "$w" --json
    /usr/bin/python3 bench/loader/torchvision_loader.py --data-path /tmp/jcl-imgf-1k --image-size 224 --keys 5 \
      --batch "$batch" --batches "$batches" --workers "$w"
  done
done
