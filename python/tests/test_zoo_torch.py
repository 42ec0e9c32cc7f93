"""Zoo models against plain-torch modules with torchvision's layout: same state_dict keys (in
order) and shapes, and weights that move both ways exactly."""
import numpy as np
import pytest

import tailor

torch = pytest.importorskip("torch")
import torch_reference  # noqa: E402

ALL = ["resnet8", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet18", "resnet34", "resnet50"]
SMALL_INPUT = {"resnet18": (3, 64, 64), "resnet34": (3, 64, 64), "resnet50": (3, 64, 64)}


def _pair(name, num_classes=10, in_channels=3):
    shape = SMALL_INPUT.get(name, (in_channels, 32, 32))
    shape = (in_channels,) + tuple(shape[1:])
    return tailor.zoo.create(name, num_classes=num_classes, input_shape=shape), \
        torch_reference.build(name, num_classes, in_channels)


def _randomise(model, seed=0):
    """Distinct values in every tensor, BN buffers included, so a mix-up cannot go unnoticed."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if v.dtype == torch.int64:
                v.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
            elif k.endswith("running_var"):
                v.copy_(torch.rand(v.shape, generator=g) + 0.5)
            else:
                v.copy_(torch.randn(v.shape, generator=g))


def test_zoo_names():
    assert tailor.zoo.names() == ALL
    for name in ALL:
        assert callable(getattr(tailor.zoo, name))


@pytest.mark.parametrize("name", ALL)
def test_state_dict_names_and_shapes_match_torch(name):
    net, model = _pair(name)
    with net:
        ours = {k: tuple(v.shape) for k, v in net.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        assert list(ours) == list(theirs)  # same keys, same order
        assert ours == theirs
        assert net.num_parameters() == sum(p.numel() for p in model.parameters())
        sd = net.state_dict()
        for k, v in sd.items():
            if k.endswith("num_batches_tracked"):
                assert v.dtype == np.int64 and v.shape == ()
            else:
                assert v.dtype == np.float32


@pytest.mark.parametrize("name,num_classes,in_channels", [("resnet8", 7, 1), ("resnet20", 100, 3), ("resnet18", 5, 4)])
def test_num_classes_and_input_channels(name, num_classes, in_channels):
    net, model = _pair(name, num_classes, in_channels)
    with net:
        assert net.num_outputs == num_classes
        assert net.input_shape[0] == in_channels
        assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == \
            {k: tuple(v.shape) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", ["resnet8", "resnet20", "resnet110", "resnet18", "resnet50"])
def test_weights_round_trip_with_torch(name):
    net, model = _pair(name)
    _randomise(model)
    with net:
        result = net.load_state_dict(model.state_dict())
        assert result.missing_keys == [] and result.unexpected_keys == []
        ours = net.state_dict()
        for k, v in model.state_dict().items():
            assert ours[k].dtype == (np.int64 if v.dtype == torch.int64 else np.float32), k
            np.testing.assert_array_equal(ours[k], v.numpy(), err_msg=k)
        # ... and back into a fresh torch module, strict
        fresh = torch_reference.build(name)
        fresh.load_state_dict({k: torch.from_numpy(v) for k, v in ours.items()}, strict=True)
        for k, v in fresh.state_dict().items():
            assert torch.equal(v, model.state_dict()[k]), k


def test_torch_tensor_that_requires_grad_and_is_non_contiguous(resnet8):
    w = torch.randn(16, 3, 3, 3).permute(0, 1, 3, 2).requires_grad_()
    assert not w.is_contiguous()
    resnet8.set_param("conv1.weight", w)
    np.testing.assert_array_equal(resnet8.state_dict()["conv1.weight"], w.detach().numpy())
