"""Bit-exact fixed-point inference against hls4ml 1.3.0's own C simulation.

``net.predict(x, quantized=True)`` must return exactly (``np.array_equal``, float64) what the
C++ hls4ml generates returns (``hls_model.compile()`` then ``predict()`` on float64 input,
which hls4ml hands back exactly) for the same network and the same precision config.

The network: ResNet-8 with every block long, removed or short, fitted for two epochs on 512
real CIFAR-10 training images (so BatchNorm has real running statistics), then its BatchNorm
gammas, betas and running means moved by a fixed random amount (so folding a BN into its conv,
or not, is visible). hls4ml gets it through its PyTorch front end
(``tailor.hls4ml_fifo.torch_module_for_hls4ml``, io_stream, Vivado, Latency, reuse 1).

One precision config, written once with our node names, is given to both sides:
``net.set_precision(cfg)`` and, names translated, hls4ml's ``hls_config`` (the same keys; a
BatchNorm's ``weight`` is hls4ml's ``scale``; layers the config does not name take the model
default on both sides, hls4ml's lookup order). Configs (model default ap_fixed<16,6>):

A "16-bit"  conv/dense weight and bias <16,6>, accum and result "auto" (hls4ml infers exact
            types and folds every BN into its conv); relu and input <16,6>; add result auto;
            avgpool accum and result auto.                        modes long, removed, short
B "8-bit"   A with weights <8,3,RND_CONV,SAT>, relu and input <8,3,RND,SAT>.
                                                                  modes long, removed, short
C "explicit, saturating"  conv result <16,6,RND,SAT> (so BN stays a layer of its own), conv
            accum <24,8,RND,SAT>; BN scale <12,4>, bias <16,6>, result <16,6,RND_CONV,SAT>;
            add <16,6,RND_CONV,SAT_SYM>; avgpool accum <20,10>, result <16,6,RND_ZERO,SAT>;
            dense accum <18,8,TRN_ZERO,SAT_ZERO>, result auto; relu <16,6>.    long, 25 images
            Its network's BN gammas are moved further (U(0.7, 1.8) instead of U(0.5, 1.5)), so
            its types really saturate (conv, BN, add) and its avgpool accumulator wraps; the
            test checks that something overflowed.

Inputs: the first 100 images of CIFAR-10's test split in ``cifar10_to_bin.py``'s record order
(../shared/data/cifar10-jpeg.tar.gz), normalised with the usual mean/std, float64.

Each of the 7 hls4ml projects is converted, compiled and run once per session: about 15 s to
compile and 25 s to simulate 100 images each (2-core machine; ~5.5 min for the module, almost all
of it hls4ml). Run with ``-s`` for hls4ml's per-layer types and the summary table.
"""
import io
import shutil
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
hls4ml = pytest.importorskip("hls4ml", reason="hls4ml==1.3.0 is not installed (scripts/setup.sh installs it)")
if not hls4ml.__version__.startswith("1.3."):
    pytest.skip(f"the bit-exact target is hls4ml 1.3.x's C simulation; hls4ml {hls4ml.__version__} is installed",
                allow_module_level=True)
if shutil.which("g++") is None:
    pytest.skip("hls4ml's compile() needs g++, which is not on PATH", allow_module_level=True)

import tailor  # noqa: E402
from tailor.datasets import CIFAR10_CLASSES, CIFAR10_MEAN, CIFAR10_STD  # noqa: E402
from tailor.hls4ml_fifo import torch_module_for_hls4ml  # noqa: E402

ARCHIVE = Path(__file__).resolve().parents[3] / "shared" / "data" / "cifar10-jpeg.tar.gz"
N_TEST, N_TRAIN = 100, 512
#: After the fit every BN gamma is multiplied by U(lo, hi): the usual network, and a "hot" one for
#: config C whose larger activations make its saturating types saturate (and its avgpool wrap).
BN_GAMMA = {False: (0.5, 1.5), True: (0.7, 1.8)}
MODES = ("long", "removed", "short")
DEFAULT = "ap_fixed<16,6>"
CONFIG_NAMES = {"A": "16-bit", "B": "8-bit", "C": "explicit, saturating"}
CASES = [("A", m) for m in MODES] + [("B", m) for m in MODES] + [("C", "long")]
IMAGES = {"A": N_TEST, "B": N_TEST, "C": 25}
HOT = {"A": False, "B": False, "C": True}

_ROWS = {}    # (config, mode) -> summary row, filled by the tests
_TIMES = {}   # (config, mode) -> (convert s, compile s, predict s)


# ---- data ------------------------------------------------------------------------------------

def _cifar10(n_test, n_train):
    """The first `n_test` test and `n_train` training images, in the record order
    ../shared/data/cifar10_to_bin.py writes (names sorted, then a seed-0 permutation): the same
    images as the first records of its test_batch.bin and data_batch_1.bin. uint8 NCHW, labels."""
    blobs = {}
    with tarfile.open(ARCHIVE, "r:gz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".jpg"):
                blobs[member.name] = tar.extractfile(member).read()
    from PIL import Image
    out = []
    for split, n in (("test", n_test), ("train", n_train)):
        names = sorted(k for k in blobs if k.startswith(split + "/"))
        order = np.random.default_rng(0).permutation(len(names))[:n]
        x = np.stack([np.asarray(Image.open(io.BytesIO(blobs[names[i]])).convert("RGB"), dtype=np.uint8)
                      for i in order]).transpose(0, 3, 1, 2)
        y = np.array([CIFAR10_CLASSES.index(names[i].split("/")[1]) for i in order], dtype=np.int64)
        out.append((x, y))
    return out


def _normalise(u8):
    mean = np.asarray(CIFAR10_MEAN, dtype=np.float64)[:, None, None]
    std = np.asarray(CIFAR10_STD, dtype=np.float64)[:, None, None]
    return (u8.astype(np.float64) / 255.0 - mean) / std


@pytest.fixture(scope="module")
def data():
    if not ARCHIVE.is_file():
        pytest.skip(f"CIFAR-10 is not at {ARCHIVE} (../shared/data/cifar10-jpeg.tar.gz)")
    pytest.importorskip("PIL", reason="reading the CIFAR-10 JPEG archive needs Pillow")
    t0 = time.perf_counter()
    (xt, yt), (xr, yr) = _cifar10(N_TEST, N_TRAIN)
    x = np.ascontiguousarray(_normalise(xt))            # float64, the quantised inputs
    print(f"\nCIFAR-10: {len(x)} test + {len(xr)} training images in {time.perf_counter() - t0:.1f} s")
    return {"x": x, "y": yt, "x_train": _normalise(xr).astype(np.float32), "y_train": yr}


# ---- networks --------------------------------------------------------------------------------

def _make_net(mode, data, hot=False):
    """ResNet-8 in `mode`, fitted briefly on real images, BN parameters then moved (fixed seed)."""
    net = tailor.zoo.create("resnet8", num_classes=10, seed=0)
    net.set_modes(mode)
    net.fit((data["x_train"], data["y_train"]), epochs=2, batch_size=64, lr=0.05, augment=False,
            progress=False, seed=0)
    rng = np.random.default_rng(7)
    sd = net.state_dict()
    bns = [n["name"] for n in net.describe()["nodes"] if n["op"] == "batchnorm"]
    for bn in bns:
        c = sd[f"{bn}.weight"].shape
        sd[f"{bn}.weight"] = (sd[f"{bn}.weight"] * rng.uniform(*BN_GAMMA[hot], c)).astype(np.float32)
        sd[f"{bn}.bias"] = (sd[f"{bn}.bias"] + rng.normal(0, 0.2, c)).astype(np.float32)
        sd[f"{bn}.running_mean"] = (sd[f"{bn}.running_mean"]
                                    + rng.normal(0, 0.2, c) * np.sqrt(sd[f"{bn}.running_var"])).astype(np.float32)
    net.load_state_dict(sd)
    for bn in bns:   # really non-trivial: no BN is the identity
        assert not np.allclose(net.get_param(f"{bn}.running_mean"), 0)
        assert not np.allclose(net.get_param(f"{bn}.running_var"), 1)
        assert not np.allclose(net.get_param(f"{bn}.weight"), 1)
    return net


@pytest.fixture(scope="module")
def nets(data):
    """(mode, hot) -> {"net", "float"}: one fitted network per mode (made on first use) and its
    float logits on the test images."""
    cache = {}

    def get(mode, hot=False):
        key = (mode, hot)
        if key not in cache:
            t0 = time.perf_counter()
            net = _make_net(mode, data, hot)
            ref = net.predict(data["x"].astype(np.float32)).astype(np.float64)
            acc = float((ref.argmax(1) == data["y"]).mean())
            print(f"\n[{mode}{' hot' if hot else ''}] fitted in {time.perf_counter() - t0:.1f} s; float top-1 "
                  f"accuracy on the {len(ref)} test images {acc:.2f}")
            cache[key] = {"net": net, "float": ref}
        return cache[key]

    yield get
    for entry in cache.values():
        entry["net"].close()


# ---- the precision configs, ours and hls4ml's -----------------------------------------------

def our_config(net, name):
    """Config `name` ("A", "B", "C") in hls4ml's layout with our node names."""
    if name == "B":
        weight, act = "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "ap_fixed<8,3,AP_RND,AP_SAT>"
    else:
        weight, act = "ap_fixed<16,6>", "ap_fixed<16,6>"
    layers = {}
    for n in net.describe()["nodes"]:
        op = n["op"]
        if op in ("input", "relu"):
            p = {"result": act}
        elif op in ("conv2d", "dense"):
            p = {"weight": weight, "bias": "ap_fixed<16,6>", "accum": "auto", "result": "auto"}
            if name == "C" and op == "conv2d":
                p.update(accum="ap_fixed<24,8,AP_RND,AP_SAT>", result="ap_fixed<16,6,AP_RND,AP_SAT>")
            elif name == "C":
                p.update(accum="ap_fixed<18,8,AP_TRN_ZERO,AP_SAT_ZERO>")
        elif op == "add":
            p = {"result": "ap_fixed<16,6,AP_RND_CONV,AP_SAT_SYM>" if name == "C" else "auto"}
        elif op == "global_avgpool":
            p = ({"accum": "ap_fixed<20,10>", "result": "ap_fixed<16,6,AP_RND_ZERO,AP_SAT>"} if name == "C"
                 else {"accum": "auto", "result": "auto"})
        elif op == "batchnorm" and name == "C":
            p = {"weight": "ap_fixed<12,4>", "bias": "ap_fixed<16,6>", "result": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"}
        else:
            continue   # BN in A/B (folded by hls4ml), flatten: the model default on both sides
        layers[n["name"]] = {"Precision": p}
    return {"Model": {"Precision": DEFAULT}, "LayerName": layers}


def hls4ml_names(net, module):
    """{our node name: hls4ml layer name} for the PyTorch front end: '.' -> '_', the input is
    'x', adds are fx's 'add', 'add_1', ... in topological order. Checked against hls4ml's own
    list of layer names (order included); a mismatch fails loudly."""
    nodes = net.describe()["nodes"]
    theirs = list(hls4ml.utils.config_from_pytorch_model(
        module, input_shape=tuple(nodes[0]["shape"]), granularity="name", backend="Vivado",
        channels_last_conversion="full", transpose_outputs=False)["LayerName"])
    mapping, adds = {}, 0
    for n in nodes:
        if n["op"] == "input":
            mapping[n["name"]] = "x"
        elif n["op"] == "add":
            mapping[n["name"]] = "add" if adds == 0 else f"add_{adds}"
            adds += 1
        else:
            mapping[n["name"]] = n["name"].replace(".", "_")
    assert list(mapping.values()) == theirs, \
        f"our nodes do not line up with hls4ml's layers:\nours   {list(mapping.items())}\nhls4ml {theirs}"
    return mapping


def hls4ml_config(ours, mapping, ops, input_shape):
    """Our config as hls4ml's hls_config: the same entries under hls4ml's layer names."""
    layers = {}
    for name, entry in ours["LayerName"].items():
        p = dict(entry["Precision"])
        if ops[name] == "batchnorm" and "weight" in p:
            p["scale"] = p.pop("weight")
        layers[mapping[name]] = {"Precision": p}
    return {"Model": {"Precision": {"default": ours["Model"]["Precision"]}, "ReuseFactor": 1, "Strategy": "Latency",
                      "BramFactor": 1000000000, "TraceOutput": False,
                      "ChannelsLastConversion": "full", "TransposeOutputs": False},
            "InputShape": tuple(input_shape), "LayerName": layers}


def layer_types(hm):
    return {layer.name: (layer.class_name, {k: str(v.precision) for k, v in layer.types.items()}) for layer in hm.get_layers()}


def _types_text(types):
    return "\n".join(f"  {name:28} {cls:18} " + ", ".join(f"{k}={v}" for k, v in t.items())
                     for name, (cls, t) in types.items())


def _same_type(a, b):
    """Two type strings name the same type (ap_ prefixes, AP_ modes and default TRN/WRAP/0 aside)."""
    def norm(t):
        t = t.replace("ap_", "").replace("AP_", "").replace(" ", "")
        head, _, args = t.partition("<")
        args = args.rstrip(">").split(",")
        args += ["TRN", "WRAP", "0"][len(args) - 2:] if head.endswith("fixed") else []
        return head, tuple(args)
    return norm(a) == norm(b)


def _check_types_taken(config, mode, ours, mapping, types):
    """Every type our config names shows up in hls4ml's layer types (hls4ml took the config).
    Skipped: "auto" (inferred), BNs folded away, and the bias of a conv without one (hls4ml
    types its zero bias uint<1> whatever the config says)."""
    for node, entry in ours["LayerName"].items():
        if mapping[node] not in types:
            continue
        cls, t = types[mapping[node]]
        for role, want in entry["Precision"].items():
            if want == "auto":
                continue
            got = t.get("scale_t" if cls == "BatchNormalization" and role == "weight" else f"{role}_t")
            if role == "bias" and got == "uint<1>":
                continue
            assert got is not None and _same_type(got, want), \
                f"{config}/{mode}: hls4ml's {mapping[node]}.{role} is {got}, the config says {want}"


# ---- hls4ml projects: converted, compiled and run once per session --------------------------

@pytest.fixture(scope="module")
def projects(tmp_path_factory, data, nets):
    """(config, mode) -> {"y": hls4ml's float64 outputs, "types": per-layer types}."""
    cache = {}
    shown = set()

    def get(config, mode):
        key = (config, mode)
        if key not in cache:
            net = nets(mode, HOT[config])["net"]
            module = torch_module_for_hls4ml(net)
            mapping = hls4ml_names(net, module)
            ops = {n["name"]: n["op"] for n in net.describe()["nodes"]}
            cfg = hls4ml_config(our_config(net, config), mapping, ops, net.input_shape)
            out_dir = tmp_path_factory.mktemp(f"hls4ml_{config}_{mode}")
            t0 = time.perf_counter()
            hm = hls4ml.converters.convert_from_pytorch_model(module, hls_config=cfg, io_type="io_stream",
                                                              backend="Vivado", output_dir=str(out_dir),
                                                              project_name="r8")
            t1 = time.perf_counter()
            hm.compile()
            t2 = time.perf_counter()
            x = np.ascontiguousarray(data["x"][:IMAGES[config]])
            y = hm.predict(x)
            assert isinstance(y, np.ndarray) and y.dtype == np.float64, "hls4ml's float64 predict() is the exact one"
            y = y.reshape(len(x), -1)
            t3 = time.perf_counter()
            _TIMES[key] = (t1 - t0, t2 - t1, t3 - t2)
            types = layer_types(hm)
            _check_types_taken(config, mode, our_config(net, config), mapping, types)
            print(f"\n[hls4ml {config} {mode}] convert {t1 - t0:.1f} s, compile {t2 - t1:.1f} s, "
                  f"predict {len(x)} images {t3 - t2:.1f} s")
            if config not in shown:
                shown.add(config)
                print(f"hls4ml layer types, config {config} ({CONFIG_NAMES[config]}), {mode}:\n{_types_text(types)}")
            cache[key] = {"y": y, "types": types}
        return cache[key]

    return get


# ---- the tests -------------------------------------------------------------------------------

def _differences(ours, theirs, limit=8):
    bad = np.argwhere(ours != theirs)
    diff = np.abs(ours - theirs)
    lines = [f"{len(bad)} of {ours.size} values differ; largest difference {diff.max():.6g}"]
    for s, i in bad[:limit]:
        lines.append(f"  sample {s} logit {i}: ours {float(ours[s, i])!r} hls4ml {float(theirs[s, i])!r} "
                     f"(diff {ours[s, i] - theirs[s, i]:.6g})")
    return "\n".join(lines)


def _overflow_text(overflows):
    total = sum(overflows.values())
    return "0" if not total else f"{total} in {sum(1 for v in overflows.values() if v)} places"


@pytest.mark.parametrize("config, mode", CASES, ids=[f"{c}-{m}" for c, m in CASES])
def test_quantized_predict_is_bit_exact_with_hls4ml(data, nets, projects, config, mode):
    entry = nets(mode, HOT[config])
    net = entry["net"]
    hls = projects(config, mode)
    theirs = hls["y"]
    n = IMAGES[config]
    x = np.ascontiguousarray(data["x"][:n])
    ref = entry["float"][:n]
    row = _ROWS[(config, mode)] = {"exact": None, "top1": float((theirs.argmax(1) == ref.argmax(1)).mean()),
                                   "maxdiff": float(np.abs(theirs - ref).max())}
    net.set_precision(our_config(net, config))
    t0 = time.perf_counter()
    ours = net.predict(x, quantized=True)
    row["ours_s"] = time.perf_counter() - t0
    assert isinstance(ours, np.ndarray) and ours.dtype == np.float64 and ours.shape == theirs.shape == (n, 10), \
        (type(ours), getattr(ours, "dtype", None), getattr(ours, "shape", None), theirs.shape)
    row["exact"] = exact = bool(np.array_equal(ours, theirs))
    assert exact, (f"config {config} ({CONFIG_NAMES[config]}), {mode}: "
                   f"{_differences(ours, theirs)}\nhls4ml's layer types:\n{_types_text(hls['types'])}")
    # the same outputs with the overflow counts; which conversions overflowed goes in the table
    again, overflows = net.predict(x, quantized=True, return_overflows=True)
    assert np.array_equal(again, ours)
    row["overflows"] = _overflow_text(overflows)
    if config == "C":
        assert sum(overflows.values()) > 0, \
            "config C's network overflows none of its types: the case would not test saturation"
    print(f"\n[{config} {mode}] overflows: " + (", ".join(f"{k} {v}" for k, v in overflows.items() if v) or "none"))


@pytest.mark.parametrize("mode", MODES)
def test_the_comparison_can_fail(data, nets, projects, mode):
    """8-bit quantisation is visible (hls4ml's outputs are not the float ones, nor the 16-bit
    ones), and our side follows the config: one changed rounding mode changes our outputs."""
    entry = nets(mode)
    net = entry["net"]
    a, b = projects("A", mode)["y"], projects("B", mode)["y"]
    ref = entry["float"]
    assert not np.array_equal(b, ref) and np.abs(b - ref).max() > 2.0 ** -5
    assert not np.array_equal(a, b)
    agree = float((b.argmax(1) == ref.argmax(1)).mean())
    print(f"\n[{mode}] 8-bit hls4ml vs float: top-1 agreement {agree:.2f}, max |logit diff| "
          f"{np.abs(b - ref).max():.4f}; 16-bit: {float((a.argmax(1) == ref.argmax(1)).mean()):.2f}, "
          f"{np.abs(a - ref).max():.4f}")
    changed = our_config(net, "B")
    changed["LayerName"]["input"]["Precision"]["result"] = "ap_fixed<8,3,AP_TRN,AP_SAT>"   # was AP_RND
    net.set_precision(changed)
    ours = net.predict(np.ascontiguousarray(data["x"]), quantized=True)
    assert not np.array_equal(ours, b), "the input's rounding mode does not change our quantised outputs"


def test_summary_table():
    """Prints config x mode: images, bit-exact, top-1 agreement and max |logit diff| of the
    fixed-point outputs (hls4ml's) against our float outputs, the conversions that overflowed
    (our count), and the times (always passes)."""
    if not _ROWS and not _TIMES:
        pytest.skip("no comparison ran")
    print(f"\nhls4ml {hls4ml.__version__}, ResNet-8, CIFAR-10 test images; fixed = hls4ml C simulation "
          "(= ours where bit-exact), float = net.predict float32")
    head = ["config", "mode", "images", "bit-exact", "top-1 fixed=float", "max|fixed-float|", "overflows",
            "hls4ml convert/compile/predict s", "ours s"]
    lines = []
    for key in CASES:
        r, t = _ROWS.get(key), _TIMES.get(key)
        if r is None and t is None:
            continue
        r = r or {}
        exact = {None: "-", True: "yes", False: "NO"}[r.get("exact")]
        lines.append([f"{key[0]} {CONFIG_NAMES[key[0]]}" + (" (hot BN)" if HOT[key[0]] else ""), key[1],
                      str(IMAGES[key[0]]), exact, f"{r['top1']:.2f}" if r else "-",
                      f"{r['maxdiff']:.4f}" if r else "-", r.get("overflows", "-"),
                      "/".join(f"{v:.1f}" for v in t) if t else "-",
                      f"{r['ours_s']:.1f}" if "ours_s" in r else "-"])
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(head)]
    for cells in [head] + lines:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))))
    if _TIMES:
        print(f"hls4ml total: convert {sum(t[0] for t in _TIMES.values()):.1f} s, compile "
              f"{sum(t[1] for t in _TIMES.values()):.1f} s, predict {sum(t[2] for t in _TIMES.values()):.1f} s")
