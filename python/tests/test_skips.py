"""Skip inventories of ResNet-8, ResNet-20 and ResNet-50 in every mode, checked against
expectations derived here from the architectures (not from the library's own graph), and
mode switches that restore the exact parameters."""
import numpy as np
import pytest

import tailor
from tailor.network import Skip


def cifar_blocks(n):
    """(name, cin, cout, stride, h_in, entry) of each basic block of a CIFAR ResNet, 32x32 input."""
    out, cin, h, entry = [], 16, 32, "relu"
    for stage, (cout, stride) in enumerate([(16, 1), (32, 2), (64, 2)], start=1):
        for j in range(n):
            s = stride if j == 0 else 1
            name = f"layer{stage}.{j}"
            out.append((name, cin, cout, s, h, entry))
            cin, h, entry = cout, h // s, f"{name}.relu"
    return out


def expected_basic(n, mode):
    skips = []
    for b, (name, cin, cout, stride, h, entry) in enumerate(cifar_blocks(n)):
        changes = stride != 1 or cin != cout
        if mode == "short":
            skips.append(Skip(f"{name}.skip0", b, 0, "basic", mode, entry, f"{name}.add1", (f"{name}.conv1",),
                              f"{name}.downsample" if changes else None, (cin, h, h)))
            skips.append(Skip(f"{name}.skip1", b, 1, "basic", mode, f"{name}.relu1", f"{name}.add2",
                              (f"{name}.conv2",), None, (cout, h // stride, h // stride)))
        else:
            skips.append(Skip(f"{name}.skip0", b, 0, "basic", mode, entry,
                              f"{name}.add" if mode == "long" else None, (f"{name}.conv1", f"{name}.conv2"),
                              f"{name}.downsample" if changes and mode == "long" else None, (cin, h, h)))
    return skips


def expected_resnet50(mode, h=56):
    skips, cin, entry, b = [], 64, "maxpool", 0
    for stage, (planes, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1):
        for j in range(blocks):
            s = stride if j == 0 else 1
            name, cout = f"layer{stage}.{j}", planes * 4
            convs = (f"{name}.conv1", f"{name}.conv2", f"{name}.conv3")
            if mode == "short":
                # conv1: cin->planes 1x1; conv2: planes->planes 3x3 stride s; conv3: planes->4 planes 1x1
                skips.append(Skip(f"{name}.skip0", b, 0, "bottleneck", mode, entry, f"{name}.add1", convs[:1],
                                  f"{name}.downsample1" if cin != planes else None, (cin, h, h)))
                skips.append(Skip(f"{name}.skip1", b, 1, "bottleneck", mode, f"{name}.relu1", f"{name}.add2",
                                  convs[1:2], f"{name}.downsample2" if s != 1 else None, (planes, h, h)))
                skips.append(Skip(f"{name}.skip2", b, 2, "bottleneck", mode, f"{name}.relu2", f"{name}.add3",
                                  convs[2:], f"{name}.downsample3", (planes, h // s, h // s)))
            else:
                changes = s != 1 or cin != cout
                skips.append(Skip(f"{name}.skip0", b, 0, "bottleneck", mode, entry,
                                  f"{name}.add" if mode == "long" else None, convs,
                                  f"{name}.downsample" if changes and mode == "long" else None, (cin, h, h)))
            cin, h, entry, b = cout, h // s, f"{name}.relu", b + 1
    return skips


MODES = ["long", "removed", "short"]


def test_resnet8_inventory_long_is_exactly_this(resnet8):
    assert [(k.name, k.source, k.join, k.spans, k.projection, k.shape) for k in resnet8.skips] == [
        ("layer1.0.skip0", "relu", "layer1.0.add", ("layer1.0.conv1", "layer1.0.conv2"), None, (16, 32, 32)),
        ("layer2.0.skip0", "layer1.0.relu", "layer2.0.add", ("layer2.0.conv1", "layer2.0.conv2"),
         "layer2.0.downsample", (16, 32, 32)),
        ("layer3.0.skip0", "layer2.0.relu", "layer3.0.add", ("layer3.0.conv1", "layer3.0.conv2"),
         "layer3.0.downsample", (32, 16, 16)),
    ]
    assert [(b.name, b.kind, b.mode) for b in resnet8.blocks] == [
        ("layer1.0", "basic", "long"), ("layer2.0", "basic", "long"), ("layer3.0", "basic", "long")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,n", [("resnet8", 1), ("resnet20", 3)])
def test_cifar_inventory(name, n, mode):
    with tailor.zoo.create(name) as net:
        net.set_modes(mode)
        assert net.skips == expected_basic(n, mode)
        assert len(net.skips) == 3 * n * (2 if mode == "short" else 1)
        assert all(b.mode == mode for b in net.blocks)


@pytest.mark.parametrize("mode", MODES)
def test_resnet50_inventory(mode):
    with tailor.zoo.resnet50(num_classes=1000) as net:
        net.set_modes(mode)
        skips = net.skips
        assert len(skips) == (48 if mode == "short" else 16)
        assert skips == expected_resnet50(mode)


def test_mixed_modes_and_block_names(resnet8):
    resnet8.set_mode("layer1.0", "removed")
    resnet8.set_mode(2, "short")
    assert resnet8.modes == {"layer1.0": "removed", "layer2.0": "long", "layer3.0": "short"}
    assert [k.name for k in resnet8.skips] == ["layer1.0.skip0", "layer2.0.skip0", "layer3.0.skip0", "layer3.0.skip1"]
    ops = [(n.name, n.op) for n in resnet8.nodes if n.block == 0]
    assert ("layer1.0.add", "add") not in ops and len([o for o in ops if o[1] == "add"]) == 0
    assert len([n for n in resnet8.nodes if n.block == 2 and n.op == "add"]) == 2


def _assert_same(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), k


@pytest.mark.parametrize("name", ["resnet8", "resnet20", "resnet50"])
def test_mode_round_trips_restore_exact_parameters(name):
    with tailor.zoo.create(name, input_shape=(3, 64, 64) if name == "resnet50" else None, seed=3) as net:
        original = net.state_dict()
        for path in (["removed", "long"], ["short", "long"], ["short", "removed", "short", "long"]):
            for mode in path:
                net.set_modes(mode)
            _assert_same(net.state_dict(), original)
        net.set_modes("short")
        short = net.state_dict()
        assert len(short) >= len(original)
        net.set_modes("removed")
        removed = net.state_dict()
        assert set(removed) <= set(original)
        net.set_modes("long")
        net.set_modes("short")
        _assert_same(net.state_dict(), short)


def test_parameters_survive_a_mode_they_are_not_in(resnet8):
    """A projection's weights are kept while its block is removed and come back unchanged."""
    w = np.arange(32 * 16, dtype=np.float32).reshape(32, 16, 1, 1) / 100
    resnet8.set_param("layer2.0.downsample.0.weight", w)
    resnet8.set_mode("layer2.0", "removed")
    assert "layer2.0.downsample.0.weight" not in resnet8.state_dict()
    resnet8.set_mode("layer2.0", "long")
    np.testing.assert_array_equal(resnet8.state_dict()["layer2.0.downsample.0.weight"], w)


def test_set_mode_is_idempotent_and_copy_is_independent(resnet8):
    twin = resnet8.copy()
    with twin:
        twin.set_mode(0, "removed")
        twin.set_mode(0, "removed")
        assert twin.modes["layer1.0"] == "removed"
        assert resnet8.modes["layer1.0"] == "long"
        twin.set_param("fc.bias", np.ones(10))
        assert not np.array_equal(resnet8.state_dict()["fc.bias"], np.ones(10, np.float32))


def test_notebook_html(resnet8):
    h = resnet8._repr_html_()
    assert h.count("<tr>") == 1 + 3 and "layer2.0.downsample" in h
    empty = tailor.Network()
    assert "empty" in empty._repr_html_()
    empty.close()
    assert "closed" in empty._repr_html_()


def test_modes_round_trip_through_set_modes():
    # net.modes returned a dict that set_modes refused.
    with tailor.zoo.resnet8() as net:
        net.set_mode("layer2.0", "short")
        modes = net.modes
        with tailor.zoo.resnet8() as other:
            other.set_modes(modes)
            assert other.modes == modes
            other.set_modes("removed")
            assert set(other.modes.values()) == {"removed"}
