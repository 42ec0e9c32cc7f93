"""tailor.onnx_export: tailor -> ONNX -> onnxruntime equals to_torch for every model and mode
mix, with and without BN folding; standard ops, parameter-named initializers, dynamic batch."""
import numpy as np
import pytest

import tailor

torch = pytest.importorskip("torch", reason="torch is not installed; the comparison runs to_torch")
onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install onnxruntime)")

from tailor.onnx_export import ONNX_OPS, export_onnx, to_onnx  # noqa: E402
from tailor.torch_adapter import to_torch  # noqa: E402
from test_torch_adapter import MIXES, MODELS, SHAPE, X, close, make_net, randomise_bn  # noqa: E402


def run(model_or_path, x):
    """Logits from onnxruntime on CPU."""
    src = model_or_path if isinstance(model_or_path, str) else model_or_path.SerializeToString()
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    return torch.from_numpy(sess.run(["logits"], {"input": np.asarray(x, dtype=np.float32)})[0])


@pytest.mark.parametrize("fold_bn", [False, True], ids=["bn", "folded"])
@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_equals_to_torch(name, mix, fold_bn, tmp_path):
    net, _ = make_net(name, mix)
    with net:
        path = str(tmp_path / f"{name}.onnx")
        model = export_onnx(net, path, fold_bn=fold_bn)
        onnx.checker.check_model(onnx.load(path), full_check=True)
        ops = {n.op_type for n in model.graph.node}
        assert ops <= set(ONNX_OPS)
        assert ("BatchNormalization" in ops) != fold_bn
        adds = sum(n.op_type == "Add" for n in model.graph.node)
        assert adds == sum(s.join is not None for s in net.skips)  # one Add per live skip
        with torch.no_grad():
            expect = to_torch(net)(X)
        err, ok = close(run(path, X.numpy()), expect, 1e-4)
        assert ok, f"{name}/{mix}/fold_bn={fold_bn}: max |diff| {err:.3g}"


def test_names_and_io():
    net, _ = make_net("resnet8", "mixed")
    with net:
        sd = net.state_dict()
        model = to_onnx(net)
        inits = {i.name for i in model.graph.initializer}
        assert inits == {k for k in sd if not k.endswith("num_batches_tracked")}
        for i in model.graph.initializer:
            assert np.array_equal(onnx.numpy_helper.to_array(i), sd[i.name]), i.name
        (inp,), (out,) = model.graph.input, model.graph.output
        dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
        assert inp.name == "input" and dims(inp) == ["batch", 3, 32, 32]
        assert out.name == "logits" and dims(out) == ["batch", 10]
        assert model.opset_import[0].version == 17 and model.ir_version == 8
        # folded: only conv and fc parameters remain, under the conv's names (with a new bias)
        folded = {i.name for i in to_onnx(net, fold_bn=True).graph.initializer}
        convs = {n.name for n in net.nodes if n.op == "conv2d"}
        assert folded == {f"{c}.{p}" for c in convs for p in ("weight", "bias")} | {"fc.weight", "fc.bias"}
        # any batch size runs
        for batch in (1, 5):
            x = np.random.default_rng(batch).standard_normal((batch, *SHAPE), dtype=np.float32)
            with torch.no_grad():
                assert close(run(model, x), to_torch(net)(torch.from_numpy(x)), 1e-4)[1]


def test_pools_bias_and_unfoldable_bn():
    """AveragePool with padding counts the pad (PyTorch's default); a conv bias folds; a BN that
    does not follow a conv stays a BatchNormalization even with fold_bn."""
    net = tailor.Network(seed=2)
    with net:
        net.add_input("input", (2, 9, 9))
        net.add_conv2d("conv", "input", 4, 3, padding=1, bias=True)
        net.add_batchnorm("bn", "conv")
        net.add_relu("relu", "bn")
        net.add_batchnorm("bn_after_relu", "relu")
        net.add_pool("avg", "bn_after_relu", "avg", 3, 2, 1)
        net.add_pool("max", "avg", "max", 2, 1, 0)
        net.add_global_avgpool("gap", "max")
        net.add_flatten("flatten", "gap")
        net.add_dense("fc", "flatten", 3, bias=False)
        net.load_state_dict(randomise_bn(net.state_dict()))
        x = np.random.default_rng(0).standard_normal((2, 2, 9, 9), dtype=np.float32)
        with torch.no_grad():
            expect = to_torch(net)(torch.from_numpy(x))
        for fold in (False, True):
            model = to_onnx(net, fold_bn=fold)
            kinds = [n.op_type for n in model.graph.node]
            assert kinds.count("BatchNormalization") == (1 if fold else 2)
            pool = next(n for n in model.graph.node if n.op_type == "AveragePool")
            assert onnx.helper.get_attribute_value(pool.attribute[0]) is not None
            assert {a.name: onnx.helper.get_attribute_value(a) for a in pool.attribute}["count_include_pad"] == 1
            err, ok = close(run(model, x), expect, 1e-5)
            assert ok, err


def test_export_leaves_no_partial_file(tmp_path):
    net, _ = make_net("resnet8")
    with net:
        path = tmp_path / "m.onnx"
        export_onnx(net, path)
        assert path.exists() and not (tmp_path / "m.onnx.tmp").exists()
