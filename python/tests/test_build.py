"""Building networks node by node, and inspecting them."""
import numpy as np
import pytest

import tailor


def build_resnet8(net):
    """MLPerf Tiny ResNet-8 through the node-by-node API, with the zoo's node names."""
    x = net.add_input("input", (3, 32, 32))
    x = net.add_conv2d("conv1", x, 16, 3, 1, 1)
    x = net.add_batchnorm("bn1", x)
    x = net.add_relu("relu", x)
    for stage, (cout, stride) in enumerate([(16, 1), (32, 2), (64, 2)], start=1):
        p = f"layer{stage}.0"
        h = net.add_conv2d(f"{p}.conv1", x, cout, 3, stride, 1)
        h = net.add_batchnorm(f"{p}.bn1", h)
        h = net.add_relu(f"{p}.relu1", h)
        h = net.add_conv2d(f"{p}.conv2", h, cout, 3, 1, 1)
        h = net.add_batchnorm(f"{p}.bn2", h)
        skip = x
        if stride != 1:
            skip = net.add_conv2d(f"{p}.downsample.0", x, cout, 1, stride, 0)
            skip = net.add_batchnorm(f"{p}.downsample.1", skip)
        x = net.add_relu(f"{p}.relu", net.add_add(f"{p}.add", h, skip))
    x = net.add_global_avgpool("avgpool", x)
    x = net.add_flatten("flatten", x)
    return net.add_dense("fc", x, 10)


def test_node_by_node_resnet8_equals_the_zoo_model(resnet8):
    with tailor.Network(seed=0) as net:
        assert build_resnet8(net) == "fc"
        assert net.nodes == resnet8.nodes
        assert net.blocks == resnet8.blocks
        assert net.skips == resnet8.skips
        assert {k: v.shape for k, v in net.state_dict().items()} == \
            {k: v.shape for k, v in resnet8.state_dict().items()}
        assert list(net.state_dict()) == list(resnet8.state_dict())
        assert (net.input_shape, net.num_outputs) == ((3, 32, 32), 10)
        net.set_modes("short")
        assert len(net.skips) == 6


def test_node_fields(resnet8):
    nodes = {n.name: n for n in resnet8.nodes}
    conv = nodes["layer2.0.conv1"]
    assert (conv.op, conv.inputs, conv.shape, conv.out_channels, conv.kernel, conv.stride, conv.padding, conv.bias,
            conv.block) == ("conv2d", ("layer1.0.relu",), (32, 16, 16), 32, 3, 2, 1, False, 1)
    assert nodes["layer2.0.add"].inputs == ("layer2.0.bn2", "layer2.0.downsample.1")
    assert nodes["fc"].bias and nodes["fc"].out_channels == 10 and nodes["fc"].block == -1
    assert nodes["input"].inputs == () and nodes["input"].op == "input"
    assert [n.index for n in resnet8.nodes] == list(range(len(resnet8.nodes)))


def test_pooling_and_plain_networks():
    with tailor.Network(seed=1) as net:
        x = net.add_input("in", (1, 28, 28))
        x = net.add_conv2d("c", x, 8, 5, padding=2, bias=True)
        x = net.add_pool("p", x, "max", 2)
        x = net.add_pool("q", x, "avg", 3, stride=1, padding=1)
        x = net.add_flatten("f", x)
        net.add_dense("d", x, 3, bias=False)
        shapes = {n.name: n.shape for n in net.nodes}
        assert shapes["p"] == (8, 14, 14) and shapes["q"] == (8, 14, 14)
        assert net.blocks == [] and net.skips == []
        assert list(net.state_dict()) == ["c.weight", "c.bias", "d.weight"]
        assert net.state_dict()["d.weight"].shape == (3, 8 * 14 * 14)


def test_same_seed_same_weights_different_seed_different_weights():
    a, b, c = (tailor.zoo.resnet8(seed=s) for s in (7, 7, 8))
    with a, b, c:
        sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
        assert all(np.array_equal(sa[k], sb[k]) for k in sa)
        assert not np.array_equal(sa["conv1.weight"], sc["conv1.weight"])


def test_describe_repr_and_summary(resnet8):
    d = resnet8.describe()
    assert set(d) == {"nodes", "blocks", "skips", "params"}
    assert [n["name"] for n in d["nodes"]] == [n.name for n in resnet8.nodes]
    assert [p["name"] for p in d["params"]] == list(resnet8.state_dict())
    r = repr(resnet8)
    assert "78,042 parameters" in r and "3 residual blocks" in r and "layer2.0" in r and "long" in r
    resnet8.set_mode(1, "removed")
    assert "removed" in repr(resnet8)
    text = resnet8.summary()
    assert "layer3.0.conv2" in text and "36,864" in text and "total parameters: 77,466" in text
    resnet8.close()
    assert "closed" in repr(resnet8)


def test_get_param(resnet8):
    w = resnet8.get_param("fc.weight")
    assert w.shape == (10, 64) and w.dtype == np.float32 and w.flags.c_contiguous
    np.testing.assert_array_equal(w, resnet8.state_dict()["fc.weight"])
    with pytest.raises(tailor.TailorError, match="unknown parameter"):
        resnet8.get_param("fc.nope")


def test_non_strict_load_reports_keys(resnet8):
    sd = resnet8.state_dict()
    sd.pop("fc.bias")
    sd["extra.weight"] = np.zeros(3, np.float32)
    sd["fc.weight"] = np.full((10, 64), 0.5, np.float32)
    missing, unexpected = resnet8.load_state_dict(sd, strict=False)
    assert missing == ["fc.bias"] and unexpected == ["extra.weight"]
    assert (resnet8.get_param("fc.weight") == 0.5).all()


def test_library_identity():
    import os
    import re
    from tailor import _lib
    assert _lib.lib().tailor_abi_version() == _lib.EXPECTED_ABI_VERSION == 2
    assert re.fullmatch(r"\d+\.\d+\.\d+", tailor.library_version())
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    header = os.path.join(repo, "include", "tailor.h")
    if os.path.isfile(header):   # a checkout: the library is the one its header declares
        with open(header) as f:
            text = f.read()
        num = lambda name: re.search(rf"#define TAILOR_{name} (\d+)", text).group(1)  # noqa: E731
        assert int(num("ABI_VERSION")) == _lib.EXPECTED_ABI_VERSION
        assert tailor.library_version() == ".".join(num(f"VERSION_{k}") for k in ("MAJOR", "MINOR", "PATCH"))
    pyproject = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyproject.toml")
    if os.path.isfile(pyproject):   # the package says the version its metadata declares
        with open(pyproject) as f:
            assert f'version = "{tailor.__version__}"' in f.read()
