"""The DESIGN.md §4 anchor run on CIFAR-10 with the Tailor engine alone (no PyTorch):

1. teacher: ResNet-8, 30 epochs, one-cycle (max lr 0.2), batch 128, SGD Nesterov momentum 0.9,
   weight decay 5e-4, random crop (padding 4) + horizontal flip, per-channel normalisation;
2. students: a copy of the teacher, 15 epochs of KD (0.35·MSE(teacher, student) + 0.65·CE),
   lr 0.01 cosine, block k switched to "removed" (SkipRemover) or "short" (SkipShortener)
   before epoch 3·(k+1), all in one run.

    python examples/cifar10_anchor.py PATH/cifar-10-batches-bin [--teacher-epochs 30] [--kd-epochs 15]

PyTorch 2.13 on this machine: teacher 82.1 %, SkipRemover 81.8 %, SkipShortener 81.3 %.
This engine, same settings (2 threads, 2026-11-25): teacher 82.0 % (30 epochs, ~20 min),
SkipRemover 81.8 %, SkipShortener 81.4 % (15 KD epochs each, one block switched every 3).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import tailor  # noqa: E402
from tailor import datasets  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--teacher-epochs", type=int, default=30)
    ap.add_argument("--kd-epochs", type=int, default=15)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    d = datasets.load_cifar10(a.data)
    norm = (d.mean, d.std)
    t0 = time.time()

    def log(tag):
        def cb(p):
            if p["epoch_end"]:
                print(f"{tag} epoch {p['epoch'] + 1}/{p['epochs']}: loss {p['loss']:.4f} train acc {p['accuracy']:.4f} "
                      f"test acc {p['val_accuracy']:.4f} lr {p['lr']:.4g} ({time.time() - t0:.0f} s)", flush=True)
        return cb

    teacher = tailor.zoo.resnet8(seed=0)
    teacher.fit(train=d.train, val=d.test, epochs=a.teacher_epochs, batch_size=128, lr=0.2, schedule="onecycle",
                momentum=0.9, nesterov=True, weight_decay=5e-4, normalize=norm, progress=False, callback=log("teacher"))
    teacher.save(os.path.join(a.out, "resnet8_teacher.tailor"))
    results = {"teacher": teacher.evaluate(*d.test, normalize=norm)["accuracy"]}
    for mode in ("removed", "short"):
        student = teacher.copy()
        switches = [(a.every * (k + 1), k, mode) for k in range(len(teacher.blocks)) if a.every * (k + 1) < a.kd_epochs]
        student.fit(train=d.train, val=d.test, epochs=a.kd_epochs, batch_size=128, lr=0.01, schedule="cosine",
                    momentum=0.9, nesterov=True, weight_decay=5e-4, loss="kd", teacher=teacher, kd_alpha=0.35,
                    normalize=norm, mode_switches=switches, progress=False, callback=log(mode), seed=1)
        student.save(os.path.join(a.out, f"resnet8_{mode}.tailor"))
        results[mode] = student.evaluate(*d.test, normalize=norm)["accuracy"]
    for k, v in results.items():
        print(f"{k:8s} test accuracy {100 * v:.1f} %")


if __name__ == "__main__":
    main()
