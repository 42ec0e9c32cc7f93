"""QONNX export of a network that carries fixed-point types (``net.export_onnx(path, quantized=True)``).

The exported graph must be valid QONNX (qonnx's ModelWrapper, clean-up and execution run it) and
must make hls4ml 1.3.0 build the design ``net.predict(x, quantized=True)`` computes: hls4ml's
ONNX front end (QONNX clean-up, channels-last, GemmToMatMul, ``config_from_onnx_model`` through
``tailor.onnx_export.hls4ml_config``, io_stream, Vivado) is compiled once per session, and its C
simulation of 20 float64 inputs must equal our fixed-point predict bit for bit.

The network: ResNet-8 fitted one epoch on 512 random images (so every BatchNorm has running
statistics of its own), its BN gammas, betas and means then moved by a fixed random amount (so
the folded weights and biases are far from the conv's). Its types: 8-bit weights in several
modes (AP_RND_CONV/AP_SAT, AP_TRN/AP_SAT on the convs whose weights hls4ml's text round trip
moves, AP_SAT_SYM, a wrapping ap_fixed<7,0> and a saturating ap_fixed<6,0> that really overflow),
16-bit biases, an 8-bit input that saturates (AP_SAT_SYM), 8-bit ReLU outputs (ROUND and FLOOR;
one signed AP_TRN_ZERO/AP_SAT_SYM, which a ReLU's positive outputs convert as AP_TRN/AP_SAT),
conv/dense accumulators and results, adds and the global average pool "auto" (exact; every BN
folds into its conv). About 30 s, almost all of it hls4ml's compile and C simulation.
"""
import shutil

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("qonnx", reason="qonnx is not installed (scripts/setup.sh installs it)")
from qonnx.core.modelwrapper import ModelWrapper  # noqa: E402
from qonnx.core.onnx_exec import execute_onnx  # noqa: E402
from qonnx.custom_op.general.quant import quant as qonnx_quant  # noqa: E402
from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean  # noqa: E402
from qonnx.transformation.gemm_to_matmul import GemmToMatMul  # noqa: E402
from qonnx.util.cleanup import cleanup_model  # noqa: E402

import tailor  # noqa: E402
from tailor import onnx_export  # noqa: E402

N = 20
DEFAULT = "ap_fixed<16,6>"


def _net():
    """ResNet-8, fitted briefly on random images, BN parameters then moved (fixed seeds)."""
    net = tailor.zoo.create("resnet8", num_classes=10, seed=0)
    rng = np.random.default_rng(0)
    net.fit((rng.normal(0, 1, (512, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 512)), epochs=1,
            batch_size=64, lr=0.05, augment=False, progress=False, seed=0)
    sd, rng = net.state_dict(), np.random.default_rng(7)
    bns = [n["name"] for n in net.describe()["nodes"] if n["op"] == "batchnorm"]
    for p in bns:
        c = sd[p + ".weight"].shape
        sd[p + ".weight"] = (sd[p + ".weight"] * rng.uniform(0.8, 2.0, c)).astype(np.float32)
        sd[p + ".bias"] = (sd[p + ".bias"] + rng.normal(0, 0.3, c)).astype(np.float32)
        sd[p + ".running_mean"] = (sd[p + ".running_mean"]
                                   + rng.normal(0, 0.2, c) * np.sqrt(sd[p + ".running_var"])).astype(np.float32)
    net.load_state_dict(sd)
    for p in bns:   # no BN is the identity
        assert not np.allclose(sd[p + ".running_mean"], 0) and not np.allclose(sd[p + ".running_var"], 1)
    return net


def _config(net):
    """The 8-bit config (hls4ml's layout, our node names); every type a QONNX Quant can express."""
    layers = {}
    for n in net.describe()["nodes"]:
        op, name = n["op"], n["name"]
        if op == "conv2d":
            weight = {"conv1": "ap_fixed<8,3,AP_TRN,AP_SAT>", "layer3.0.conv1": "ap_fixed<8,3,AP_TRN,AP_SAT>",
                      "layer3.0.conv2": "ap_fixed<8,3,AP_TRN,AP_SAT>", "layer1.0.conv2": "ap_fixed<6,0,AP_RND_CONV,AP_SAT>",
                      "layer2.0.conv2": "ap_fixed<7,0>"}.get(
                name, "ap_fixed<8,2,AP_RND_CONV,AP_SAT_SYM>" if "downsample" in name else "ap_fixed<8,3,AP_RND_CONV,AP_SAT>")
            p = {"weight": weight, "bias": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>", "accum": "auto", "result": "auto"}
        elif op == "dense":
            p = {"weight": "ap_fixed<8,1>", "accum": "auto", "result": "auto"}     # bias: the model default
        elif op == "relu":
            p = {"result": "ap_ufixed<8,3,AP_TRN,AP_SAT>" if name.startswith("layer1")
                 else "ap_fixed<9,4,AP_TRN_ZERO,AP_SAT_SYM>" if name == "layer2.0.relu1"
                 else "ap_ufixed<8,3,AP_RND_CONV,AP_SAT>"}
        elif op == "input":
            p = {"result": "ap_fixed<8,3,AP_RND_CONV,AP_SAT_SYM>"}
        elif op == "add":
            p = {"result": "auto"}
        elif op == "global_avgpool":
            p = {"accum": "auto", "result": "auto"}
        else:
            continue   # BNs fold into their convs; flatten has no arithmetic
        layers[name] = {"Precision": p}
    return {"Model": {"Precision": DEFAULT}, "LayerName": layers}


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """(net, path of the QONNX file, inputs x float64 (N, 3, 32, 32), predict(x, quantized=True))."""
    net = _net()
    net.set_precision(_config(net))
    path = tmp_path_factory.mktemp("qonnx") / "resnet8_q.onnx"
    net.export_onnx(str(path), quantized=True)
    # float64 inputs that float32 holds exactly (qonnx runs float32); some beyond the input type's +-4
    x = np.ascontiguousarray(np.random.default_rng(1).normal(0, 1.5, (N, 3, 32, 32)).astype(np.float32), np.float64)
    y, overflows = net.predict(x, quantized=True, return_overflows=True)
    # The types really saturate (input, ReLUs) and wrap/saturate weights: the modes matter here.
    assert overflows.get("input", 0) > 0 and overflows.get("layer2.0.conv2.weight", 0) > 0 \
        and overflows.get("layer1.0.conv2.weight", 0) > 0 and overflows.get("layer3.0.relu", 0) > 0, overflows
    yield net, path, x, y
    net.close()


def test_quant_nodes_are_qonnx_and_weights_are_the_designs(exported):
    _, path, _, _ = exported
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert {(o.domain, o.version) for o in model.opset_import} >= {(onnx_export.QONNX_DOMAIN, 1)}
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    quants = [n for n in model.graph.node if n.op_type == "Quant"]
    # input, 9 convs and the dense (weight and bias each), 7 ReLUs, the global average pool
    assert len(quants) == 1 + 2 * 10 + 7 + 1
    assert {n.op_type for n in model.graph.node} == {"Quant", "Conv", "Relu", "Add", "GlobalAveragePool", "Flatten",
                                                      "Gemm"}   # every BN folded, as hls4ml folds it
    for q in quants:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in q.attribute}
        assert q.domain == onnx_export.QONNX_DOMAIN and len(q.input) == 4 and set(attrs) == {"signed", "narrow",
                                                                                          "rounding_mode"}
        scale, zeropt, bits = (inits[i] for i in q.input[1:])
        # scalars; on constants scale and zero point shaped (1,) (qonnx's ExtractBiasFromConv reshapes those)
        assert bits.ndim == 0 and scale.shape == zeropt.shape == ((1,) if q.input[0] in inits else ())
        assert zeropt == 0 and np.frexp(scale)[0] == 0.5
        assert attrs["rounding_mode"] in (b"ROUND", b"FLOOR")
        if q.input[0] in inits:   # weights and biases: stored as the design holds them, the Quant is exact on them
            w = inits[q.input[0]]
            back = qonnx_quant(w, scale, zeropt, bits, attrs["signed"], attrs["narrow"], attrs["rounding_mode"].decode())
            assert np.array_equal(back, w), q.name
    by_out = {n.output[0]: n for n in model.graph.node}
    relu_q = by_out["layer2.0.relu1.quant"]   # ap_fixed<9,4,AP_TRN_ZERO,AP_SAT_SYM> after a ReLU: FLOOR, not narrow
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in relu_q.attribute}
    assert attrs == {"signed": 1, "narrow": 0, "rounding_mode": b"FLOOR"}
    assert inits[relu_q.input[1]] == 2.0 ** -5 and inits[relu_q.input[3]] == 9
    in_q = by_out["input.quant"]
    assert {a.name: onnx.helper.get_attribute_value(a) for a in in_q.attribute} == \
        {"signed": 1, "narrow": 1, "rounding_mode": b"ROUND"}
    meta = {p.key: p.value for p in model.metadata_props}
    assert "tailor.hls4ml" in meta and "tailor.precision" in meta


def test_qonnx_executes_the_fixed_point_network(exported):
    """qonnx runs the cleaned graph (float32 ops on the quantised values): its logits equal our
    bit-exact predict up to float32 rounding of the output (1e-5; they came out identical)."""
    _, path, x, y = exported
    model = cleanup_model(ModelWrapper(str(path)))
    name_in, name_out = model.graph.input[0].name, model.graph.output[0].name
    got = np.concatenate([execute_onnx(model, {name_in: x[i:i + 1].astype(np.float32)})[name_out] for i in range(N)])
    assert got.shape == y.shape
    assert np.abs(got - y).max() <= 1e-5, f"qonnx differs from predict(quantized=True) by {np.abs(got - y).max()}"


def _remove_transpose_before_gap(hm):
    """qonnx 1.0.0 leaves a channels-first Transpose in front of GlobalAveragePool, with which
    hls4ml's io_stream global pooling divides by zero in predict(); the pool reads the
    channels-last stream without it (/work/notes/hls4ml_quant_semantics.md §6.1)."""
    from hls4ml.model.layers import GlobalPooling2D, Transpose
    removed = []
    for node in list(hm.graph.values()):
        if isinstance(node, Transpose):
            nxt = [n for n in hm.graph.values() if node.outputs[0] in n.inputs]
            if len(nxt) == 1 and isinstance(nxt[0], GlobalPooling2D) and node.get_attr("perm") in ([2, 0, 1], [0, 3, 1, 2]):
                hm.remove_node(node)
                removed.append(node.name)
    if removed:
        hm.apply_flow("vivado:apply_templates", reapply="single")
    return removed


@pytest.fixture(scope="session")
def hls_model(exported, tmp_path_factory):
    hls4ml = pytest.importorskip("hls4ml", reason="hls4ml==1.3.0 is not installed (scripts/setup.sh installs it)")
    if not hls4ml.__version__.startswith("1.3."):
        pytest.skip(f"the bit-exact target is hls4ml 1.3.x; hls4ml {hls4ml.__version__} is installed")
    if shutil.which("g++") is None:
        pytest.skip("hls4ml's compile() needs g++, which is not on PATH")
    _, path, _, _ = exported
    model = cleanup_model(ModelWrapper(str(path)))
    model = cleanup_model(model.transform(ConvertToChannelsLastAndClean()).transform(GemmToMatMul()))
    cfg = onnx_export.hls4ml_config(model, backend="Vivado")
    hm = hls4ml.converters.convert_from_onnx_model(model, hls_config=cfg, io_type="io_stream", backend="Vivado",
                                                   output_dir=str(tmp_path_factory.mktemp("hls4ml_qonnx")))
    assert _remove_transpose_before_gap(hm)
    hm.compile()
    return hm


def test_hls4ml_builds_the_design_predict_computes(exported, hls_model):
    _, _, x, y = exported
    layers = {layer.name: layer for layer in hls_model.get_layers()}
    # The Quants became types, not layers: the input Quant is the input's type, every ReLU's is
    # that ReLU's result, the weight Quants the convs' weight types; every BN is folded.
    assert str(layers["global_in"].get_output_variable().type.precision) == "fixed<8,3,RND_CONV,SAT_SYM,0>"
    assert not [n for n, layer in layers.items() if layer.class_name in ("BatchNormalization", "ApplyAlpha")
                or (layer.class_name == "Activation" and layer.get_attr("activation") == "linear")]
    weight_types = sorted({str(layer.get_attr("weight_t").precision) for layer in layers.values() if layer.get_attr("weight_t")})
    assert weight_types == ["fixed<6,0,RND_CONV,SAT,0>", "fixed<7,0,TRN,SAT,0>", "fixed<8,1,TRN,SAT,0>",
                            "fixed<8,2,RND_CONV,SAT_SYM,0>", "fixed<8,3,RND_CONV,SAT,0>", "fixed<8,3,TRN,SAT,0>"]
    got = hls_model.predict(np.ascontiguousarray(x)).reshape(y.shape)
    assert np.array_equal(got, y), (f"{int((got != y).sum())} of {y.size} logits differ from hls4ml's C simulation, "
                                    f"by up to {np.abs(got - y).max()}")


# ---- what a Quant cannot express is refused -------------------------------------------------------

def _refused(net, tmp_path, config, words):
    net.set_precision(config)
    path = tmp_path / "refused.onnx"
    with pytest.raises(tailor.UnsupportedError, match=words):   # a TailorError and a NotImplementedError
        net.export_onnx(str(path), quantized=True)
    assert not path.exists() and not (tmp_path / "refused.onnx.tmp").exists()


@pytest.mark.parametrize("layers, words", [
    # AP_RND (ties toward +inf): hls4ml reads a Quant's ROUND as AP_RND_CONV (ties to even)
    ({"relu": {"Precision": {"result": "ap_ufixed<8,3,AP_RND,AP_SAT>"}}},
     (r"node 'relu' result is ap_ufixed<8,3,AP_RND,AP_SAT>, which a QONNX Quant cannot express: AP_RND \(rounding ties "
      r"toward \+inf\) has no Quant rounding mode hls4ml 1.3.0 maps to it")),
    # a Quant always clips: no wrap on an activation
    ({"layer1.0.relu": {"Precision": {"result": "ap_ufixed<8,3>"}}},
     r"node 'layer1.0.relu' result is ap_ufixed<8,3>, .*AP_WRAP is not what a Quant does on overflow"),
    ({"input": {"Precision": {"result": "ap_fixed<8,3,AP_RND_CONV,AP_SAT_ZERO>"}}}, r"node 'input' result .*AP_SAT_ZERO"),
    # a conv result the layer does not name is the model default (hls4ml would infer an exact one)
    ({"conv1": {"Precision": {"weight": "ap_fixed<8,3>", "accum": "auto"}}},
     r"node 'conv1' result \(the model default: the layer names no result type\) is ap_fixed<16,6>, .*AP_WRAP"),
    ({"layer2.0.add": {"Precision": {"result": "ap_fixed<12,5,AP_RND_ZERO,AP_SAT>"}}},
     r"node 'layer2.0.add' result .*AP_RND_ZERO \(rounding ties toward zero\)"),
    # QONNX has no accumulator type; hls4ml infers an exact one
    ({"conv1": {"Precision": {"accum": "ap_fixed<16,6,AP_RND,AP_SAT>", "result": "auto"}}},
     (r"node 'conv1' accum is ap_fixed<16,6,AP_RND,AP_SAT>, which rounds or overflows the sum \(exactly it needs "
      r"ap_fixed<38,18>\)")),
    ({"avgpool": {"Precision": {"accum": "ap_fixed<16,6>", "result": "auto"}}},
     r"node 'avgpool' accum is ap_fixed<16,6>, which can overflow"),
    # an unfolded BN's scale/bias take the model default in hls4ml's ONNX path
    ({"conv1": {"Precision": {"accum": "auto", "result": "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"}},
      "bn1": {"Precision": {"scale": "ap_fixed<12,4>", "result": "auto"}}},
     r"node 'bn1' scale is ap_fixed<12,4>; hls4ml's ONNX BatchNormalization takes the model default"),
])
def test_types_a_quant_cannot_express_are_refused(resnet8, tmp_path, layers, words):
    exact = {"conv2d": {"accum": "auto", "result": "auto"}, "dense": {"accum": "auto", "result": "auto"},
             "add": {"result": "auto"}, "global_avgpool": {"accum": "auto", "result": "auto"}}
    base = {n["name"]: {"Precision": exact[n["op"]]} for n in resnet8.describe()["nodes"] if n["op"] in exact}
    _refused(resnet8, tmp_path, {"Model": {"Precision": DEFAULT}, "LayerName": {**base, **layers}}, words)


def test_export_needs_types_and_folds_by_itself(resnet8, tmp_path):
    with pytest.raises(tailor.InvalidArgumentError, match="needs the network's fixed-point types"):
        resnet8.export_onnx(str(tmp_path / "a.onnx"), quantized=True)
    resnet8.set_precision("ap_fixed<8,3,AP_RND_CONV,AP_SAT>")
    with pytest.raises(tailor.InvalidArgumentError, match="fold_bn does not apply"):
        resnet8.export_onnx(str(tmp_path / "a.onnx"), quantized=True, fold_bn=True)
    assert not (tmp_path / "a.onnx").exists()
