#!/usr/bin/env bash
# The native TensorFlow backend's JCL step beside the PyTorch reference, same run (issue 14).
#
#   bench/gpu/run-step.sh cpu   resnet18-cifar, batch 32, M = 4, 32 px on this machine's CPU: PyTorch (2
#                               threads), our wasm path and tfjs-node (TensorFlow 2.21 wheel), interleaved
#                               for ROUNDS rounds (default 2) so machine load hits all three alike
#   bench/gpu/run-step.sh cpu-224
#                               resnet50, 224 px, batch 8, M = 2 on this machine's CPU, the same three side by side
#                               (PyTorch: bench/gpu/torch_step.py --device cpu --threads 2)
#   bench/gpu/run-step.sh gpu   on an NVIDIA GPU node (after `npm run setup:tensorflow -- --gpu`):
#                               resnet50, 224 px, batch 64, M = 5 and resnet18-cifar, batch 512, M = 4 on
#                               tfjs-node-gpu, each beside PyTorch on the same GPU (fp32, bench/gpu/torch_step.py)
#
# Prints one JSON line per measurement (images/s); docs/BENCHMARKS.md ("Native TensorFlow backend") has the
# figures and how to read them. Env: ROUNDS, STEPS (timed steps per jcl run, default 3), PYTHON (a Python
# with torch; default /usr/bin/python3, Debian's torch on this repository's machine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

mode="${1:-}"
rounds="${ROUNDS:-2}"
steps="${STEPS:-3}"
python="${PYTHON:-/usr/bin/python3}"
jcl() { node bin/jcl.js bench step --json --steps "$steps" --warmup 1 "$@"; }

case "$mode" in
  cpu)
    node bin/jcl.js selftest --backend tensorflow >&2
    for round in $(seq 1 "$rounds"); do
      echo "# round $round $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >&2
      "$python" bench/kernels/torch_reference.py --what jcl --batch 32 --keys 4 --threads 2 --reps 3
      jcl --model resnet18-cifar --batch 32 --keys 4 --backend wasm
      jcl --model resnet18-cifar --batch 32 --keys 4 --backend tensorflow
    done
    ;;
  cpu-224)
    node bin/jcl.js selftest --backend tensorflow >&2
    for round in $(seq 1 "$rounds"); do
      echo "# round $round $(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg)" >&2
      "$python" bench/gpu/torch_step.py --model resnet50 --image-size 224 --batch 8 --keys 2 --steps "$steps" --device cpu --threads 2
      jcl --model resnet50 --image-size 224 --batch 8 --keys 2 --backend wasm
      jcl --model resnet50 --image-size 224 --batch 8 --keys 2 --backend tensorflow
    done
    ;;
  gpu)
    node bin/jcl.js selftest --backend tensorflow-gpu --require-gpu >&2
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >&2 || true
    for round in $(seq 1 "$rounds"); do
      echo "# round $round $(date -u +%H:%M:%S)" >&2
      "$python" bench/gpu/torch_step.py --model resnet50 --image-size 224 --batch 64 --keys 5
      jcl --model resnet50 --image-size 224 --batch 64 --keys 5 --backend tensorflow-gpu
      "$python" bench/gpu/torch_step.py --model resnet18-cifar --image-size 32 --batch 512 --keys 4
      jcl --model resnet18-cifar --image-size 32 --batch 512 --keys 4 --backend tensorflow-gpu
    done
    ;;
  *)
    echo "usage: bench/gpu/run-step.sh cpu|cpu-224|gpu" >&2
    exit 2
    ;;
esac
