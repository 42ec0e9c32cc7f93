"""Fixed-point Tailor on CIFAR-10 (issue 14's experiment): the networks an FPGA runs, not float ones.

1. float teacher: ResNet-8, the anchor recipe (examples/cifar10_anchor.py), `--teacher-epochs`;
2. for each precision (8-bit hls4ml: ap_fixed<8,3> weights, 8-bit activations; 4-bit for FINN:
   ap_fixed<4,2> weights, 4-bit activations, 8-bit input):
   a. the quantised teacher: the float teacher given the types, then quantisation-aware
      fine-tuning (`--qat-epochs`, lr 0.01 cosine);
   b. SkipRemover and SkipShortener students from it, quantisation-aware throughout (KD from the
      quantised teacher, one block every `--every` epochs, `--student-epochs`);
3. a table: test accuracy of every network — float for the float teacher, and for the quantised
   ones bit for bit what hls4ml's C simulation computes (net.predict(x, quantized=True), checked
   against hls4ml in python/tests/test_fixed_hls4ml.py) — next to the hls4ml design (Vivado,
   FIFO-optimised, at the types the network carries) and the FINN design (4-bit) in BRAM18 / LUT / FF.

    python examples/cifar10_fixed_point.py PATH/cifar-10-batches-bin [--out DIR] [--teacher FILE]

Writes DIR/resnet8_*.tailor, DIR/fixed_point_results.md and .json.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import tailor  # noqa: E402
from tailor import datasets  # noqa: E402

PRECISIONS = {
    # hls4ml: weights ap_fixed<8,3> (rounded, saturating), ReLU outputs 8-bit unsigned, the input 8-bit.
    "8-bit": dict(weight="ap_fixed<8,3,AP_RND_CONV,AP_SAT>", act="ap_ufixed<8,3,AP_RND_CONV,AP_SAT>", input="ap_fixed<8,3,AP_RND_CONV,AP_SAT>"),
    # FINN-style: 4-bit weights and activations, 8-bit input. The BN-folded conv weights of the
    # CIFAR-10 ResNet-8 have a median |w| of 0.04 and a 99th percentile of 0.3: a 4-bit grid of
    # 2^-4 over [-0.5, 0.44] keeps them (ap_fixed<4,2>'s 0.25 steps round almost all to zero); the
    # dense layer's weights reach 2.2 and keep ap_fixed<4,2>.
    "4-bit": dict(weight="ap_fixed<4,0,AP_RND_CONV,AP_SAT>", act="ap_ufixed<4,2,AP_RND_CONV,AP_SAT>", input="ap_fixed<8,3,AP_RND_CONV,AP_SAT>",
                  dense_weight="ap_fixed<4,2,AP_RND_CONV,AP_SAT>"),
}


def precision(net, weight, act, input, dense_weight=None):
    """hls4ml's config layout: the given weight and activation types; conv/dense accumulators and
    results "auto" (exact, so hls4ml folds each BatchNorm), adds exact, pooling inferred."""
    layers = {}
    for n in net.describe()["nodes"]:
        op, name = n["op"], n["name"]
        if op in ("conv2d", "dense"):
            w = dense_weight if op == "dense" and dense_weight else weight
            layers[name] = {"Precision": {"weight": w, "bias": "ap_fixed<16,6>", "accum": "auto", "result": "auto"}}
        elif op == "relu":
            layers[name] = {"Precision": {"result": act}}
        elif op == "input":
            layers[name] = {"Precision": {"result": input}}
        elif op == "add":
            layers[name] = {"Precision": {"result": "auto"}}
        elif op in ("global_avgpool", "avgpool", "maxpool"):
            layers[name] = {"Precision": {"accum": "auto", "result": "auto"}}
    return {"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": layers}


def hardware(net, bits_for_finn=None):
    """hls4ml (Vivado, FIFO-optimised, at the network's types; a float network at ap_fixed<16,6>)
    and FINN (at `bits_for_finn`, FINN's thresholded activations) BRAM18 / LUT / FF."""
    out = {}
    t = tailor.estimate(net, target="hls4ml", bits=16, backend="vivado", depth_policy="optimized").totals["total"]
    out["hls4ml"] = {k: t[k] for k in ("bram18", "lut", "ff")}
    if bits_for_finn:
        t = tailor.estimate(net, target="finn", bits=bits_for_finn, precision_source="config").totals["total"]
        out["finn"] = {k: t[k] for k in ("bram18", "lut", "ff")}
    return out


def accuracy(net, x, y, quantized, limit=None):
    """Test accuracy: float, or bit for bit what the hls4ml design computes (on the first `limit`
    images: the exact fixed-point forward costs about 15-30 ms per CIFAR-10 image)."""
    if not quantized:
        return float((net.predict(x).argmax(1) == y).mean())
    x, y = x[:limit], y[:limit]
    correct = 0
    for i in range(0, len(x), 1000):
        correct += int((net.predict(x[i:i + 1000].astype(np.float64), quantized=True).argmax(1) == y[i:i + 1000]).sum())
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path")
    ap.add_argument("--out", default="fixed_point_run")
    ap.add_argument("--teacher", help="a trained float ResNet-8 (skips step 1)")
    ap.add_argument("--teacher-epochs", type=int, default=30)
    ap.add_argument("--qat-epochs", type=int, default=4)
    ap.add_argument("--student-epochs", type=int, default=8)
    ap.add_argument("--every", type=int, default=2)
    ap.add_argument("--precisions", default="8-bit,4-bit")
    ap.add_argument("--limit", type=int, help="use only this many training and test images (a smoke run)")
    ap.add_argument("--exact-images", type=int, default=2000,
                    help="test images the bit-exact fixed-point accuracy is measured on [2000]")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    d = datasets.load_cifar10(args.path)
    mean, std = np.asarray(d.mean, np.float32).reshape(1, 3, 1, 1), np.asarray(d.std, np.float32).reshape(1, 3, 1, 1)
    xtr, ytr = ((d.x_train - mean) / std).astype(np.float32), d.y_train
    xte, yte = ((d.x_test - mean) / std).astype(np.float32), d.y_test
    if args.limit:
        xtr, ytr, xte, yte = xtr[:args.limit], ytr[:args.limit], xte[:args.limit], yte[:args.limit]
    rows, started = [], time.time()

    def log(*a):
        print(f"[{(time.time() - started) / 60:5.1f} min]", *a, flush=True)

    if args.teacher:
        teacher = tailor.load(args.teacher)
    else:
        teacher = tailor.zoo.create("resnet8", num_classes=10, seed=0)
        teacher.fit((xtr, ytr), (xte, yte), epochs=args.teacher_epochs, batch_size=128, lr=0.2, schedule="onecycle",
                    momentum=0.9, nesterov=True, weight_decay=5e-4, augment=True, progress=False)
        teacher.save(os.path.join(args.out, "resnet8_teacher.tailor"))
    n = args.exact_images
    rows.append(dict(network="float teacher", precision="float32", accuracy=accuracy(teacher, xte[:n], yte[:n], False),
                     accuracy_all=accuracy(teacher, xte, yte, False), hardware=hardware(teacher, bits_for_finn=4)))
    log(rows[-1])
    student_options = dict(every=args.every, epochs=args.student_epochs, lr=0.01, schedule="cosine", batch_size=128,
                           progress=False, quantized=True)
    for label in args.precisions.split(","):
        p = PRECISIONS[label]
        q = teacher.copy()
        q.set_precision(precision(q, **p))
        before = accuracy(q, xte, yte, True, n)
        q.fit((xtr, ytr), (xte[:2000], yte[:2000]), epochs=args.qat_epochs, batch_size=128, lr=0.01, schedule="cosine",
              momentum=0.9, nesterov=True, weight_decay=5e-4, augment=True, progress=False, quantized=True)
        q.save(os.path.join(args.out, f"resnet8_teacher_{label}.tailor"))
        finn_bits = 4 if label == "4-bit" else None
        rows.append(dict(network=f"QAT teacher ({label})", precision=label, accuracy=accuracy(q, xte, yte, True, n),
                         accuracy_before_qat=before, hardware=hardware(q, finn_bits)))
        log(rows[-1])
        for algo, fn in (("SkipRemover", tailor.remove_skips), ("SkipShortener", tailor.shorten_skips)):
            s = fn(q, (xtr, ytr), (xte[:2000], yte[:2000]), **student_options)
            s.save(os.path.join(args.out, f"resnet8_{algo}_{label}.tailor"))
            rows.append(dict(network=f"{algo} ({label})", precision=label, accuracy=accuracy(s, xte, yte, True, n), val_accuracy=s.history[-1]["val_accuracy"],
                             hardware=hardware(s, finn_bits)))
            log(rows[-1])
    with open(os.path.join(args.out, "fixed_point_results.json"), "w") as f:
        json.dump(dict(rows=rows, args=vars(args)), f, indent=1)
    head = (f"| network | precision | test accuracy (first {n:,}; fixed point bit-exact) | "
            "hls4ml BRAM18 / LUT / FF | FINN (4-bit) BRAM18 / LUT / FF |")
    lines = [head, "|---|---|---|---|---|"]
    for r in rows:
        h = r["hardware"]
        fmt = lambda t: " / ".join(f"{t[k]:,}" for k in ("bram18", "lut", "ff")) if t else "–"
        lines.append(f"| {r['network']} | {r['precision']} | {100 * r['accuracy']:.2f} % | {fmt(h['hls4ml'])} | {fmt(h.get('finn'))} |")
    table = "\n".join(lines)
    with open(os.path.join(args.out, "fixed_point_results.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    log("done")


if __name__ == "__main__":
    main()
