"""The network's output is defined: a node added off an inner tensor does not silently become it."""
import numpy as np
import pytest

import tailor


def small(extra=False, declare=None):
    net = tailor.Network()
    net.add_input("x", (1, 4, 4))
    net.add_conv2d("c", "x", 2, 3, padding=1)
    net.add_global_avgpool("g", "c")
    net.add_flatten("f", "g")
    net.add_dense("fc", "f", 3)
    if extra:
        net.add_relu("stray", "c")   # off an inner tensor, after the real output
    if declare:
        net.set_output(declare)
    return net


def test_a_stray_node_is_an_error_naming_it():
    x = np.zeros((1, 1, 4, 4), np.float32)
    assert small().predict(x).shape == (1, 3)
    stray = small(extra=True)
    # Before: the stray ReLU became the output and predict returned its 2×4×4 map.
    with pytest.raises(tailor.TailorError, match=r"'fc'.*do not lead to the output 'stray'"):
        stray.predict(x)
    declared = small(extra=True, declare="fc")
    for call in (lambda: declared.predict(x), lambda: tailor.estimate(declared),
                 lambda: declared.train_step(x, np.zeros(1, np.int64), lr=0.1)):
        with pytest.raises(tailor.TailorError, match="'stray' do not lead to the output 'fc'"):
            call()
    ok = small(declare="fc")
    assert ok.predict(x).shape == (1, 3)
    with pytest.raises(tailor.TailorError, match="no node named 'nope'"):
        ok.set_output("nope")


def test_a_branch_of_ten_convolutions_is_a_residual_block():
    # Before: branches of more than 8 convs were not recognised; the skip vanished from the
    # inventory and the estimate, and the block could not be tailored.
    net = tailor.Network()
    net.add_input("x", (4, 6, 6))
    prev = "x"
    for k in range(10):
        net.add_conv2d(f"b.conv{k}", prev, 4, 3, padding=1)
        net.add_batchnorm(f"b.bn{k}", f"b.conv{k}")
        prev = f"b.bn{k}"
        if k < 9:
            net.add_relu(f"b.relu{k}", prev)
            prev = f"b.relu{k}"
    net.add_add("b.add", prev, "x")
    net.add_relu("b.out", "b.add")
    assert len(net.blocks) == 1
    (skip,) = net.skips
    assert skip.spans == tuple(f"b.conv{k}" for k in range(10))
    rep = tailor.estimate(net, depth_policy="optimized")
    # ten convs: the whole 6×6 input waits
    assert rep.skips[0]["buffer"] == "clone -> adder skip FIFO" and rep.skips[0]["lag_words"] == 36
    net.set_mode(0, "short")
    assert len(net.skips) == 10
