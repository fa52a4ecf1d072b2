"""PyTorch CPU reference for the resnet18-cifar kernels and training step (issue 3).

Run with Debian's torch, not the pyenv python:

    /usr/bin/python3 bench/kernels/torch_reference.py [--batch 32] [--reps 5] [--threads 1,2] [--what convs,step,jcl] [--keys 4]

Prints one JSON line per measurement: per convolution shape the forward, input-gradient and
filter-gradient times (median ms, channels-last NHWC like tfjs), the full SGD step (forward,
backward, update) of a CIFAR ResNet-18 with the same layout as bench/kernels/resnet18-ops.ts, and
the JCL step that `jcl bench step` times (query step plus the key encoder on keys*batch crops).
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = [  # name, hw, cin, cout, k, stride, count  (mirrors resnet18ConvShapes in resnet18-ops.ts)
    ("stem 3x3 3->64 @32", 32, 3, 64, 3, 1, 1),
    ("3x3 64->64 @32", 32, 64, 64, 3, 1, 4),
    ("3x3 64->128 s2 @32", 32, 64, 128, 3, 2, 1),
    ("1x1 64->128 s2 @32", 32, 64, 128, 1, 2, 1),
    ("3x3 128->128 @16", 16, 128, 128, 3, 1, 3),
    ("3x3 128->256 s2 @16", 16, 128, 256, 3, 2, 1),
    ("1x1 128->256 s2 @16", 16, 128, 256, 1, 2, 1),
    ("3x3 256->256 @8", 8, 256, 256, 3, 1, 3),
    ("3x3 256->512 s2 @8", 8, 256, 512, 3, 2, 1),
    ("1x1 256->512 s2 @8", 8, 256, 512, 1, 2, 1),
    ("3x3 512->512 @4", 4, 512, 512, 3, 1, 3),
]


CPU_MS = {}  # last measurement's median process CPU ms (all threads), by function


def median_ms(fn, reps, warmup=1):
    """Median wall ms of fn; its median process CPU ms is left in CPU_MS["last"]."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    CPU_MS["last"] = statistics.median(cpu)
    return statistics.median(times)


def bench_convs(batch, reps, threads):
    for name, hw, cin, cout, k, stride, count in SHAPES:
        pad = (k - 1) // 2
        x = torch.randn(batch, cin, hw, hw).contiguous(memory_format=torch.channels_last)
        w = torch.randn(cout, cin, k, k).contiguous(memory_format=torch.channels_last)
        y = F.conv2d(x, w, stride=stride, padding=pad)
        dy = torch.randn_like(y)
        with torch.no_grad():
            fwd = median_ms(lambda: F.conv2d(x, w, stride=stride, padding=pad), reps), CPU_MS["last"]
        dgrad = median_ms(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=stride, padding=pad), reps), CPU_MS["last"]
        wgrad = median_ms(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=stride, padding=pad), reps), CPU_MS["last"]
        for kernel, (ms, cpu_ms) in (("Conv2D", fwd), ("Conv2DBackpropInput", dgrad), ("Conv2DBackpropFilter", wgrad)):
            print(json.dumps({"backend": f"pytorch-{threads}t", "shape": name, "kernel": kernel, "ms": ms, "cpuMs": cpu_ms}), flush=True)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.b1(self.c1(x)))
        out = self.b2(self.c2(out))
        return F.relu(out + (x if self.sc is None else self.sc(x)))


def resnet18_cifar(classes=10):
    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for block in range(2):
            layers.append(Block(cin, cout, 2 if stage > 0 and block == 0 else 1))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes)]
    return nn.Sequential(*layers)


def bench_step(batch, reps, threads):
    for fmt in (torch.contiguous_format, torch.channels_last):
        model = resnet18_cifar().to(memory_format=fmt)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=fmt)
        labels = torch.randint(0, 10, (batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), labels).backward()
            opt.step()

        ms = median_ms(step, reps, warmup=2)
        layout = "NHWC" if fmt == torch.channels_last else "NCHW"
        print(json.dumps({"backend": f"pytorch-{threads}t", "what": "resnet18-cifar step", "layout": layout,
                          "batch": batch, "ms": ms, "cpuMs": CPU_MS["last"], "images_per_s": batch * 1000 / ms}), flush=True)


def bench_jcl_step(batch, keys, reps, threads):
    """The same work as `jcl bench step` (worker/src/train/train-step.ts): momentum update, key encoder
    forward (train-mode BN, no grad) on keys*batch crops, query forward/backward, SGD. The JCL loss
    itself is a few small matrix products; a contrastive loss over a 4096-key queue stands in for it."""
    def encoder():
        backbone = resnet18_cifar()
        backbone[-1] = nn.Identity()  # drop the classifier: 512-d features
        return nn.Sequential(backbone, nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 128))

    q, k = encoder(), encoder()
    k.load_state_dict(q.state_dict())
    opt = torch.optim.SGD(q.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    xq = torch.randn(batch, 3, 32, 32)
    xk = torch.randn(keys * batch, 3, 32, 32)
    queue = F.normalize(torch.randn(4096, 128), dim=1)

    def step():
        with torch.no_grad():
            for pk, pq in zip(k.parameters(), q.parameters()):
                pk.mul_(0.999).add_(pq, alpha=0.001)
            kk = F.normalize(k(xk), dim=1).view(keys, batch, 128).mean(0)
        zq = F.normalize(q(xq), dim=1)
        logits = torch.cat([(zq * kk).sum(1, keepdim=True), zq @ queue.t()], 1) / 0.2
        loss = F.cross_entropy(logits, torch.zeros(batch, dtype=torch.long))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    ms = median_ms(step, reps, warmup=1)
    print(json.dumps({"backend": f"pytorch-{threads}t", "what": f"resnet18-cifar JCL step (keys {keys})", "layout": "NCHW",
                      "batch": batch, "ms": ms, "cpuMs": CPU_MS["last"], "images_per_s": batch * 1000 / ms}), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--what", default="convs,step,jcl")
    p.add_argument("--keys", type=int, default=4)
    a = p.parse_args()
    print(json.dumps({"torch": torch.__version__, "default_threads": torch.get_num_threads()}), flush=True)
    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        if "convs" in a.what:
            bench_convs(a.batch, a.reps, threads)
        if "step" in a.what.split(","):
            bench_step(a.batch, a.reps, threads)
        if "jcl" in a.what.split(","):
            bench_jcl_step(a.batch, a.keys, a.reps, threads)


if __name__ == "__main__":
    main()
