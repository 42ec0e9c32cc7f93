"""Inference in the Swift engine against PyTorch on the same weights (eval mode)."""
import numpy as np
import pytest

import tailor

torch = pytest.importorskip("torch")


def _randomised(net, seed):
    """Random weights and BN statistics, so BN in eval mode is really exercised."""
    rng = np.random.default_rng(seed)
    sd = net.state_dict()
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        if k.endswith("running_var"):
            sd[k] = rng.uniform(0.5, 2.0, v.shape).astype(np.float32)
        elif k.endswith(("running_mean", "bn1.bias", "bn2.bias", "bn3.bias")):
            sd[k] = rng.normal(0, 0.2, v.shape).astype(np.float32)
        else:
            sd[k] = (v + rng.normal(0, 0.05, v.shape)).astype(np.float32)
    net.load_state_dict(sd)


CASES = [("resnet8", (3, 32, 32), "long"), ("resnet8", (3, 32, 32), "removed"), ("resnet8", (3, 32, 32), "short"),
         ("resnet20", (3, 32, 32), "mixed"), ("resnet18", (3, 32, 32), "long"), ("resnet50", (3, 64, 64), "short")]


@pytest.mark.parametrize("name,shape,mode", CASES)
def test_predict_matches_torch(name, shape, mode):
    net = tailor.zoo.create(name, input_shape=shape, seed=1)
    for i, b in enumerate(net.blocks):
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
