"""PyTorch reference for bench/gpu/run-step.sh gpu: the JCL step `jcl bench step` times, on a CUDA GPU, fp32.

    python3 bench/gpu/torch_step.py --model resnet50|resnet18-cifar --image-size 224 --batch 64 --keys 5

Same work as bench/kernels/torch_reference.py's bench_jcl_step (key momentum update, key encoder forward in
train-mode BN without grad on keys*batch crops, query forward/backward, SGD; a contrastive loss over a
4096-key queue stands in for the JCL loss, a few small matrix products), with torchvision's ResNet-50
(ImageNet stem) or the CIFAR ResNet-18 of torch_reference.py. TF32 is off so both sides compute fp32.
Prints one JSON line: images/s of the query batch, the unit `jcl bench step` reports.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kernels"))
from torch_reference import resnet18_cifar  # noqa: E402


def backbone(model):
    if model == "resnet18-cifar":
        net = resnet18_cifar()
        net[-1] = nn.Identity()
        return net, 512
    import torchvision

    net = torchvision.models.resnet50(weights=None)
    net.fc = nn.Identity()
    return net, 2048


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["resnet50", "resnet18-cifar"], required=True)
    p.add_argument("--image-size", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--keys", type=int, required=True)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                   help="cpu: the same step on the CPU (all cores, or --threads), the CPU comparison of run-step.sh cpu-224")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads on --device cpu (0: torch's default)")
    a = p.parse_args()
    if a.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("torch_step.py: torch.cuda.is_available() is False: run on a node with an NVIDIA GPU and a CUDA build of torch"
                     " (or pass --device cpu)")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    elif a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)

    def sync():
        if a.device == "cuda":
            torch.cuda.synchronize()

    def encoder():
        net, dim = backbone(a.model)
        return nn.Sequential(net, nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, 128)).to(dev).to(memory_format=torch.channels_last)

    q, k = encoder(), encoder()
    k.load_state_dict(q.state_dict())
    opt = torch.optim.SGD(q.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    s = a.image_size
    xq = torch.randn(a.batch, 3, s, s, device=dev).to(memory_format=torch.channels_last)
    xk = torch.randn(a.keys * a.batch, 3, s, s, device=dev).to(memory_format=torch.channels_last)
    queue = F.normalize(torch.randn(4096, 128, device=dev), dim=1)

    def step():
        with torch.no_grad():
            for pk, pq in zip(k.parameters(), q.parameters()):
                pk.mul_(0.999).add_(pq, alpha=0.001)
            kk = F.normalize(k(xk), dim=1).view(a.keys, a.batch, 128).mean(0)
        zq = F.normalize(q(xq), dim=1)
        logits = torch.cat([(zq * kk).sum(1, keepdim=True), zq @ queue.t()], 1) / 0.2
        loss = F.cross_entropy(logits, torch.zeros(a.batch, dtype=torch.long, device=dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    sync()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times)
    where = {"gpu": torch.cuda.get_device_name(0)} if a.device == "cuda" else {"threads": torch.get_num_threads()}
    print(json.dumps({"backend": f"pytorch-{a.device} {torch.__version__}", **where,
                      "what": f"{a.model} JCL step (keys {a.keys})", "imageSize": s, "batch": a.batch, "ms": ms,
                      "images_per_s": a.batch * 1000 / ms}), flush=True)


if __name__ == "__main__":
    main()
