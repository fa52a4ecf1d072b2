#!/usr/bin/python3
"""torchvision reference for `jcl bench loader`: the same folder, the same MoCo v2 augmentation (1 + M crops
per image, moco main_moco.py --aug-plus), the same number of loader workers, timed the same way (source
images/s over `--batches` batches after `--warmup`), one JSON line on stdout.

    /usr/bin/python3 bench/loader/torchvision_loader.py --data-path DIR --image-size 224 --keys 5 --workers N

Debian: apt-get install python3-torchvision (torch 1.13, torchvision 0.14).
"""
import argparse
import json
import random
import resource
import time

import torch
from PIL import ImageFilter
from torchvision import datasets, transforms


class GaussianBlur:
    """moco/loader.py: Gaussian blur augmentation in SimCLR, PIL's radius = sigma."""

    def __init__(self, sigma=(0.1, 2.0)):
        self.sigma = sigma

    def __call__(self, x):
        return x.filter(ImageFilter.GaussianBlur(radius=random.uniform(self.sigma[0], self.sigma[1])))


class MultiCrop:
    """The query and M keys of one image, each an independent draw of the augmentation."""

    def __init__(self, base, crops):
        self.base = base
        self.crops = crops

    def __call__(self, x):
        return [self.base(x) for _ in range(self.crops)]


def peak_rss_mb(pid):
    """VmHWM (peak resident set) of a live process, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-path", required=True)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--keys", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()

    normalize = transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    aug = transforms.Compose(
        [
            transforms.RandomResizedCrop(a.image_size, scale=(0.2, 1.0)),
            transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            transforms.RandomGrayscale(p=0.2),
            transforms.RandomApply([GaussianBlur([0.1, 2.0])], p=0.5),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            normalize,
        ]
    )
    t0 = time.perf_counter()
    ds = datasets.ImageFolder(a.data_path, MultiCrop(aug, a.keys + 1))
    open_ms = (time.perf_counter() - t0) * 1000
    loader = torch.utils.data.DataLoader(
        ds, batch_size=a.batch, shuffle=True, num_workers=a.workers, drop_last=True, persistent_workers=a.workers > 0
    )
    total = a.warmup + a.batches
    done = 0
    worker_mb = []
    start = time.perf_counter()
    while done < total:
        it = iter(loader)
        for _ in it:
            done += 1
            if done == a.warmup:
                start = time.perf_counter()
            if done == total:
                break
        worker_mb = [peak_rss_mb(w.pid) for w in getattr(it, "_workers", [])]
    sec = time.perf_counter() - start
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "reference": "torchvision DataLoader",
                "torch": torch.__version__,
                "datasetSize": len(ds),
                "batch": a.batch,
                "keys": a.keys,
                "imageSize": a.image_size,
                "batches": a.batches,
                "loaderWorkers": a.workers,
                "openMs": open_ms,
                "imagesPerSec": a.batches * a.batch / sec,
                "cropsPerSec": a.batches * a.batch * (a.keys + 1) / sec,
                "peakRssMainMB": main_mb,
                "peakRssWorkersMB": worker_mb,
                # Forked workers share pages with the main process, so the sum over-counts a little.
                "peakRssMB": main_mb + sum(worker_mb),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
