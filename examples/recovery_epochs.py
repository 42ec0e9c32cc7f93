"""How many epochs a Tailor student needs after its last block change (the demo's recipe question).

The default plan trains `every` epochs after the last change, at the end of a cosine schedule that
has nearly reached zero, so the last altered block barely recovers. This trains the demo's teacher
on the bundled digits for each seed, then SkipRemover and SkipShortener with one block every
`--every` epochs and R epochs after the last change, for each R in `--recovery`, and prints the
student - teacher accuracy per R: mean and spread over the seeds.

    python examples/recovery_epochs.py --seeds 0,1,2 --recovery 2,4,6 [--out recovery.json]

About 2-5 min per student on 2 cores (the digits: 4,000 training and 1,000 test images, 28x28).
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import tailor
from tailor import datasets


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--recovery", default="2,4,6", help="epochs after the last block change")
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--teacher-epochs", type=int, default=6)
    ap.add_argument("--out", default="recovery.json")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    recoveries = [int(r) for r in args.recovery.split(",")]
    d = datasets.load_mnist_demo()
    train, val, norm = d.train, d.test, (d.mean, d.std)
    rows, started = [], time.time()
    for seed in seeds:
        # The demo's teacher (python -m tailor demo): one-cycle to 0.05, no augmentation on digits.
        with tailor.zoo.create("resnet8", num_classes=10, input_shape=train[0].shape[1:], seed=seed) as teacher:
            teacher.fit(train, val, epochs=args.teacher_epochs, lr=0.05, schedule="onecycle", augment=False,
                        normalize=norm, progress=False, seed=seed)
            before = teacher.evaluate(*val, normalize=norm)["accuracy"]
            blocks = len(teacher.blocks)
            for r in recoveries:
                for algo, run in (("SkipRemover", tailor.remove_skips), ("SkipShortener", tailor.shorten_skips)):
                    with run(teacher, train, val, every=args.every, epochs=blocks * args.every + r, augment=False,
                             normalize=norm, progress=False, seed=seed) as student:
                        after = student.history[-1]["val_accuracy"]
                    rows.append(dict(seed=seed, recovery=r, algorithm=algo, teacher=before, student=after))
                    print(f"[{(time.time() - started) / 60:5.1f} min] seed {seed}, {r} epochs after the last change, "
                          f"{algo}: {100 * before:.2f}% -> {100 * after:.2f}%", flush=True)
    with open(args.out, "w") as f:
        json.dump(dict(rows=rows, args=vars(args)), f, indent=1)
    print(f"\n| epochs after the last change | SkipRemover Δ (points) | SkipShortener Δ (points) |  ({len(seeds)} seeds)")
    print("|---|---|---|")
    for r in recoveries:
        cells = []
        for algo in ("SkipRemover", "SkipShortener"):
            deltas = [100 * (x["student"] - x["teacher"]) for x in rows if x["recovery"] == r and x["algorithm"] == algo]
            spread = f" ± {statistics.stdev(deltas):.2f}" if len(deltas) > 1 else ""
            cells.append(f"{statistics.mean(deltas):+.2f}{spread} (worst {min(deltas):+.2f})")
        print(f"| {r} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
