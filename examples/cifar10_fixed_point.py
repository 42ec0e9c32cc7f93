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
   FIFO-optimised, Resource strategy at reuse 16384 as the MLPerf Tiny hls4ml ResNet was built, at the
   types the network carries) and the FINN design (4-bit) in BRAM18 / LUT / FF / DSP.

    python examples/cifar10_fixed_point.py PATH/cifar-10-batches-bin [--out DIR] [--teacher FILE]

Writes DIR/resnet8_*.tailor, DIR/fixed_point_results.md and .json.
"""
import argparse
import functools
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

import tailor
from tailor import datasets

PRECISIONS = {
    # hls4ml: weights ap_fixed<8,3> (rounded, saturating), ReLU outputs 8-bit unsigned, the input 8-bit.
    "8-bit": dict(weight="ap_fixed<8,3,AP_RND_CONV,AP_SAT>", act="ap_ufixed<8,3,AP_RND_CONV,AP_SAT>",
                  input="ap_fixed<8,3,AP_RND_CONV,AP_SAT>"),
    # FINN-style: 4-bit weights and activations, 8-bit input. The BN-folded conv weights of the
    # CIFAR-10 ResNet-8 have a median |w| of 0.04 and a 99th percentile of 0.3: a 4-bit grid of
    # 2^-4 over [-0.5, 0.44] keeps them (ap_fixed<4,2>'s 0.25 steps round almost all to zero); the
    # dense layer's weights reach 2.2 and keep ap_fixed<4,2>.
    "4-bit": dict(weight="ap_fixed<4,0,AP_RND_CONV,AP_SAT>", act="ap_ufixed<4,2,AP_RND_CONV,AP_SAT>",
                  input="ap_fixed<8,3,AP_RND_CONV,AP_SAT>", dense_weight="ap_fixed<4,2,AP_RND_CONV,AP_SAT>"),
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


# The hls4ml design as the published MLPerf Tiny hls4ml ResNet (RN07) was built: Vivado backend,
# io_stream, Resource strategy, ReuseFactor 16384 requested everywhere (hls4ml moves each layer to
# its closest valid value), FIFOs sized from simulation. Fully parallel (reuse 1) would ask for
# one multiplier per weight: 77,360 DSPs at 16 bits, no device has them.
HLS4ML = dict(target="hls4ml", bits=16, backend="vivado", depth_policy="optimized", strategy="resource", reuse_factor=16384)
FINN = dict(target="finn", precision_source="config", reuse_factor=16384)
RESOURCES = ("bram18", "lut", "ff", "dsp")


def hardware(net, bits_for_finn=None):
    """hls4ml (`HLS4ML`, at the network's types; a float network at ap_fixed<16,6>) and FINN (at
    `bits_for_finn`, FINN's thresholded activations) BRAM18 / LUT / FF / DSP."""
    out = {}
    t = tailor.estimate(net, **HLS4ML).totals["total"]
    out["hls4ml"] = {k: t[k] for k in RESOURCES}
    if bits_for_finn:
        t = tailor.estimate(net, bits=bits_for_finn, **FINN).totals["total"]
        out["finn"] = {k: t[k] for k in RESOURCES}
    return out


def _resources(totals):
    """BRAM18 / LUT / FF / DSP, or a dash for a design not priced."""
    return " / ".join(f"{totals[k]:,}" for k in RESOURCES) if totals else "–"


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
    def trained(path, train, *args):
        """The network at `path` if an earlier run of this script left it there, else `train(*args)`
        saved to `path`: a stopped experiment restarts where it stopped."""
        if os.path.exists(path):
            log(f"reusing {path}")
            return tailor.load(path), False
        net = train(*args)
        net.save(path)
        return net, True

    def qat_teacher(label, types):
        q = teacher.copy()
        q.set_precision(precision(q, **types))
        log(f"{label}: before QAT {accuracy(q, xte, yte, True, n):.2%}")
        q.fit((xtr, ytr), (xte[:2000], yte[:2000]), epochs=args.qat_epochs, batch_size=128, lr=0.01,
              schedule="cosine", momentum=0.9, nesterov=True, weight_decay=5e-4, augment=True, progress=False,
              quantized=True)
        return q

    for label in args.precisions.split(","):
        q, _ = trained(os.path.join(args.out, f"resnet8_teacher_{label}.tailor"), qat_teacher, label, PRECISIONS[label])
        finn_bits = 4 if label == "4-bit" else None
        rows.append(dict(network=f"QAT teacher ({label})", precision=label, accuracy=accuracy(q, xte, yte, True, n),
                         hardware=hardware(q, finn_bits)))
        log(rows[-1])
        for algo, fn in (("SkipRemover", tailor.remove_skips), ("SkipShortener", tailor.shorten_skips)):
            s, new = trained(os.path.join(args.out, f"resnet8_{algo}_{label}.tailor"),
                             functools.partial(fn, **student_options), q, (xtr, ytr), (xte[:2000], yte[:2000]))
            rows.append(dict(network=f"{algo} ({label})", precision=label, accuracy=accuracy(s, xte, yte, True, n),
                             hardware=hardware(s, finn_bits)))
            if new:
                rows[-1]["val_accuracy"] = s.history[-1]["val_accuracy"]
            log(rows[-1])
    with open(os.path.join(args.out, "fixed_point_results.json"), "w") as f:
        json.dump(dict(rows=rows, args=vars(args)), f, indent=1)
    head = (f"| network | precision | test accuracy (first {n:,}; fixed point bit-exact) | "
            "hls4ml BRAM18 / LUT / FF / DSP | FINN (4-bit) BRAM18 / LUT / FF / DSP |")
    lines = [head, "|---|---|---|---|---|"]
    for r in rows:
        h = r["hardware"]
        lines.append(f"| {r['network']} | {r['precision']} | {100 * r['accuracy']:.2f} % | {_resources(h['hls4ml'])} | "
                     f"{_resources(h.get('finn'))} |")
    table = "\n".join(lines)
    with open(os.path.join(args.out, "fixed_point_results.md"), "w") as f:
        f.write(table + "\n")
    print(table)
    log("done")


if __name__ == "__main__":
    main()
