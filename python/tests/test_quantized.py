"""Fixed-point inference and quantisation-aware training from Python: errors, overflow reports,
and a quantised fit that validates what the fixed-point design computes. (Bit-exactness against
hls4ml itself: test_fixed_hls4ml.py.)"""
import numpy as np
import pytest

import tailor


def eight_bit(net, act="ap_ufixed<8,3,AP_RND,AP_SAT>"):
    layers = {}
    for n in net.describe()["nodes"]:
        op, name = n["op"], n["name"]
        if op in ("conv2d", "dense"):
            layers[name] = {"Precision": {"weight": "ap_fixed<8,3,AP_RND_CONV,AP_SAT>", "accum": "auto", "result": "auto"}}
        elif op == "relu":
            layers[name] = {"Precision": {"result": act}}
        elif op == "input":
            layers[name] = {"Precision": {"result": "ap_fixed<8,3,AP_RND,AP_SAT>"}}
        elif op in ("add", "global_avgpool"):
            layers[name] = {"Precision": "auto"}
    return {"Model": {"Precision": "ap_fixed<16,6>"}, "LayerName": layers}


@pytest.fixture
def net():
    with tailor.zoo.create("resnet8", num_classes=10, seed=3) as n:
        yield n


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (192, 3, 32, 32)).astype(np.float32)
    # A learnable rule: the class is the brightest of ten image regions.
    y = (x[:, :, :, :30].reshape(192, 3, 32, 10, 3).mean(axis=(1, 2, 4))).argmax(1)
    return x, y


def test_a_float_network_has_no_fixed_point_design(net):
    with pytest.raises(tailor.TailorError, match="precision"):
        net.predict(np.zeros((1, 3, 32, 32)), quantized=True)
    with pytest.raises(tailor.TailorError, match="quantized=True"):
        net.predict(np.zeros((1, 3, 32, 32), np.float32), return_overflows=True)


def test_what_hls4ml_cannot_stream_is_refused_naming_the_node():
    with tailor.zoo.create("resnet18", num_classes=10) as n:
        n.set_precision("ap_fixed<16,6>")
        with pytest.raises(tailor.TailorError, match=r"maxpool.*kernel == stride") as e:
            n.predict(np.zeros((1, 3, 224, 224)), quantized=True)
        assert e.value.status_name == "TAILOR_ERR_UNSUPPORTED"


def test_overflows_are_reported_not_raised(net):
    x = np.random.default_rng(1).normal(0, 2, (4, 3, 32, 32))
    net.set_precision(eight_bit(net))
    y, quiet = net.predict(x, quantized=True, return_overflows=True)
    assert y.dtype == np.float64 and y.shape == (4, 10)
    # A 4-bit wrapping input overflows often; the report names it, the outputs still come back.
    cfg = eight_bit(net)
    cfg["LayerName"]["input"] = {"Precision": {"result": "ap_fixed<4,2>"}}
    net.set_precision(cfg)
    y4, loud = net.predict(x, quantized=True, return_overflows=True)
    assert loud.get("input", 0) > quiet.get("input", 0) and np.isfinite(y4).all()
    one = net.predict(x[0], quantized=True)
    assert one.shape == (10,) and np.array_equal(one, y4[0])


def test_outputs_lie_on_the_result_grid(net):
    cfg = eight_bit(net)
    cfg["LayerName"]["fc"] = {"Precision": {"weight": "ap_fixed<8,3>", "accum": "auto", "result": "ap_fixed<12,4,AP_RND,AP_SAT>"}}
    net.set_precision(cfg)
    y = net.predict(np.random.default_rng(2).normal(0, 1, (8, 3, 32, 32)), quantized=True)
    assert np.array_equal(y, np.round(y * 256) / 256) and np.abs(y).max() <= 8


def test_quantised_training_validates_the_fixed_point_design(net, data):
    x, y = data
    with pytest.raises(tailor.TailorError, match="precision"):
        net.fit((x, y), epochs=1, progress=False, quantized=True)
    net.set_precision(eight_bit(net))
    with net.copy() as float_run:
        float_run.fit((x, y), epochs=2, batch_size=64, lr=0.05, progress=False, augment=False)
        h = net.fit((x, y), (x, y), epochs=2, batch_size=64, lr=0.05, progress=False, augment=False, quantized=True)
        # The quantised run trained something else than the float one.
        assert not np.array_equal(float_run.get_param("conv1.weight"), net.get_param("conv1.weight"))
    # Validation in the fit ran the quantised network: it is the fixed-point design's accuracy
    # (up to the few images where float sums and hls4ml's weight text change a close call).
    exact = float((net.predict(x.astype(np.float64), quantized=True).argmax(1) == y).mean())
    assert abs(h[-1]["val_accuracy"] - exact) <= 3 / len(x), (h[-1]["val_accuracy"], exact)
    assert np.isfinite(h[-1]["loss"])


def test_a_producer_with_its_own_type_before_its_relu_trains_as_the_design_computes(net, data):
    """Adds and BatchNorms whose ReLU the engine computes with them, given types of their own (the
    model default here: the config does not name them): training quantises the pair in order."""
    x, y = data
    cfg = eight_bit(net)
    for name in [n for n in cfg["LayerName"] if n.endswith(".add")]:
        del cfg["LayerName"][name]                   # -> the model default ap_fixed<16,6>
    cfg["LayerName"]["layer1.0.conv1"]["Precision"]["result"] = "ap_fixed<12,4,AP_RND,AP_SAT>"   # BN stays its own layer
    cfg["LayerName"]["layer1.0.bn1"] = {"Precision": {"result": "ap_fixed<10,4,AP_RND_CONV,AP_SAT>"}}
    net.set_precision(cfg)
    design = {layer["node"]: layer for layer in net.fixed_design()["layers"]}
    assert design["layer1.0.add"]["result"]["source"] == "model" and design["layer1.0.bn1"]["kind"] == "batchnorm"
    h = net.fit((x, y), (x, y), epochs=2, batch_size=64, lr=0.05, progress=False, augment=False, quantized=True)
    exact = float((net.predict(x.astype(np.float64), quantized=True).argmax(1) == y).mean())
    assert abs(h[-1]["val_accuracy"] - exact) <= 6 / len(x), (h[-1]["val_accuracy"], exact)


def test_a_shortened_student_carries_the_teachers_types(net):
    net.set_precision(eight_bit(net))
    net.set_modes("short")
    p = net.precision["LayerName"]
    assert p["layer1.0.add1"] == p["layer1.0.add2"] == p["layer1.0.add"] == {"Precision": {"result": "auto"}}
    net.set_modes("long")
    assert "layer1.0.add" in net.precision["LayerName"]


@pytest.mark.filterwarnings("ignore:the teacher's validation accuracy")
def test_remove_skips_with_a_precision_retrains_in_fixed_point(net, data):
    x, y = data
    net.fit((x, y), epochs=1, batch_size=64, progress=False, augment=False)
    cfg = eight_bit(net)
    s = tailor.remove_skips(net, (x, y), (x[:64], y[:64]), every=1, epochs=4, batch_size=64, progress=False,
                            precision=cfg, augment=False)
    assert net.precision is None                       # the caller's network is left as it was
    assert s.precision["LayerName"]["conv1"] == cfg["LayerName"]["conv1"] and len(s.blocks) == 3
    assert all(b.mode == "removed" for b in s.blocks)
    exact = float((s.predict(x[:64].astype(np.float64), quantized=True).argmax(1) == y[:64]).mean())
    assert abs(s.history[-1]["val_accuracy"] - exact) <= 2 / 64


def test_the_design_says_what_predict_computes(net):
    rng = np.random.default_rng(5)
    sd = net.state_dict()
    sd["bn1.weight"] = rng.uniform(0.5, 2, 16).astype(np.float32)
    net.load_state_dict(sd)
    net.set_precision(eight_bit(net))
    layers = {layer["node"]: layer for layer in net.fixed_design()["layers"]}
    assert layers["bn1"] == {"node": "bn1", "inputs": ["conv1"], "kind": "alias", "folded_into": "conv1"}
    assert layers["conv1"]["weight"]["type"] == "ap_fixed<8,3,AP_RND_CONV,AP_SAT>"
    assert layers["conv1"]["weight"]["source"] == "layer"
    assert layers["conv1"]["result"]["source"] == "auto" and layers["conv1"]["accum_holds_exact_sum"]
    w = net.fixed_parameter("conv1", "weight")
    raw = net.get_param("conv1.weight")
    assert w.shape == raw.shape and np.array_equal(w, np.round(w * 32) / 32)   # on the 2^-5 grid
    scale = sd["bn1.weight"] / np.sqrt(net.get_param("bn1.running_var") + 1e-5)
    assert np.abs(w - np.clip(raw * scale[:, None, None, None], -4, 4 - 1 / 32)).max() <= 1 / 64 + 1e-6   # folded, rounded
    with pytest.raises(tailor.NotFoundError):
        net.fixed_parameter("relu", "weight")
