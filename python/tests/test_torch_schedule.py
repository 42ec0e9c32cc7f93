"""tailor.plan, tailor.torch.SkipSchedule / kd_loss, and Tailor on DDP (gloo, 2 processes)."""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import tailor  # noqa: E402
from tailor.torch import SkipSchedule, kd_loss  # noqa: E402

import torch_reference as R  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_plan_follows_the_authors(resnet8):
    p = tailor.plan(resnet8, "remove")            # every = 3: changes after 3, 6, 9 epochs
    assert p.epochs == 12
    assert p.changes == [(3, "layer1.0", "removed"), (6, "layer2.0", "removed"), (9, "layer3.0", "removed")]
    assert set(p.modes(2).values()) == {"long"}
    assert p.modes(7) == {"layer1.0": "removed", "layer2.0": "removed", "layer3.0": "long"}
    assert p.modes(100) == p.modes(11)
    q = tailor.plan(resnet8, "shorten", every=2, epochs=9, blocks=["layer3.0", 0])
    assert q.epochs == 9 and q.changes == [(2, "layer3.0", "short"), (4, "layer1.0", "short")]


@pytest.mark.parametrize("kwargs, text", [
    ({"algorithm": "prune"}, "algorithm"), ({"algorithm": "remove", "every": 0}, "every"),
    ({"algorithm": "remove", "epochs": 5}, "epochs"), ({"algorithm": "remove", "blocks": ["layer9.0"]}, "layer9.0"),
    ({"algorithm": "remove", "blocks": [0, 0]}, "twice"), ({"algorithm": "remove", "blocks": [7]}, "out of range"),
    ({"algorithm": "remove", "every": 1.5}, "every"),
])
def test_impossible_plans(resnet8, kwargs, text):
    with pytest.raises(tailor.TailorError, match=text):
        tailor.plan(resnet8, **kwargs)


def _random_bn(model):
    """Non-trivial BN statistics so the checks below see them."""
    g = torch.Generator().manual_seed(3)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


def test_altered_basic_blocks_follow_the_paper():
    torch.manual_seed(0)
    model = _random_bn(R.build("resnet8"))
    original = {k: v.clone() for k, v in model.state_dict().items()}
    blk = model.layer2[0]
    conv1, bn1, conv2, bn2, ds = blk.conv1, blk.bn1, blk.conv2, blk.bn2, blk.downsample
    x = torch.randn(2, 16, 32, 32)
    sched = SkipSchedule(model, "shorten", (3, 32, 32), every=1, blocks=["layer2.0"])
    assert sched.step(0) == [] and sched.step(1) == ["layer2.0"]
    with torch.no_grad():
        # SkipShortener, basic block (docs/ARCHITECTURE.md §5): h = ReLU(BN1(conv1 x) + P(x)), out = ReLU(BN2(conv2 h) + h).
        h = F.relu(bn1(conv1(x)) + ds(x))
        expected = F.relu(bn2(conv2(h)) + h)
        got = model.layer2[0](x)
    assert torch.allclose(got, expected, atol=1e-6)
    assert model.layer2[0].conv1 is conv1, "the original modules are reused, not copied"
    assert sorted(model.state_dict()) == sorted(original), "same parameters: the projection moved"

    model2 = _random_bn(R.build("resnet8"))
    b = model2.layer3[0]
    sched2 = SkipSchedule(model2, "remove", (3, 32, 32), every=1)
    for e in range(sched2.epochs):
        sched2.step(e)
    x = torch.randn(2, 32, 16, 16)
    with torch.no_grad():
        # SkipRemover: out = ReLU(BN2(conv2(ReLU(BN1(conv1 x))))), projection gone.
        expected = F.relu(b.bn2(b.conv2(F.relu(b.bn1(b.conv1(x))))))
        assert torch.allclose(model2.layer3[0](x), expected, atol=1e-6)
    assert not any(k.startswith("layer3.0.downsample") for k in model2.state_dict())


@pytest.mark.parametrize("name, shape", [("resnet8", (3, 32, 32)), ("resnet20", (3, 32, 32)), ("resnet50", (3, 64, 64))])
@pytest.mark.parametrize("algorithm", ["remove", "shorten"])
def test_schedule_matches_tailor_graph(name, shape, algorithm):
    torch.manual_seed(1)
    model = _random_bn(R.build(name))
    sched = SkipSchedule(model, algorithm, shape, every=1)
    for e in range(sched.epochs):
        sched.step(e)
    assert [c[0] for c in sched.history] == list(range(1, len(sched.plan.block_names) + 1))
    # The library's own graph in the same modes, with the torch model's weights, computes the same.
    sched.net.load_state_dict({k: v.detach().numpy() for k, v in model.state_dict().items()})
    ref = tailor.to_torch(sched.net)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        err = (ref(x) - model(x)).abs().max().item()
    assert err < 1e-4, err
    assert sorted(ref.state_dict()) == sorted(model.state_dict())


def test_optimizer_carries_state_of_surviving_parameters():
    torch.manual_seed(2)
    model = R.build("resnet8").train()
    sched = SkipSchedule(model, "shorten", (3, 32, 32), every=1, blocks=["layer1.0"])
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched_lr = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
    model(torch.randn(4, 3, 32, 32)).sum().backward()
    opt.step()
    sched_lr.step()                                   # lr 0.025, groups gain initial_lr
    assert sched.step(1) == ["layer1.0"]
    w = model.layer1[0].conv1.weight
    momentum = opt.state[w]["momentum_buffer"].clone()
    new = sched.optimizer(opt)
    # The same optimizer, so the user's LR scheduler keeps driving it (it used to be a new one,
    # and the scheduler went on stepping the old: the learning rate froze).
    assert new is opt and new.param_groups[0]["lr"] == pytest.approx(0.025)
    assert torch.equal(new.state[w]["momentum_buffer"], momentum)
    assert {id(p) for p in new.param_groups[0]["params"]} == {id(p) for p in model.parameters()}
    assert all(p in {*model.parameters()} for p in new.state)
    model(torch.randn(4, 3, 32, 32)).sum().backward()
    new.step()                                        # new projections get fresh state
    sched_lr.step()
    assert new.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_schedule_refuses_models_without_block_modules():
    class Flat(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.c2, self.b2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(F.relu(y + x), 1), 1))

    with pytest.raises(tailor.TailorError, match="submodule"):
        SkipSchedule(Flat(), "remove", (8, 8, 8), every=1)


def test_kd_loss_matches_its_formula():
    torch.manual_seed(4)
    s, t, y = torch.randn(8, 10), torch.randn(8, 10), torch.randint(0, 10, (8,))
    mse = 0.35 * ((s - t) ** 2).mean() + 0.65 * F.cross_entropy(s, y)
    assert torch.allclose(kd_loss(s, t, y), mse)
    T = 3.0
    p_t = F.softmax(t / T, dim=1)
    kl = (p_t * (p_t.log() - F.log_softmax(s / T, dim=1))).sum(1).mean()
    hinton = 0.5 * T * T * kl + 0.5 * F.cross_entropy(s, y)
    assert torch.allclose(kd_loss(s, t, y, alpha=0.5, kind="hinton", temperature=T), hinton, atol=1e-6)
    for bad in ({"alpha": 2.0}, {"kind": "l1"}, {"kind": "hinton", "temperature": 0.0}):
        with pytest.raises(tailor.TailorError):
            kd_loss(s, t, y, **bad)


@pytest.mark.parametrize("algorithm", ["remove", "shorten"])
def test_ddp_two_ranks_agree(subprocess_env, tmp_path, algorithm):
    out = tmp_path / "ddp"
    proc = subprocess.run([sys.executable, os.path.join(REPO, "examples", "ddp_tailor.py"), "--world-size", "2",
                           "--algorithm", algorithm, "--epochs", "4", "--every", "1", "--steps", "2", "--out", str(out)],
                          env=subprocess_env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reports = [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]
    mode = "removed" if algorithm == "remove" else "short"
    for r in reports:
        assert r["changes"] == [[1, "layer1.0", mode], [2, "layer2.0", mode], [3, "layer3.0", mode]]
    assert reports[0]["weights"] == reports[1]["weights"]
    assert reports[0]["losses"] != reports[1]["losses"], "each rank trains on its own shard"
