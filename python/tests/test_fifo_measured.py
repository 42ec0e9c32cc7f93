"""The dataflow simulation against FIFO occupancies measured in RTL co-simulation of a published
hls4ml design (MLPerf Tiny v0.7 hls4ml submission "RN07"; ../shared/data/hls4ml_fifo, its README
says what each file is). The design is imported from its own Keras model configuration and hls4ml
configuration, simulated, and every stream's maximum is compared with what Vivado HLS measured:
each must be within max(2 words, 5 %). The table is printed (pytest -s shows it).
"""
import json
import math
from pathlib import Path

import pytest

import tailor

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "data" / "hls4ml_fifo"
pytestmark = pytest.mark.skipif(not (FIXTURE / "max_depth_rf16384.json").exists(),
                                reason=f"the measured hls4ml design is not at {FIXTURE} (../shared/data/hls4ml_fifo)")


def design_from_keras(model_config: dict, convert: dict) -> dict:
    """The hls4ml io_stream design of a sequential QKeras model as the fork that built RN07 made it:
    'same' convolutions get an explicit ZeroPadding2D (Keras' split: the extra row/column at the
    bottom/right), a 1×1 conv none; BN is folded into the conv (QConv2DBatchnorm); ReLUs are merged
    into the convs (MergedRelu: 1); the final softmax is removed (RemoveSoftmax: 1); a Flatten is no
    layer in io_stream. Reuse factor and Strategy come from the hls4ml configuration."""
    rf, strategy = convert["ReuseFactor"], convert["Strategy"].lower()
    merged_relu, remove_softmax = convert.get("MergedRelu", 0), convert.get("RemoveSoftmax", 0)
    layers, prev, (h, w) = [], None, (None, None)
    for layer in model_config["config"]["layers"]:
        cls, c = layer["class_name"], layer["config"]
        name = c["name"]
        if cls == "InputLayer":
            h, w, ch = c["batch_input_shape"][1:]
            layers.append({"name": name, "class": "Input", "shape": [h, w, ch]})
        elif cls in ("QActivation", "Activation"):
            act = c["activation"]
            act = act["class_name"] if isinstance(act, dict) else act
            if (act == "softmax" and remove_softmax) or ("relu" in act and merged_relu):
                continue
            layers.append({"name": name, "class": "Activation", "inputs": [prev]})
        elif cls in ("QConv2DBatchnorm", "QConv2D", "Conv2D"):
            (kh, kw), (sh, sw) = c["kernel_size"], c["strides"]
            if c["padding"] == "same":
                oh, ow = math.ceil(h / sh), math.ceil(w / sw)
            else:
                oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
            if (kh, kw) != (1, 1):
                ph, pw = (max((oh - 1) * sh + kh - h, 0), max((ow - 1) * sw + kw - w, 0)) if c["padding"] == "same" else (0, 0)
                layers.append({"name": f"zp2d_{name}", "class": "ZeroPadding2D", "inputs": [prev],
                               "pad": [ph // 2, ph - ph // 2, pw // 2, pw - pw // 2]})
                prev = f"zp2d_{name}"
            layers.append({"name": name, "class": "Conv2D", "inputs": [prev], "filters": c["filters"], "kernel": [kh, kw],
                           "stride": [sh, sw], "reuse_factor": rf, "strategy": strategy})
            h, w = oh, ow
        elif cls == "Flatten":
            layers.append({"name": name, "class": "Reshape", "inputs": [prev]})
        elif cls in ("QDense", "Dense"):
            layers.append({"name": name, "class": "Dense", "inputs": [prev], "units": c["units"], "reuse_factor": rf,
                           "strategy": strategy})
        else:
            raise ValueError(f"layer {name}: class {cls} is not handled by this importer")
        prev = name
    interface = "axi_wrapper" if convert["Backend"] == "VivadoAccelerator" else "stream"
    return {"interface": interface, "layers": layers}


def test_simulation_reproduces_every_measured_fifo():
    import yaml
    model_config = json.loads((FIXTURE / "model_best.h5.model_config.json").read_text())
    convert = yaml.safe_load((FIXTURE / "tiny2_pynq-z2_rf16384.yml").read_text())["convert"]
    rows = json.loads((FIXTURE / "streams_rf16384.json").read_text())
    measured = {m["name"]: m["max"] for m in json.loads((FIXTURE / "max_depth_rf16384.json").read_text())}

    result = tailor.simulate_design(design_from_keras(model_config, convert))
    ours = {(s["producer"], s["consumer"]): s for s in result["streams"]}
    # The fixture names each FIFO's producer and consumer layer; the AXI wrapper's two are the input's and output's.
    by_layers = {}
    for r in rows["rows"]:
        prod = r["producer"].split(" (")[0]
        cons = r["consumer"].split(" (")[0].replace("flatten", "q_dense")
        if prod.startswith("axi wrapper"):
            prod = "input_1"
        if cons.startswith("axi wrapper"):
            cons = "q_dense_output"
        by_layers[r["json_name"]] = (prod, cons, r)

    lines = [f"{'stream (Vivado HLS FIFO)':34} {'shape':>12} {'default':>8} {'measured':>9} {'simulated':>10}  ok"]
    misses = []
    for fifo, m in measured.items():
        prod, cons, r = by_layers[fifo]
        s = ours[(prod, cons)]
        sim = s["hls4ml_max"]
        ok = abs(sim - m) <= max(2, 0.05 * m)
        lines.append(f"{fifo:34} {'x'.join(map(str, s['shape'])):>12} {s['default_depth']:>8} {m:>9} {sim:>10}  "
                     f"{'yes' if ok else 'NO'}")
        if not ok:
            misses.append((fifo, m, sim))
    print("\n" + "\n".join(lines))
    # Effective reuse factors: hls4ml moved the requested 16384 to these (the fixture's effective_rf).
    rfs = {p["name"]: p["reuse_factor"] for p in result["processes"]}
    assert [rfs[n] for n in ("q_conv2d_batchnorm", "q_conv2d_batchnorm_1", "q_conv2d_batchnorm_2",
                             "q_conv2d_batchnorm_3", "q_conv2d_batchnorm_4", "q_dense")] == \
           [rows["effective_rf"][k] for k in ("4", "7", "10", "13", "16", "18")]
    assert len(measured) == 11 and not misses, misses
