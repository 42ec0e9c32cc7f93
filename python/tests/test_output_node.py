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
    with pytest.raises(tailor.TailorError, match="'fc'.*do not lead to the output 'stray'"):
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
