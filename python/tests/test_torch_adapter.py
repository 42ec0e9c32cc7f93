"""tailor.torch_adapter: to_torch runs the Tailor graph exactly (every mode mix), from_torch
rebuilds torchvision-layout models with the zoo's names, weights and skip inventory, and
unsupported modules are refused by name."""
import numpy as np
import pytest

import tailor

torch = pytest.importorskip("torch", reason="torch is not installed; the torch adapter needs it")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import torch_reference  # noqa: E402
from tailor.torch_adapter import Add, UnsupportedModuleError, from_torch, to_torch  # noqa: E402

MODELS = ["resnet8", "resnet20", "resnet18"]
SHAPE = (3, 32, 32)  # ResNet-18 too: small enough to be quick, large enough for its 4 stages
MIXES = ["long", "removed", "short", "mixed"]


def mix_modes(blocks, mix):
    """Block name -> mode; "mixed" cycles long, removed, short over the blocks."""
    cycle = ("long", "removed", "short")
    return {b.name: cycle[b.index % 3] if mix == "mixed" else mix for b in blocks}


def randomise_bn(state, seed=0):
    """BN statistics and affine terms away from their (identity-like) defaults, so a BN that is
    skipped, swapped or mis-folded changes the output."""
    rng = np.random.default_rng(seed)
    out = dict(state)
    for k in state:
        if k.endswith(".running_var"):
            p = k[: -len(".running_var")]
            c = state[k].shape
            out[p + ".weight"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
            out[p + ".bias"] = rng.normal(0, 0.2, c).astype(np.float32)
            out[p + ".running_mean"] = rng.normal(0, 0.2, c).astype(np.float32)
            out[p + ".running_var"] = rng.uniform(0.5, 1.5, c).astype(np.float32)
    return out


def make_net(name, mix="long", seed=1):
    """A zoo net with randomised BN, switched to `mix`; also returns its long-form state_dict."""
    net = tailor.zoo.create(name, num_classes=10, input_shape=SHAPE, seed=seed)
    net.load_state_dict(randomise_bn(net.state_dict(), seed))
    long_state = net.state_dict()
    for block, mode in mix_modes(net.blocks, mix).items():
        net.set_mode(block, mode)
    return net, long_state


def block_forward(blk, x, mode):
    """A torchvision BasicBlock in each mode, written from docs/ARCHITECTURE.md §5 (not from the graph):
    removed: ReLU(BN2(conv2(ReLU(BN1(conv1 x))))); short: h = ReLU(BN1(conv1 x) + P(x)),
    out = ReLU(BN2(conv2 h) + h)."""
    if mode == "long":
        return blk(x)
    h = blk.bn1(blk.conv1(x))
    if mode == "short":
        h = h + (x if blk.downsample is None else blk.downsample(x))
    h = F.relu(h)
    out = blk.bn2(blk.conv2(h))
    return F.relu(out + h if mode == "short" else out)


def reference_forward(model, x, modes):
    """The hand-written torchvision-layout reference with per-block modes."""
    x = model.relu(model.bn1(model.conv1(x)))
    if hasattr(model, "maxpool"):
        x = model.maxpool(x)
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        for j, blk in enumerate(getattr(model, stage, [])):
            x = block_forward(blk, x, modes[f"{stage}.{j}"])
    return model.fc(torch.flatten(model.avgpool(x), 1))


def reference(name, state):
    model = torch_reference.build(name, 10, 3)
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return model.eval()


def close(a, b, tol):
    """Max |a - b| and whether it is within tol relative to the outputs' scale."""
    err = float((a - b).abs().max())
    return err, err <= tol * max(1.0, float(b.abs().max()))


X = torch.randn(4, *SHAPE, generator=torch.Generator().manual_seed(0))


# ---- to_torch ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("name", MODELS)
def test_to_torch_matches_reference(name, mix):
    net, long_state = make_net(name, mix)
    with net:
        module = to_torch(net)
        sd = net.state_dict()
        assert list(module.state_dict()) == list(sd)  # same names, same order
        for k, v in module.state_dict().items():
            assert np.array_equal(v.numpy(), sd[k]), k
        ref = reference(name, long_state)
        with torch.no_grad():
            err, ok = close(module(X), reference_forward(ref, X, net.modes), 1e-5)
        assert ok, f"{name}/{mix}: max |diff| {err:.3g}"
        assert not module.training


def test_removed_block_really_has_no_skip():
    long_net, _ = make_net("resnet8", "long")
    net, _ = make_net("resnet8", "removed")
    with net, long_net:
        module = to_torch(net)
        assert not any("downsample" in k for k in module.state_dict())
        assert not any(isinstance(m, Add) for m in module.modules())
        with torch.no_grad():
            diff = float((module(X) - to_torch(long_net)(X)).abs().max())
        assert diff > 1e-3


def test_short_bottleneck_projections_are_modules():
    """Shortening a bottleneck adds downsample{k} projections; they become real submodules."""
    net = tailor.zoo.resnet50(input_shape=(3, 64, 64))
    with net:
        net.set_mode(0, "short")
        module = to_torch(net)
        assert isinstance(module.get_submodule("layer1.0.downsample3.0"), nn.Conv2d)
        assert list(module.state_dict()) == list(net.state_dict())
        with torch.no_grad():
            assert module(torch.randn(1, 3, 64, 64)).shape == (1, 10)


def test_nested_names_and_pools():
    """A node-by-node net with both pools: names nest, pools follow PyTorch (count_include_pad)."""
    net = tailor.Network(seed=3)
    with net:
        net.add_input("input", (2, 9, 9))
        net.add_conv2d("stem.conv", "input", 4, 3, padding=1, bias=True)
        net.add_batchnorm("stem.bn", "stem.conv")
        net.add_relu("stem.relu", "stem.bn")
        net.add_pool("pool.avg", "stem.relu", "avg", 3, 2, 1)
        net.add_pool("pool.max", "pool.avg", "max", 2, 1, 0)
        net.add_flatten("flatten", "pool.max")
        net.add_dense("head.fc", "flatten", 3)
        net.load_state_dict(randomise_bn(net.state_dict()))
        module = to_torch(net)
        assert set(module.state_dict()) == set(net.state_dict())
        assert module.get_submodule("stem").conv.bias is not None
        x = torch.randn(2, 2, 9, 9)
        with torch.no_grad():
            h = F.relu(F.batch_norm(module.stem.conv(x), module.stem.bn.running_mean, module.stem.bn.running_var,
                                    module.stem.bn.weight, module.stem.bn.bias, eps=module.stem.bn.eps))
            h = F.max_pool2d(F.avg_pool2d(h, 3, 2, 1, count_include_pad=True), 2, 1)
            expect = module.head.fc(h.flatten(1))
            assert torch.allclose(module(x), expect, atol=1e-6)


# ---- from_torch -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_torch_to_tailor_to_torch(name):
    zoo = tailor.zoo.create(name, input_shape=SHAPE, seed=5)
    with zoo:
        ref = reference(name, randomise_bn(zoo.state_dict(), 5))
        net = from_torch(ref, SHAPE)
        with net:
            # the same graph the zoo builds: names (block-final ReLU included), ops and wiring
            as_set = lambda n: {(x.name, x.op, x.inputs) for x in n.nodes}  # noqa: E731
            assert as_set(net) == as_set(zoo)
            assert net.skips == zoo.skips
            assert [(b.name, b.kind, b.mode) for b in net.blocks] == [(b.name, b.kind, b.mode) for b in zoo.blocks]
            back = to_torch(net)
            theirs = ref.state_dict()
            assert set(back.state_dict()) == set(theirs)
            for k, v in back.state_dict().items():
                assert torch.equal(v, theirs[k]), k
            with torch.no_grad():
                err, ok = close(back(X), ref(X), 1e-4)
            assert ok, f"{name}: max |diff| {err:.3g}"


def test_skip_inventory_from_torch_resnet8_equals_zoo():
    with from_torch(torch_reference.build("resnet8"), SHAPE) as net, tailor.zoo.resnet8() as zoo:
        assert net.skips == zoo.skips
        assert [s.projection for s in net.skips] == [None, "layer2.0.downsample", "layer3.0.downsample"]


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("name", MODELS)
def test_tailor_to_torch_to_tailor(name, mix):
    """to_torch's module traces back to the same nodes and weights, and every block keeps its
    mode: a short block comes back short (it used to come back as one long one-conv block per
    short skip, so its estimate priced long skips and plan="shorten" promised savings it had).
    A removed block has no skip left to find: it comes back as plain layers."""
    net, _ = make_net(name, mix)
    with net:
        back = from_torch(to_torch(net), SHAPE)
        with back:
            assert [(n.name, n.op, n.inputs) for n in back.nodes] == [(n.name, n.op, n.inputs) for n in net.nodes]
            a, b = back.state_dict(), net.state_dict()
            assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
            assert back.modes == {k: m for k, m in net.modes.items() if m != "removed"}
            kept = [(s.name, s.mode, s.source, s.join, s.spans, s.projection) for s in net.skips if s.mode != "removed"]
            assert [(s.name, s.mode, s.source, s.join, s.spans, s.projection) for s in back.skips] == kept
            if "removed" not in net.modes.values():
                assert tailor.estimate(back, target="pe_array").totals == tailor.estimate(net, target="pe_array").totals


@pytest.mark.parametrize("name", MODELS + ["resnet50"])
def test_a_short_block_found_in_torch_switches_like_the_original(name):
    """A block found short is a whole Tailor block: switched to long it is the zoo's long block
    (bottlenecks get a fresh long projection, as shortening set the original aside), and back
    to short it is what was imported, weights included; a model file keeps it."""
    net, _ = make_net(name, "short")
    with net:
        back = from_torch(to_torch(net), SHAPE)
        with back, tailor.zoo.create(name, num_classes=10, input_shape=SHAPE) as zoo:
            short_state = back.state_dict()
            back.set_modes(dict.fromkeys(back.modes, "long"))
            assert [(n.name, n.op, n.inputs) for n in back.nodes] == [(n.name, n.op, n.inputs) for n in zoo.nodes]
            back.set_modes(dict.fromkeys(back.modes, "short"))
            assert [(n.name, n.op, n.inputs) for n in back.nodes] == [(n.name, n.op, n.inputs) for n in net.nodes]
            assert all(np.array_equal(back.state_dict()[k], v) for k, v in short_state.items())


def test_a_model_shortened_by_skipschedule_imports_short(tmp_path):
    """SkipSchedule shortens the user's own modules (fx names the adds `add`, `add_1`...): the
    import still finds one short block per original block, and a model file keeps the adds' names."""
    from tailor.torch import SkipSchedule
    model = torch_reference.build("resnet8")
    sched = SkipSchedule(model, "shorten", SHAPE, every=1)
    for epoch in range(sched.epochs):
        sched.step(epoch)
    with from_torch(model, SHAPE) as back, tailor.zoo.create("resnet8", num_classes=10, input_shape=SHAPE) as zoo:
        zoo.set_modes(dict.fromkeys(zoo.modes, "short"))
        assert back.modes == zoo.modes
        assert [s.spans for s in back.skips] == [s.spans for s in zoo.skips]
        assert tailor.estimate(back, target="pe_array").totals == tailor.estimate(zoo, target="pe_array").totals
        back.save(tmp_path / "short.tailor")
        with tailor.load(tmp_path / "short.tailor") as again:
            assert [(n.name, n.inputs) for n in again.nodes] == [(n.name, n.inputs) for n in back.nodes]
            assert again.modes == back.modes


class OneConvUnits(nn.Module):
    """Residual units of one conv each, in separate modules (`units.0`, `units.1`): two blocks,
    not one shortened block. Two convs with identity skips inside one module are read as one
    block shortened (the module is the evidence they belonged together)."""

    def __init__(self, same_module=False):
        super().__init__()
        self.same_module = same_module
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        unit = lambda: nn.ModuleDict(dict(conv=nn.Conv2d(8, 8, 3, padding=1, bias=False), bn=nn.BatchNorm2d(8)))  # noqa: E731
        self.units = nn.ModuleList([unit(), unit()])
        self.body = nn.ModuleDict(dict(conv1=nn.Conv2d(8, 8, 3, padding=1, bias=False), bn1=nn.BatchNorm2d(8),
                                       conv2=nn.Conv2d(8, 8, 3, padding=1, bias=False), bn2=nn.BatchNorm2d(8)))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = F.relu(self.stem(x))
        if self.same_module:
            b = self.body
            x = F.relu(b["bn1"](b["conv1"](x)) + x)
            x = F.relu(b["bn2"](b["conv2"](x)) + x)
        else:
            for u in self.units:
                x = F.relu(u["bn"](u["conv"](x)) + x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_one_conv_units_in_separate_modules_stay_separate_blocks():
    with from_torch(OneConvUnits(), (3, 8, 8)) as net:
        assert net.modes == {"units.0": "long", "units.1": "long"}
    with from_torch(OneConvUnits(same_module=True), (3, 8, 8)) as net:
        assert net.modes == {"body": "short"}
        assert [s.spans for s in net.skips] == [("body.conv1",), ("body.conv2",)]


class Functional(nn.Module):
    """Functional spellings: F.relu, torch.relu, +=, torch.add, x.view(x.size(0), -1),
    torch.flatten, nn.Flatten, both pools, Identity, a module reused."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8, eps=1e-3, momentum=0.01)
        self.a = nn.Conv2d(8, 8, (3, 3), padding=(1, 1), bias=False)
        self.bn_a = nn.BatchNorm2d(8)
        self.b = nn.Conv2d(8, 8, 3, padding="same", bias=False)
        self.bn_b = nn.BatchNorm2d(8)
        self.c = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn_c = nn.BatchNorm2d(8)
        self.act = nn.ReLU(inplace=True)
        self.pool = nn.AvgPool2d(3, 2, 1)
        self.mp = nn.MaxPool2d(2)
        self.skip = nn.Identity()
        self.gap = nn.AdaptiveAvgPool2d((1, 1))
        self.flat = nn.Flatten()
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)), inplace=True)
        y = self.act(self.bn_a(self.a(x)))
        y = self.bn_b(self.b(y))
        y += self.skip(x)
        x = torch.relu(y)
        y = self.act(torch.add(self.bn_c(self.c(x)), x))  # self.act reused on purpose: distinct names
        x = self.mp(self.pool(y))
        return self.fc(self.flat(self.gap(x)).view(x.size(0), -1))


def test_functional_spellings():
    model = Functional()
    sd = randomise_bn({k: v.numpy() for k, v in model.state_dict().items()})
    model.load_state_dict({k: torch.as_tensor(v) for k, v in sd.items()})
    model.eval()
    with from_torch(model, (3, 16, 16)) as net:
        names = [n.name for n in net.nodes]
        assert len(names) == len(set(names))
        assert {"c", "b", "act1", "act", "relu", "add", "flat", "flatten", "mp", "pool"} <= set(names)
        assert [b.kind for b in net.blocks] == ["basic", "other"]  # the second skip spans one conv
        x = torch.randn(2, 3, 16, 16)
        with torch.no_grad():
            err, ok = close(to_torch(net)(x), model(x), 1e-5)
        assert ok, err


# ---- refusals ---------------------------------------------------------------------------------

class Wrap(nn.Module):
    def __init__(self, body, tail=None):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), body)
        self.tail = tail

    def forward(self, x):
        x = self.body(x)
        return self.tail(x) if self.tail else x


@pytest.mark.parametrize("body,what", [
    (nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
    (nn.Conv2d(4, 4, 3, dilation=2), "dilation"),
    (nn.Conv2d(4, 4, (1, 3)), "non-square"),
    (nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), "padding_mode"),
    (nn.GELU(), "GELU"),
    (nn.MaxPool2d(2, ceil_mode=True), "ceil_mode"),
    (nn.AvgPool2d(3, padding=1, count_include_pad=False), "count_include_pad"),
    (nn.AdaptiveAvgPool2d(2), "output_size"),
    (nn.BatchNorm2d(4, affine=False), "BatchNorm2d"),
])
def test_unsupported_module_named(body, what):
    with pytest.raises(UnsupportedModuleError, match=rf"module 'body\.1'.*{what}") as e:
        from_torch(Wrap(body), (3, 8, 8))
    assert isinstance(e.value, tailor.TailorError) and isinstance(e.value, ValueError)
    assert e.value.status_name == "TAILOR_ERR_UNSUPPORTED"


class AddConst(nn.Module):
    def forward(self, x):
        return x + 1


class TwoInputs(nn.Module):
    def forward(self, x, y):
        return x + y


class Dynamic(nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


def test_unsupported_calls_named():
    with pytest.raises(UnsupportedModuleError, match=r"in module 'tail'.*sum of two tensors"):
        from_torch(Wrap(nn.ReLU(), AddConst()), (3, 8, 8))
    with pytest.raises(UnsupportedModuleError, match="2 inputs"):
        from_torch(TwoInputs(), (3, 8, 8))
    with pytest.raises(UnsupportedModuleError, match="could not trace"):
        from_torch(Dynamic(), (3, 8, 8))
    with pytest.raises(UnsupportedModuleError, match=r"operation 'sigmoid'"):
        from_torch(Wrap(nn.ReLU(), torch.sigmoid), (3, 8, 8))


def test_library_shape_errors_name_the_module():
    """A mismatch the library finds (here Linear's in_features) names the torch module."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(5, 2))
    with pytest.raises(tailor.TailorError, match=r"module '2'.*\(2, 5\).*\(2, 144\)"):
        from_torch(model, (3, 8, 8))


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


def test_shared_weights_refused():
    with pytest.raises(UnsupportedModuleError, match=r"module 'conv'.*2 times"):
        from_torch(Shared(), (3, 8, 8))


def test_dropout_and_cumulative_batchnorm_import_with_a_warning():
    # Both were refused. Dropout is the identity in inference (what the hardware runs); a BatchNorm
    # with momentum=None keeps its running statistics, so inference is the same as in PyTorch.
    import warnings
    import torch.nn as nn
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4, momentum=None), nn.ReLU(),
                          nn.Dropout(0.3), nn.Flatten(), nn.Linear(4 * 8 * 8, 5)).eval()
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = tailor.from_torch(model, (3, 8, 8))
    text = " ".join(str(w.message) for w in caught)
    assert "Dropout" in text and "momentum=None" in text
    x = torch.randn(6, 3, 8, 8)
    with net:
        assert np.allclose(net.predict(x.numpy()), model(x).detach().numpy(), atol=1e-4)


@pytest.mark.parametrize("bad", [(3, 32), "abc", None, (3, 32, -1), (3.5, 32, 32), 5, (3, 32, True)])
def test_a_bad_input_shape_is_an_error_naming_it(bad):
    with tailor.zoo.create("resnet8", num_classes=10) as net:
        model = tailor.to_torch(net)
    with pytest.raises(tailor.InvalidArgumentError, match="input_shape"):
        tailor.from_torch(model, input_shape=bad)
