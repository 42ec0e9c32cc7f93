"""Quantisation-aware training, Tailor vs Brevitas, side by side in one process.

The network is ResNet-8 (CIFAR-10, 3x32x32, 10 classes) at the 8-bit hls4ml types of
examples/cifar10_fixed_point.py: input ap_fixed<8,3,AP_RND,AP_SAT>, conv and dense weights
ap_fixed<8,3,AP_RND_CONV,AP_SAT>, dense bias ap_fixed<16,6>, ReLU and pooling outputs
ap_ufixed<8,3,AP_RND,AP_SAT>, conv/dense accumulators and results "auto" (so hls4ml folds each
BatchNorm into its conv), adds exact.

1. Step time (always): forward + backward + SGD step (Nesterov 0.9, wd 5e-4) on batch `--batch`,
   median ms per step over `--repeats` interleaved repeats (one warm-up each, every contender
   once per round, so load on a shared machine falls on all alike), threads pinned
   (OPENBLAS_NUM_THREADS, TAILOR_NUM_THREADS, torch.set_num_threads):
     - Tailor float: net.fit over `--steps` fixed batches, no augmentation (as bench/train_bench.py);
     - Tailor QAT: the same with quantized=True;
     - PyTorch float: tailor.to_torch(net), the usual loop;
     - Brevitas QAT "fixed": Brevitas layers whose quantisers are constant power-of-two scales
       equal to our types (see BREVITAS_MAPPING);
     - Brevitas QAT "stock" (--brevitas stock or fixed,stock): Brevitas's own fixed-point
       quantisers (radix point from statistics / learned), for reference.
2. Accuracy (--accuracy PATH/cifar-10-batches-bin): from one float teacher (--teacher FILE, a
   Tailor model file; without it a ResNet-8 is trained here for --teacher-epochs), both sides are
   fine-tuned with the same recipe (SGD Nesterov 0.9, lr 0.01 cosine per batch to 0, wd 5e-4 on
   every parameter, batch 128, random crop (zero padding 4 in normalised space) + flip,
   --epochs) and scored on the test set: Tailor by predict(x, quantized=True), which is bit for
   bit hls4ml 1.3.0's C simulation of the design; Brevitas by its quantised eval-mode forward
   (fake-quantised weights and activations, BatchNorm in float32 with running statistics).

    OPENBLAS_NUM_THREADS=2 python bench/qat_bench.py [--threads 2] [--batch 128] [--steps 4] [--repeats 5]
        [--brevitas fixed,stock] [--accuracy PATH/cifar-10-batches-bin --teacher FILE.tailor
         --epochs 4 [--limit N]] [--json OUT.json]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))

WEIGHT = "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"
ACT = "ap_ufixed<8,3,AP_RND,AP_SAT>"
INPUT = "ap_fixed<8,3,AP_RND,AP_SAT>"
BIAS = "ap_fixed<16,6>"

BREVITAS_MAPPING = """\
quantisation point     Tailor (hls4ml type)                    Brevitas "fixed" (this file)                         Brevitas "stock"
input                  ap_fixed<8,3,AP_RND,AP_SAT>             QuantIdentity, Int8ActPerTensorFixedPoint with        QuantIdentity(Int8ActPerTensorFixedPoint):
                                                               CONST scale 4/128 = 2^-5, round half up, clamp         PoT scale learned, init 99.999th pct, half-even
conv weights           ap_fixed<8,3,AP_RND_CONV,AP_SAT> of     QuantConv2d, Int8WeightPerTensorFixedPoint with       QuantConv2d(Int8WeightPerTensorFixedPoint): narrow
                       the BN-folded weight Q(s*w)/s           narrow_range=False, CONST scale 2^-5, half-even,       [-127,127], PoT scale = ceil to 2^k of max|w|/127
                                                               clamp; quantises w BEFORE the float BatchNorm          each step (per tensor), half-even, w before BN
BatchNorm              folded into the conv (s from running    float32 BatchNorm2d after the quantised conv           same
                       stats), bias in the "auto" result type
ReLU outputs, add+ReLU ap_ufixed<8,3,AP_RND,AP_SAT>            QuantReLU, Uint8ActPerTensorFixedPoint with CONST      QuantReLU(Uint8ActPerTensorFixedPoint): PoT scale
                                                               scale 8/256 = 2^-5, round half up, clamp               learned per layer, init 99.999th pct, half-even
residual add           exact ("auto")                          float add                                              same
global average pool    ap_ufixed<8,3,AP_RND,AP_SAT> (input's)  AvgPool then QuantIdentity(same as ReLU quantiser)     QuantIdentity(Uint8ActPerTensorFixedPoint)
dense weight           ap_fixed<8,3,AP_RND_CONV,AP_SAT>        QuantLinear, as conv weights                          Int8WeightPerTensorFixedPoint
dense bias             ap_fixed<16,6> (AP_TRN, AP_WRAP)        Int8BiasPerTensorFixedPointInternalScaling with       same as "fixed"
                                                               bit_width 16, CONST scale 32/2^15 = 2^-10, floor, clamp
gradients              straight through round; zero where      round: straight through (RoundSte / floor_ste);        clamp of learned-scale acts: zero outside;
                       the type clipped                        clamp: TensorClamp (zero outside), as ours             weights: TensorClampSte (straight through)
"""  # noqa: E501 (a table, as wide as it is)


# ---------------------------------------------------------------------------------------------
# Brevitas network

def brevitas_quantizers(kind):
    """(input, weight, activation, pool, bias) quantiser classes for `kind` "fixed" | "stock"."""
    import torch
    from brevitas.core.function_wrapper import TensorClamp
    from brevitas.function.ops_ste import floor_ste
    from brevitas.inject.enum import FloatToIntImplType, ScalingImplType
    from brevitas.quant.fixed_point import (Int8ActPerTensorFixedPoint, Int8BiasPerTensorFixedPointInternalScaling,
                                            Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint)

    class RoundHalfUpSte(torch.nn.Module):
        """AP_RND: round half toward +inf, floor(x + 1/2), straight-through gradient."""
        def __init__(self):   # an explicit signature: Brevitas's injector refuses *args/**kwargs
            super().__init__()

        def forward(self, x):
            return floor_ste(x + 0.5)

    class FixedBias16_6(Int8BiasPerTensorFixedPointInternalScaling):
        """ap_fixed<16,6>: step 2^-10 (threshold 32 / 2^15), truncation (floor)."""
        bit_width = 16
        scaling_impl_type = ScalingImplType.CONST
        scaling_const = 32.0
        float_to_int_impl_type = FloatToIntImplType.FLOOR
        tensor_clamp_impl = TensorClamp

    if kind == "stock":
        return Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint, Uint8ActPerTensorFixedPoint, \
            Uint8ActPerTensorFixedPoint, FixedBias16_6

    class FixedInput8_3(Int8ActPerTensorFixedPoint):
        """ap_fixed<8,3,AP_RND,AP_SAT>: [-128, 127] x 2^-5, round half up (activation quantisers take
        their constant threshold from max(|min_val|, |max_val|): 4 / 2^7 = 2^-5)."""
        scaling_impl_type = ScalingImplType.CONST
        min_val, max_val = -4.0, 4.0
        float_to_int_impl = RoundHalfUpSte
        tensor_clamp_impl = TensorClamp

    class FixedWeight8_3(Int8WeightPerTensorFixedPoint):
        """ap_fixed<8,3,AP_RND_CONV,AP_SAT>: [-128, 127] x 2^-5, round half to even (torch.round)."""
        narrow_range = False
        scaling_impl_type = ScalingImplType.CONST
        scaling_const = 4.0
        float_to_int_impl_type = FloatToIntImplType.ROUND
        tensor_clamp_impl = TensorClamp

    class FixedAct8_3(Uint8ActPerTensorFixedPoint):
        """ap_ufixed<8,3,AP_RND,AP_SAT>: [0, 255] x 2^-5 (threshold 8 / 2^8), round half up."""
        scaling_impl_type = ScalingImplType.CONST
        max_val = 8.0
        float_to_int_impl = RoundHalfUpSte
        tensor_clamp_impl = TensorClamp

    return FixedInput8_3, FixedWeight8_3, FixedAct8_3, FixedAct8_3, FixedBias16_6


def brevitas_resnet8(kind, num_classes=10, collect_stats_steps=None):
    """ResNet-8 in Brevitas layers, module names as Tailor's / tailor.to_torch's state_dict
    (conv1, bn1, layerK.0.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}, fc), so a Tailor
    state_dict loads by name."""
    import torch.nn as nn
    import brevitas.nn as qnn
    qin, qw, qact, qpool, qbias = brevitas_quantizers(kind)
    extra = {} if collect_stats_steps is None or kind != "stock" else {"collect_stats_steps": collect_stats_steps}

    def conv(cin, cout, k, stride):
        return qnn.QuantConv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False, weight_quant=qw)

    def relu():
        return qnn.QuantReLU(act_quant=qact, **extra)

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1, self.bn1, self.relu1 = conv(cin, cout, 3, stride), nn.BatchNorm2d(cout), relu()
            self.conv2, self.bn2 = conv(cout, cout, 3, 1), nn.BatchNorm2d(cout)
            self.downsample = (nn.Sequential(conv(cin, cout, 1, stride), nn.BatchNorm2d(cout))
                               if stride != 1 or cin != cout else None)
            self.relu = relu()

        def forward(self, x):
            skip = x if self.downsample is None else self.downsample(x)
            return self.relu(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))) + skip)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_quant = qnn.QuantIdentity(act_quant=qin, **extra)
            self.conv1, self.bn1, self.relu = conv(3, 16, 3, 1), nn.BatchNorm2d(16), relu()
            self.layer1 = nn.Sequential(Block(16, 16, 1))
            self.layer2 = nn.Sequential(Block(16, 32, 2))
            self.layer3 = nn.Sequential(Block(32, 64, 2))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.pool_quant = qnn.QuantIdentity(act_quant=qpool, **extra)
            self.fc = qnn.QuantLinear(64, num_classes, bias=True, weight_quant=qw, bias_quant=qbias)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(self.input_quant(x))))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(self.pool_quant(self.avgpool(x)).flatten(1))

    return Net()


def load_tailor_weights(model, net):
    """Copies a Tailor network's weights and BN statistics into `model` by name; every one of
    them must land (the Brevitas model's extra keys are its quantisers' state)."""
    import torch
    sd = {k: torch.from_numpy(v) for k, v in net.state_dict().items()}
    _, unexpected = model.load_state_dict(sd, strict=False)
    lost = [k for k in sd if k in unexpected]
    model_keys = set(model.state_dict())
    absent = [k for k in sd if k not in model_keys]
    if lost or absent:
        raise RuntimeError(f"Tailor weights not loaded into the Brevitas model: {lost or absent}")
    return model


def check_quantizers(tailor, seed=0):
    """Brevitas "fixed" quantisers against tailor.quantize (the exact ap_fixed conversion) on random
    values including exact ties and out-of-range ones: how many of each disagree."""
    import numpy as np
    import torch
    import brevitas.nn as qnn
    qin, qw, qact, _, _ = brevitas_quantizers("fixed")
    rng = np.random.default_rng(seed)
    v = np.concatenate([rng.normal(0, 3, 20000), np.round(rng.uniform(-10, 10, 5000) * 64) / 64]).astype(np.float32)
    out = {}
    ident = qnn.QuantIdentity(act_quant=qin).eval()
    out["input " + INPUT] = ident(torch.from_numpy(v)).detach().numpy().astype(np.float64)
    relu = qnn.QuantReLU(act_quant=qact).eval()
    out["relu " + ACT] = relu(torch.from_numpy(v)).detach().numpy().astype(np.float64)
    lin = qnn.QuantLinear(len(v), 1, bias=False, weight_quant=qw)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(v)[None])
    out["weight " + WEIGHT] = lin.quant_weight().value.detach().numpy().ravel().astype(np.float64)
    expected = {"input " + INPUT: tailor.quantize(v, INPUT),
                "relu " + ACT: tailor.quantize(np.maximum(v, 0), ACT),
                "weight " + WEIGHT: tailor.quantize(v, WEIGHT)}
    return {k: int((out[k] != expected[k]).sum()) for k in out}, len(v)


# ---------------------------------------------------------------------------------------------
# Tailor side

def precision(net):
    """examples/cifar10_fixed_point.py's 8-bit config."""
    layers = {}
    for n in net.describe()["nodes"]:
        op, name = n["op"], n["name"]
        if op in ("conv2d", "dense"):
            layers[name] = {"Precision": {"weight": WEIGHT, "bias": BIAS, "accum": "auto", "result": "auto"}}
        elif op == "relu":
            layers[name] = {"Precision": {"result": ACT}}
        elif op == "input":
            layers[name] = {"Precision": {"result": INPUT}}
        elif op == "add":
            layers[name] = {"Precision": {"result": "auto"}}
        elif op in ("global_avgpool", "avgpool", "maxpool"):
            layers[name] = {"Precision": {"accum": "auto", "result": "auto"}}
    return {"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": layers}


# ---------------------------------------------------------------------------------------------

def step_times(a, tailor, torch):
    import numpy as np
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    n = a.batch * a.steps
    x = rng.normal(size=(n, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    net_f = tailor.zoo.create("resnet8", num_classes=10, seed=0)
    net_q = net_f.copy()
    net_q.set_precision(precision(net_q))

    def tailor_fit(net, quantized):
        def run():
            net.fit(train=(x, y), epochs=1, batch_size=a.batch, lr=0.01, augment=False, shuffle=False,
                    progress=False, keep_optimizer_state=True, quantized=quantized)
        return run

    def torch_loop(model):
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)

        def run():
            for i in range(a.steps):
                opt.zero_grad()
                F.cross_entropy(model(xt[i * a.batch:(i + 1) * a.batch]), yt[i * a.batch:(i + 1) * a.batch]).backward()
                opt.step()
        return run

    contenders = [("Tailor float", tailor_fit(net_f, False)), ("Tailor QAT", tailor_fit(net_q, True)),
                  ("PyTorch float", torch_loop(net_f.to_torch()))]
    for kind in a.brevitas.split(","):
        # stock: activation scales collect statistics for their first steps, then are learned
        # parameters; in the timing they collect for 1 step (the warm-up), then run as in training.
        model = load_tailor_weights(brevitas_resnet8(kind, collect_stats_steps=1), net_f)
        contenders.append((f"Brevitas QAT ({kind})", torch_loop(model)))
    for _, f in contenders:   # warm-up
        f()
    times = {name: [] for name, _ in contenders}
    for _ in range(a.repeats):
        for name, f in contenders:
            t = time.perf_counter()
            f()
            times[name].append((time.perf_counter() - t) / a.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    spread = {k: (min(v), max(v)) for k, v in times.items()}
    print(f"\nstep time, batch {a.batch}, ms per step (median of {a.repeats} interleaved repeats of {a.steps} steps; min-max)")
    for k in med:
        print(f"  {k:26} {1000 * med[k]:8.1f}   ({1000 * spread[k][0]:.1f}-{1000 * spread[k][1]:.1f})")
    ratios = [("Tailor QAT / Tailor float", med["Tailor QAT"] / med["Tailor float"]),
              ("Tailor float / PyTorch float", med["Tailor float"] / med["PyTorch float"])]
    for kind in a.brevitas.split(","):
        b = med[f"Brevitas QAT ({kind})"]
        ratios += [(f"Brevitas QAT ({kind}) / PyTorch float", b / med["PyTorch float"]),
                   (f"Tailor QAT / Brevitas QAT ({kind})", med["Tailor QAT"] / b)]
    # The same ratios round by round (both terms timed back to back), their median: steadier
    # than a ratio of medians when the machine's load changes during the run.
    def paired(p, q):
        return statistics.median(tp / tq for tp, tq in zip(times[p], times[q]))
    pairs = [("Tailor QAT", "Tailor float"), ("Tailor float", "PyTorch float")]
    for kind in a.brevitas.split(","):
        pairs += [(f"Brevitas QAT ({kind})", "PyTorch float"), ("Tailor QAT", f"Brevitas QAT ({kind})")]
    per_round = [paired(p, q) for p, q in pairs]
    print("ratios (lower is faster for the first named): of the medians, and the median of the per-round ratios")
    for (k, r), pr in zip(ratios, per_round):
        print(f"  {k:40} {r:6.2f}   {pr:6.2f}")
    net_f.close()
    net_q.close()
    return {"ms_per_step": {k: 1000 * v for k, v in med.items()},
            "ms_min_max": {k: [1000 * s for s in v] for k, v in spread.items()},
            "ratios": dict(ratios), "ratios_per_round_median": {k: r for (k, _), r in zip(ratios, per_round)},
            "ms_all": {k: [1000 * t for t in v] for k, v in times.items()}}


def accuracy_run(a, tailor, torch):
    import numpy as np
    from tailor import datasets
    F = torch.nn.functional
    d = datasets.load_cifar10(a.accuracy)
    mean = np.asarray(d.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(d.std, np.float32).reshape(1, 3, 1, 1)
    xtr, ytr = ((d.x_train - mean) / std).astype(np.float32), d.y_train.astype(np.int64)
    xte, yte = ((d.x_test - mean) / std).astype(np.float32), d.y_test.astype(np.int64)
    if a.limit:
        xtr, ytr, xte, yte = xtr[:a.limit], ytr[:a.limit], xte[:a.limit], yte[:a.limit]
    started = time.time()

    def log(*m):
        print(f"[{(time.time() - started) / 60:6.1f} min]", *m, flush=True)

    if a.teacher:
        teacher = tailor.load(a.teacher)
    else:
        teacher = tailor.zoo.create("resnet8", num_classes=10, seed=0)
        teacher.fit((xtr, ytr), epochs=a.teacher_epochs, batch_size=128, lr=0.2, schedule="onecycle", momentum=0.9,
                    nesterov=True, weight_decay=5e-4, augment=True, progress=False)
        log(f"trained a float teacher here ({a.teacher_epochs} epochs)")

    def tailor_acc(net, quantized):
        if not quantized:
            return float((net.predict(xte).argmax(1) == yte).mean())
        c = 0
        for i in range(0, len(xte), 1000):
            c += int((net.predict(xte[i:i + 1000].astype(np.float64), quantized=True).argmax(1) == yte[i:i + 1000]).sum())
        return c / len(xte)

    def brevitas_acc(model):
        model.eval()
        c = 0
        with torch.no_grad():
            for i in range(0, len(xte), 1000):
                c += int((model(torch.from_numpy(xte[i:i + 1000])).argmax(1).numpy() == yte[i:i + 1000]).sum())
        model.train()
        return c / len(xte)

    res = {"teacher_float": tailor_acc(teacher, False), "n_train": len(xtr), "n_test": len(xte), "epochs": a.epochs}
    log(f"float teacher: {100 * res['teacher_float']:.2f} %")

    # Tailor: the teacher given the types, quantisation-aware fine-tuning.
    q = teacher.copy()
    q.set_precision(precision(q))
    res["tailor_before"] = tailor_acc(q, True)
    log(f"Tailor, teacher at the 8-bit types before QAT (predict quantized=True): {100 * res['tailor_before']:.2f} %")
    t = time.time()
    q.fit((xtr, ytr), epochs=a.epochs, batch_size=128, lr=0.01, schedule="cosine", momentum=0.9, nesterov=True,
          weight_decay=5e-4, augment=True, progress=False, quantized=True, seed=a.seed)
    res["tailor_train_s"] = time.time() - t
    res["tailor_after"] = tailor_acc(q, True)
    log(f"Tailor QAT {a.epochs} epochs ({res['tailor_train_s']:.0f} s): {100 * res['tailor_after']:.2f} % "
        "(predict quantized=True = hls4ml C simulation)")
    if a.save_dir:
        q.save(os.path.join(a.save_dir, "tailor_qat.tailor"))

    # Brevitas: the same teacher weights, the same recipe.
    for kind in a.brevitas_accuracy.split(","):
        torch.manual_seed(a.seed)
        model = load_tailor_weights(brevitas_resnet8(kind), teacher).train()
        if kind == "fixed":
            res["brevitas_fixed_before"] = brevitas_acc(model)
            log(f"Brevitas (fixed), teacher weights before QAT: {100 * res['brevitas_fixed_before']:.2f} %")
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
        steps_per_epoch = math.ceil(len(xtr) / 128)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs * steps_per_epoch)
        rng = np.random.default_rng(a.seed)
        t = time.time()
        for _ in range(a.epochs):
            order = rng.permutation(len(xtr))
            for b in range(steps_per_epoch):
                idx = order[b * 128:(b + 1) * 128]
                xb = augment(xtr[idx], rng)
                opt.zero_grad()
                F.cross_entropy(model(torch.from_numpy(xb)), torch.from_numpy(ytr[idx])).backward()
                opt.step()
                sched.step()
        res[f"brevitas_{kind}_train_s"] = time.time() - t
        res[f"brevitas_{kind}_after"] = brevitas_acc(model)
        log(f"Brevitas QAT ({kind}) {a.epochs} epochs ({res[f'brevitas_{kind}_train_s']:.0f} s): "
            f"{100 * res[f'brevitas_{kind}_after']:.2f} % (Brevitas quantised eval)")
        # The Brevitas-trained weights deployed as the hls4ml design at this file's 8-bit types
        # (BatchNorm folded into the conv, the folded weight rounded to ap_fixed<8,3>): what an
        # FPGA would compute. For "stock" these are not the types it trained at (its radix points
        # were learned per layer), so read that line as "its float weights at our types".
        deployed = teacher.copy()
        deployed.load_state_dict({k: v.detach().numpy() for k, v in model.state_dict().items()
                                  if k in dict.fromkeys(n for n, _, _ in deployed.param_specs())})
        deployed.set_precision(precision(deployed))
        res[f"brevitas_{kind}_as_hls4ml"] = tailor_acc(deployed, True)
        log(f"Brevitas QAT ({kind}) weights as the hls4ml design at our types (BN folded, predict quantized=True): "
            f"{100 * res[f'brevitas_{kind}_as_hls4ml']:.2f} %")
        deployed.close()
        if a.save_dir:
            torch.save(model.state_dict(), os.path.join(a.save_dir, f"brevitas_{kind}.pt"))
    return res


def augment(xb, rng, pad=4):
    """Random crop (zero padding `pad`, i.e. the mean colour after normalisation) + horizontal
    flip, as torchvision's RandomCrop(32, padding=4) + RandomHorizontalFlip and Tailor's augment."""
    import numpy as np
    n, c, h, w = xb.shape
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), np.float32)
    padded[:, :, pad:pad + h, pad:pad + w] = xb
    dy, dx = rng.integers(0, 2 * pad + 1, n), rng.integers(0, 2 * pad + 1, n)
    flip = rng.random(n) < 0.5
    out = np.empty_like(xb)
    for i in range(n):
        crop = padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w]
        out[i] = crop[:, :, ::-1] if flip[i] else crop
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=4, help="training steps per timed repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--brevitas", default="fixed,stock", help="Brevitas variants to time: fixed, stock")
    ap.add_argument("--no-timing", action="store_true", help="skip the step-time comparison")
    ap.add_argument("--accuracy", metavar="PATH", help="CIFAR-10 (cifar-10-batches-bin or -py): run the accuracy comparison")
    ap.add_argument("--teacher", help="float teacher, a Tailor ResNet-8 model file")
    ap.add_argument("--teacher-epochs", type=int, default=2, help="without --teacher: epochs of a teacher trained here")
    ap.add_argument("--epochs", type=int, default=4, help="QAT fine-tuning epochs")
    ap.add_argument("--limit", type=int, help="only this many training and test images")
    ap.add_argument("--brevitas-accuracy", default="fixed", help="Brevitas variants to fine-tune: fixed, stock")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-dir", help="write the fine-tuned networks here")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(a.threads))
    os.environ.setdefault("TAILOR_NUM_THREADS", str(a.threads))
    import numpy as np  # noqa: F401
    import torch
    import brevitas
    import tailor
    torch.set_num_threads(a.threads)
    tailor._lib.lib()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{when}; threads {a.threads} (OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, "
          f"TAILOR_NUM_THREADS={os.environ['TAILOR_NUM_THREADS']}, torch.set_num_threads), {os.cpu_count()} CPUs; "
          f"torch {torch.__version__}, brevitas {brevitas.__version__}, libtailor {tailor.library_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("\nquantiser mapping:\n" + BREVITAS_MAPPING)
    bad, n = check_quantizers(tailor)
    print("Brevitas 'fixed' quantisers vs tailor.quantize (exact ap_fixed) on", n, "values incl. ties and out-of-range:",
          ", ".join(f"{k}: {v} differ" for k, v in bad.items()))
    out = {"when": when, "args": vars(a), "quantizer_check": bad, "load_average_start": os.getloadavg()[0]}
    if not a.no_timing:
        out["step_time"] = step_times(a, tailor, torch)
    if a.accuracy:
        if a.save_dir:
            os.makedirs(a.save_dir, exist_ok=True)
        out["accuracy"] = accuracy_run(a, tailor, torch)
        r = out["accuracy"]
        print(f"\ntest accuracy ({r['n_test']} images; fine-tuned {r['epochs']} epochs on {r['n_train']})")
        print(f"  float teacher (Tailor, float32)                      {100 * r['teacher_float']:6.2f} %")
        print(f"  Tailor, types set, before QAT (hls4ml-exact)         {100 * r['tailor_before']:6.2f} %")
        if "brevitas_fixed_before" in r:
            print(f"  Brevitas fixed, teacher weights, before QAT          {100 * r['brevitas_fixed_before']:6.2f} %")
        print(f"  Tailor QAT (predict quantized=True, hls4ml-exact)    {100 * r['tailor_after']:6.2f} %   "
              f"{r['tailor_train_s']:.0f} s")
        for kind in a.brevitas_accuracy.split(","):
            print(f"  {f'Brevitas QAT ({kind}, Brevitas quantised eval)':52} "
                  f"{100 * r[f'brevitas_{kind}_after']:6.2f} %   {r[f'brevitas_{kind}_train_s']:.0f} s")
            print(f"  {'  its weights as our hls4ml design (BN folded)':52} {100 * r[f'brevitas_{kind}_as_hls4ml']:6.2f} %")
    out["load_average_end"] = os.getloadavg()[0]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
