"""Tailor inside a PyTorch training loop (single process or ``torch.distributed`` DDP).

The Swift core decides the plan (which block changes after which epoch, and the structure of a
removed or shortened block); this module applies it to the user's own ``nn.Module`` in place and
gives the KD loss as a torch function, so Tailor runs on whatever engine trains the model::

    from tailor.torch import SkipSchedule, kd_loss
    sched = SkipSchedule(model, "remove", input_shape=(3, 224, 224), every=3)
    teacher = sched.teacher                       # frozen copy of the trained model, eval mode
    ddp, opt = DDP(model), SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    for epoch in range(sched.epochs):
        if sched.step(epoch):                     # same epoch, same change, on every rank
            opt = sched.optimizer(opt)            # state of surviving parameters carried over
            ddp = DDP(model)                      # re-wrap: the parameter set changed
        for x, y in loader:
            with torch.no_grad():
                t = teacher(x)
            loss = kd_loss(ddp(x), t, y)          # 0.35·MSE(logits) + 0.65·CE
            opt.zero_grad(); loss.backward(); opt.step()

torch is needed only when this module is imported.
"""
from __future__ import annotations

import copy
import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._lib import TailorError
from .plan import Plan, plan
from .torch_adapter import UnsupportedModuleError, _attach, _module_for, from_torch, to_torch

__all__ = ["SkipSchedule", "AlteredBlock", "kd_loss", "from_torch", "to_torch", "UnsupportedModuleError"]


@functools.lru_cache(maxsize=1)
def _kd_defaults() -> tuple[float, float]:
    """The library's KD weight and temperature (a Tailor run's defaults), read once."""
    from .training import defaults
    d = defaults("run")
    return d["kd_alpha"], d["kd_temperature"]


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
            alpha: float | None = None, kind: str = "mse", temperature: float | None = None) -> torch.Tensor:
    """The KD losses of a Tailor run, as libtailor computes them. ``kind="mse"`` (the authors'):
    ``alpha·MSE(student, teacher) + (1−alpha)·CE(student, target)``, MSE averaged over every
    logit. ``kind="hinton"``: ``alpha·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−alpha)·CE`` with
    batch-mean KL. ``alpha``/``temperature`` None: the library's (0.35 and 4)."""
    if alpha is None or temperature is None:
        alpha = _kd_defaults()[0] if alpha is None else alpha
        temperature = _kd_defaults()[1] if temperature is None else temperature
    if not 0.0 <= alpha <= 1.0:
        raise TailorError(f"alpha must be in [0, 1], got {alpha}", status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")
    ce = F.cross_entropy(student_logits, target)
    if kind == "mse":
        return alpha * F.mse_loss(student_logits, teacher_logits) + (1 - alpha) * ce
    if kind == "hinton":
        if not temperature > 0:
            raise TailorError(f"temperature must be positive, got {temperature}", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
        t = temperature
        kl = F.kl_div(F.log_softmax(student_logits / t, dim=1), F.softmax(teacher_logits / t, dim=1),
                      reduction="batchmean")
        return alpha * t * t * kl + (1 - alpha) * ce
    raise TailorError(f"kind must be 'mse' or 'hinton', got {kind!r}", status=1, status_name="TAILOR_ERR_INVALID_ARGUMENT")


class AlteredBlock(nn.Module):
    """A residual block rebuilt in a Tailor mode from the graph libtailor gives for it. The
    original block's conv/BN modules are reused (same tensors, so training continues); modules
    the mode drops are left out, new projections (``downsample{k}``) are added with libtailor's
    initialisation. Submodule paths keep the original's names, so state_dict keys match Tailor's."""

    def __init__(self, original: nn.Module, prefix: str, block: dict, nodes: list[dict], shapes: dict, net):
        super().__init__()
        self.block_name = prefix
        self.mode = block["mode"]
        self._entry, self._output = block["entry"], block["output"]
        try:
            device = next(original.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
        self._steps = []
        for node in nodes:
            op, name = node["op"], node["name"]
            if op in ("conv2d", "batchnorm"):
                if not name.startswith(prefix + "."):
                    raise UnsupportedModuleError(f"SkipSchedule: node {name!r} of block {prefix!r} is not under the "
                                                 "block's module")
                rel = name[len(prefix) + 1:]
                try:
                    module = original.get_submodule(rel)
                except AttributeError:
                    module = self._fresh(node, shapes, net).to(device)
                if not _attach(self, rel, module):
                    raise UnsupportedModuleError(f"SkipSchedule: cannot place {rel!r} in block {prefix!r}")
                self._steps.append((name, node["inputs"], module))
            elif op == "relu":
                self._steps.append((name, node["inputs"], torch.relu))
            elif op == "add":
                self._steps.append((name, node["inputs"], torch.add))
            else:
                raise UnsupportedModuleError(f"SkipSchedule: block {prefix!r} holds a {op} node ({name!r})")

    @staticmethod
    def _fresh(node: dict, shapes: dict, net) -> nn.Module:
        """A module for a node the original block lacks, with libtailor's initial values (the same
        on every rank, as the plan and the seed are)."""
        node = dict(node, _in=shapes[node["inputs"][0]][0])
        module = _module_for(node)
        with torch.no_grad():
            for key, tensor in module.state_dict().items():
                value = torch.from_numpy(net.get_param(f"{node['name']}.{key}").copy())
                tensor.copy_(value.reshape(tensor.shape))
        return module

    def forward(self, x):
        """The block's output for its input `x` (N, C, H, W), node by node in the block's mode."""
        env = {self._entry: x}
        for name, inputs, fn in self._steps:
            env[name] = fn(*(env[i] for i in inputs))
        return env[self._output]

    def extra_repr(self) -> str:
        """The mode, shown in the module's repr."""
        return f"mode={self.mode!r}"


class SkipSchedule:
    """Applies a Tailor plan to a PyTorch model in place, epoch by epoch.

    model: a trained ResNet-style ``nn.Module`` whose residual blocks are submodules (torchvision
    layout: ``layer2.0``); input_shape: (C, H, W) for tracing; algorithm: "remove" or "shorten";
    every / epochs / blocks: as :func:`tailor.plan`. ``teacher`` is a frozen eval-mode copy of the
    model taken before any change. Every rank that builds the schedule from the same model and
    arguments makes the same change at the same epoch.
    """

    def __init__(self, model: nn.Module, algorithm: str, input_shape, every: int = 3, epochs: int | None = None,
                 blocks=None, seed: int = 0):
        self.model = model
        self.net = from_torch(model, input_shape, seed=seed)
        self.plan: Plan = plan(self.net, algorithm, every=every, epochs=epochs, blocks=blocks)
        for b in self.plan.block_names:
            try:
                model.get_submodule(b)
            except AttributeError:
                raise UnsupportedModuleError(f"SkipSchedule: residual block {b!r} is not a submodule of the model; "
                                             "it needs blocks as modules (torchvision layout)") from None
        self.teacher = copy.deepcopy(model).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self._modes = dict.fromkeys(self.plan.block_names, "long")
        self.history: list[tuple[int, str, str]] = []

    @property
    def epochs(self) -> int:
        return self.plan.epochs

    @property
    def modes(self) -> dict[str, str]:
        """Each block's mode as applied so far."""
        return dict(self._modes)

    def step(self, epoch: int) -> list[str]:
        """Brings the model to the structure it must have while `epoch` trains (every change due
        up to it, so resuming at any epoch works). Returns the blocks changed now."""
        target = self.plan.modes(epoch)
        changed = [b for b in self.plan.block_names if target[b] != self._modes[b]]
        for b in changed:
            self._alter(b, target[b])
            self._modes[b] = target[b]
            self.history.append((epoch, b, target[b]))
        return changed

    def _alter(self, block: str, mode: str) -> None:
        self.net.set_mode(block, mode)
        described = self.net.describe()
        index = next(i for i, b in enumerate(described["blocks"]) if b["name"] == block)
        shapes = {n["name"]: n["shape"] for n in described["nodes"]}
        nodes = [n for n in described["nodes"] if n.get("block") == index]
        new = AlteredBlock(self.model.get_submodule(block), block, described["blocks"][index], nodes, shapes, self.net)
        parent_path, _, child = block.rpartition(".")
        parent = self.model.get_submodule(parent_path) if parent_path else self.model
        new.train(parent.training)
        setattr(parent, child, new)

    def optimizer(self, opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Points `opt` at the model's current parameters, in place, and returns it: the state
        (momentum, Adam moments) of every parameter that survived the change is kept, parameters
        that left the model drop theirs, and new projections start fresh. Because it is the same
        optimizer, an LR scheduler attached to it keeps stepping it (a new optimizer would have
        left the scheduler driving the old one, freezing the learning rate)."""
        if len(opt.param_groups) != 1:
            raise TailorError("SkipSchedule.optimizer handles an optimizer with one parameter group; "
                              f"this one has {len(opt.param_groups)}", status=7, status_name="TAILOR_ERR_UNSUPPORTED")
        params = list(self.model.parameters())
        live = set(params)
        opt.param_groups[0]["params"] = params
        for p in [p for p in opt.state if p not in live]:
            del opt.state[p]
        return opt
