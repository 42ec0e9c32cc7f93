"""PyTorch's run of the Tailor engine's CIFAR-10 teacher recipe, for the accuracy and wall time to
set next to `examples/cifar10_anchor.py --teacher-only` (issue 4's "Done means").

Same network and the same initial weights (tailor.zoo.resnet8(seed) handed over by
tailor.torch.to_torch), same recipe: 30 epochs, batch 128 (last partial batch kept), SGD Nesterov
momentum 0.9, weight decay 5e-4 on every parameter, OneCycleLR to 0.2 (PyTorch's defaults:
pct_start 0.3, cosine, div 25, final div 1e4, momentum cycled 0.85–0.95) stepped per batch,
random crop with 4 pixels of zero padding + horizontal flip, per-channel normalisation with the
training set's mean and std. Two threads, as the engine uses.

    python bench/cifar10_torch_reference.py PATH/cifar-10-batches-bin [--seed 0] [--epochs 30] [--out FILE.json]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import tailor
from tailor import datasets
from tailor.torch_adapter import to_torch


def augment(x: torch.Tensor, pad_value: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """torchvision's RandomCrop(32, padding=4) + RandomHorizontalFlip on a normalised NCHW batch:
    the zero padding of the raw image is `pad_value` (= -mean/std) after normalisation."""
    n, c, h, w = x.shape
    padded = pad_value.view(1, c, 1, 1).expand(n, c, h + 8, w + 8).clone()
    padded[:, :, 4:4 + h, 4:4 + w] = x
    dy = torch.randint(0, 9, (n,), generator=g)
    dx = torch.randint(0, 9, (n,), generator=g)
    flip = torch.rand(n, generator=g) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = crop.flip(-1) if flip[i] else crop
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", help="cifar-10-batches-bin or cifar-10-batches-py directory")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the per-epoch history and totals as JSON")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)

    d = datasets.load_cifar10(a.data)
    mean = torch.tensor(d.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(d.std, dtype=torch.float32).view(1, 3, 1, 1)
    # The loader hands NCHW float images in [0, 1]; normalise once, as the engine does.
    xtr = (torch.from_numpy(np.ascontiguousarray(d.train[0])).float() - mean) / std
    ytr = torch.from_numpy(np.asarray(d.train[1], dtype=np.int64))
    xte = (torch.from_numpy(np.ascontiguousarray(d.test[0])).float() - mean) / std
    yte = torch.from_numpy(np.asarray(d.test[1], dtype=np.int64))
    pad_value = (-mean / std).view(3)

    model = to_torch(tailor.zoo.resnet8(seed=a.seed)).train()
    batch, steps = 128, (len(xtr) + 127) // 128
    opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, epochs=a.epochs, steps_per_epoch=steps)

    def evaluate():
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(xte), 1000):
                correct += (model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
        model.train()
        return correct / len(xte)

    history, t0 = [], time.time()
    for epoch in range(a.epochs):
        perm = torch.randperm(len(xtr), generator=g)
        total, correct, seen = 0.0, 0, 0
        for s in range(steps):
            idx = perm[s * batch:(s + 1) * batch]
            x, y = augment(xtr[idx], pad_value, g), ytr[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(idx)
        acc = evaluate()
        history.append({"epoch": epoch + 1, "loss": total / seen, "accuracy": correct / seen, "val_accuracy": acc,
                        "seconds": time.time() - t0})
        print(f"torch epoch {epoch + 1}/{a.epochs}: loss {total / seen:.4f} train acc {correct / seen:.4f} "
              f"test acc {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)
    minutes = (time.time() - t0) / 60
    print(f"PyTorch {torch.__version__}, {a.threads} threads: test accuracy {100 * history[-1]['val_accuracy']:.2f} % "
          f"after {a.epochs} epochs, {minutes:.1f} min")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"torch": torch.__version__, "threads": a.threads, "seed": a.seed, "minutes": minutes,
                       "accuracy": history[-1]["val_accuracy"], "history": history}, f, indent=1)


if __name__ == "__main__":
    main()
