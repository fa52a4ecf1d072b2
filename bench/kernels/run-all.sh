#!/usr/bin/env bash
# Fast CPU path benchmarks (issue 3): every figure of docs/BENCHMARKS.md "Fast CPU path (wasm kernels)".
#   bench/kernels/run-all.sh [out-dir]      (about 20-30 minutes on 2 cores; tfjs-backend-cpu is the slow part)
# Each command's JSON lines go to <out-dir>/<name>.jsonl; machine facts and load averages to machine.txt.
# Then: npx tsx bench/kernels/summarize.ts <out-dir>  prints the markdown tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-/tmp/jcl-bench-kernels-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
py=/usr/bin/python3 # Debian's python3-torch, not the pyenv python
{
  date -u
  echo "nproc: $(nproc)"
  grep -m1 'model name' /proc/cpuinfo || true
  node --version
  $py -c 'import torch; print("torch", torch.__version__)'
} >"$out/machine.txt"
run() { # name, command...
  local name="$1"
  shift
  echo "load before $name: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
  "$@" 2>>"$out/$name.stderr" | grep '^{' >"$out/$name.jsonl" || true
  echo "load after  $name: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
}
# Per-kernel, batch 32, the resnet18-cifar convolution shapes; PyTorch right after for the ratios.
run kernels-wasm npx tsx bench/kernels/bench-conv-kernels.ts --backends wasm-fast,wasm-stock --reps 5
run kernels-torch "$py" bench/kernels/torch_reference.py --what convs --threads 1,2 --reps 5
run kernels-wasm-2t npx tsx bench/kernels/bench-conv-kernels.ts --backends wasm-fast --reps 5 --threads 2
# Whole steps: plain SGD step and the JCL step of `jcl bench step`, wasm 1 and 2 threads, PyTorch 1 and 2.
run step-wasm npx tsx bench/kernels/profile-step.ts --steps 3
run step-wasm-2t npx tsx bench/kernels/profile-step.ts --steps 3 --threads 2
run jcl-wasm npx tsx bench/kernels/profile-step.ts --jcl --keys 4 --steps 3
run jcl-wasm-2t npx tsx bench/kernels/profile-step.ts --jcl --keys 4 --steps 3 --threads 2
run steps-torch "$py" bench/kernels/torch_reference.py --what step,jcl --threads 1,2 --reps 3
run jcl-bench-step node bin/jcl.js bench step --model resnet18-cifar --batch 32 --keys 4 --backend wasm --steps 3 --warmup 1 --json
# tfjs-backend-cpu is ~1000x slower: batch 4 (convolution time is linear in the batch), one run each
# (~10 minutes; SKIP_CPU=1 leaves it out).
if [ "${SKIP_CPU:-0}" != 1 ]; then
  run kernels-cpu-b4 npx tsx bench/kernels/bench-conv-kernels.ts --backends cpu,wasm-fast --batch 4 --cpu-shapes 11 --reps 3
fi
echo "results in $out"
