"""The Tailor experiment on CIFAR-10 (docs/ARCHITECTURE.md §5), with the Tailor engine alone (no PyTorch):

1. teacher: ResNet-8, 30 epochs, one-cycle (max lr 0.2), batch 128, SGD Nesterov momentum 0.9,
   weight decay 5e-4, random crop (padding 4) + horizontal flip, per-channel normalisation
   (skipped with --teacher FILE when a trained teacher is at hand);
2. SkipRemover and SkipShortener (tailor.remove_skips / tailor.shorten_skips) from that teacher:
   15 epochs of KD (0.35·MSE(teacher, student) + 0.65·CE), lr 0.01 cosine, batch 128, SGD
   Nesterov, weight decay 5e-4, one block altered every 3 epochs (the defaults);
3. a results table, markdown and JSON: test accuracy of teacher / removed / shortened, and each
   network's hls4ml (16-bit; default and optimised FIFO depths) and FINN (4-bit) BRAM18 / LUT / FF
   and PE-array (8-bit) bytes per inference, with the changes against the teacher in %.

    python examples/cifar10_anchor.py PATH/cifar-10-batches-bin [--out DIR] [--teacher FILE]

Writes DIR/resnet8_{teacher,removed,short}.tailor, DIR/cifar10_results.md and .json.
PyTorch 2.13 on this machine, same recipe: teacher 82.1 %, SkipRemover 81.8 %, SkipShortener 81.3 %.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import tailor
from tailor import datasets

# (column label, estimate options, figures reported) for the results table: the hls4ml design a user
# ships (Vivado backend, FIFO depths optimised as FifoDepthOptimization does, from the dataflow
# simulation), the same at hls4ml's default depths (what its converter writes), FINN, and the PE
# array's off-chip bytes per inference. Columns zero for every network are left out.
TARGETS = [("hls4ml", dict(target="hls4ml", bits=16, backend="vivado", depth_policy="optimized"), ("bram18", "lut", "ff")),
           ("hls4ml-default", dict(target="hls4ml", bits=16, backend="vivado", depth_policy="default"), ("bram18", "lut", "ff")),
           ("finn", dict(target="finn", bits=4), ("bram18", "lut", "ff")),
           ("pe_array", dict(target="pe_array", bits=8), ("bytes",))]


def hardware(net):
    """Design totals per target: {label: {figure: value}}."""
    out = {}
    for label, options, figs in TARGETS:
        totals = tailor.estimate(net, **options).totals["total"]
        out[label] = {f: totals[f] for f in figs}
    return out


def percent(new, old):
    return None if old == 0 else 100.0 * (new - old) / old


def table(results):
    """The markdown results table: one row per network, accuracy and every hardware figure with its
    change against the teacher."""
    cols = [(t, f) for t, _, figs in TARGETS for f in figs if any(r["hardware"][t][f] for r in results.values())]
    head = "| network | test accuracy | " + " | ".join(f"{t} {f}" for t, f in cols) + " |"
    rows = [head, "|" + "---|" * (2 + len(cols))]
    base = results["teacher"]
    for name, r in results.items():
        acc = f"{100 * r['accuracy']:.2f} %"
        if name != "teacher":
            acc += f" ({100 * (r['accuracy'] - base['accuracy']):+.2f} pt)"
        cells = []
        for t, f in cols:
            v, p = r["hardware"][t][f], percent(r["hardware"][t][f], base["hardware"][t][f])
            cells.append(f"{v:,}" + ("" if name == "teacher" or p is None else f" ({p:+.1f} %)"))
        rows.append(f"| {name} | {acc} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", help="cifar-10-batches-bin or cifar-10-batches-py directory")
    ap.add_argument("--teacher", help="a trained teacher model file (skips step 1)")
    ap.add_argument("--teacher-epochs", type=int, default=30)
    ap.add_argument("--kd-epochs", type=int, default=15)
    ap.add_argument("--every", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0, help="the teacher's initialisation, shuffling and augmentation")
    ap.add_argument("--teacher-only", action="store_true", help="train and evaluate the teacher, no students")
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    d = datasets.load_cifar10(a.data)
    norm = (d.mean, d.std)
    t0 = time.time()
    timings = {}

    def log(tag):
        def cb(p):
            if p["epoch_end"]:
                print(f"{tag} epoch {p['epoch'] + 1}/{p['epochs']}: loss {p['loss']:.4f} train acc {p['accuracy']:.4f} "
                      f"test acc {p['val_accuracy']:.4f} lr {p['lr']:.4g} ({time.time() - t0:.0f} s)", flush=True)
        return cb

    if a.teacher:
        teacher = tailor.Network.load(a.teacher)
    else:
        t = time.time()
        teacher = tailor.zoo.resnet8(seed=a.seed)
        teacher.fit(train=d.train, val=d.test, epochs=a.teacher_epochs, batch_size=128, lr=0.2, schedule="onecycle",
                    momentum=0.9, nesterov=True, weight_decay=5e-4, normalize=norm, progress=False, callback=log("teacher"),
                    seed=a.seed)
        timings["teacher"] = time.time() - t
        teacher.save(os.path.join(a.out, "resnet8_teacher.tailor"))
    results = {"teacher": {"accuracy": teacher.evaluate(*d.test, normalize=norm)["accuracy"], "hardware": hardware(teacher)}}
    for name, algorithm in () if a.teacher_only else (("removed", tailor.remove_skips), ("short", tailor.shorten_skips)):
        t = time.time()
        student = algorithm(teacher, d.train, d.test, every=a.every, epochs=a.kd_epochs, normalize=norm,
                            progress=False, callback=log(name), seed=1)
        timings[name] = time.time() - t
        student.save(os.path.join(a.out, f"resnet8_{name}.tailor"))
        results[name] = {"accuracy": student.evaluate(*d.test, normalize=norm)["accuracy"], "hardware": hardware(student),
                         "history": [{k: v for k, v in r.items() if k != "hardware"} for r in student.history]}
    md = table(results)
    print(md)
    for k, v in timings.items():
        print(f"{k}: {v / 60:.1f} min")
    with open(os.path.join(a.out, "cifar10_results.md"), "w") as f:
        f.write(md + "\n")
    with open(os.path.join(a.out, "cifar10_results.json"), "w") as f:
        json.dump({"results": results, "minutes": {k: v / 60 for k, v in timings.items()},
                   "recipe": {"teacher_epochs": a.teacher_epochs, "kd_epochs": a.kd_epochs, "every": a.every,
                              "targets": {label: options for label, options, _ in TARGETS}}}, f, indent=1)


if __name__ == "__main__":
    main()
