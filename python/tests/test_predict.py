"""Inference in the Swift engine against PyTorch on the same weights (eval mode)."""
import numpy as np
import pytest

import tailor
from weights import randomise

torch = pytest.importorskip("torch")


_randomised = randomise


CASES = [("resnet8", (3, 32, 32), "long"), ("resnet8", (3, 32, 32), "removed"), ("resnet8", (3, 32, 32), "short"),
         ("resnet20", (3, 32, 32), "mixed"), ("resnet18", (3, 32, 32), "long"), ("resnet50", (3, 64, 64), "short")]


@pytest.mark.parametrize("name,shape,mode", CASES)
def test_predict_matches_torch(name, shape, mode):
    net = tailor.zoo.create(name, input_shape=shape, seed=1)
    for i in range(len(net.blocks)):
        net.set_mode(i, ["long", "removed", "short"][i % 3] if mode == "mixed" else mode)
    _randomised(net, 2)
    x = np.random.default_rng(3).normal(size=(5, *shape)).astype(np.float32)
    ours = net.predict(x)
    ref = net.to_torch().eval()(torch.from_numpy(x)).detach().numpy()
    err = np.abs(ours - ref).max() / max(1.0, np.abs(ref).max())
    print(f"{name} {mode}: max relative error {err:.2e}")
    assert ours.shape == ref.shape
    assert err < 1e-4


def test_predict_single_sample_and_chunking():
    net = tailor.zoo.resnet8(seed=4)
    x = np.random.default_rng(5).normal(size=(70, 3, 32, 32)).astype(np.float32)  # > one 32-sample chunk
    batch = net.predict(x)
    assert np.allclose(net.predict(x[37]), batch[37], atol=1e-5)


@pytest.mark.parametrize("x,msg", [
    (np.zeros((2, 3, 16, 16), np.float32), "input samples are 3×16×16"),
    (np.zeros((2, 1, 32, 32), np.float32), "the network takes 3×32×32"),
    (np.zeros((32, 32), np.float32), "(N, C, H, W)"),
    (np.full((1, 3, 32, 32), np.nan, np.float32), "not finite"),
    (np.zeros((0, 3, 32, 32), np.float32), "n must be in"),
])
def test_predict_bad_input_is_a_clear_error(x, msg):
    net = tailor.zoo.resnet8()
    with pytest.raises(tailor.TailorError, match=None) as e:
        net.predict(x)
    assert msg in str(e.value)
    assert net.predict(np.zeros((1, 3, 32, 32), np.float32)).shape == (1, 10)


def test_a_spatial_output_takes_the_same_forward_path_and_matches_torch():
    # Networks ending in a feature map (a backbone) run through the one executor training uses,
    # and come back in PyTorch's NCHW order (flattened per sample, as every predict returns).
    net = tailor.Network(seed=2)
    net.add_input("x", (3, 16, 16))
    net.add_conv2d("conv1", "x", 8, 3, padding=1)
    net.add_batchnorm("bn1", "conv1")
    net.add_relu("relu", "bn1")
    net.add_pool("pool", "relu", "max", 2, 2)
    net.add_conv2d("conv2", "pool", 6, 3, stride=2, padding=1, bias=True)
    _randomised(net, 3)
    x = np.random.default_rng(4).normal(size=(40, 3, 16, 16)).astype(np.float32)   # more than one chunk
    ours = net.predict(x)
    ref = net.to_torch().eval()(torch.from_numpy(x)).detach().numpy()
    assert ref.shape == (40, 6, 4, 4) and ours.shape == (40, 96)
    ref = ref.reshape(40, -1)
    assert np.abs(ours - ref).max() / max(1.0, np.abs(ref).max()) < 1e-4
