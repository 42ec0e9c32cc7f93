"""The Tailor schedule (docs/ARCHITECTURE.md §5) as decided by libtailor: which residual block is removed
or shortened after which epoch. ``tailor.torch.SkipSchedule`` follows it inside a PyTorch loop.

    sched = tailor.plan(net, "remove", every=3)     # every block, input to output
    sched.epochs                                    # 12 for ResNet-8: 3 blocks, changes after 3, 6, 9
    sched.modes(4)                                  # {"layer1.0": "removed", "layer2.0": "long", ...}
    sched.changes                                   # [(3, "layer1.0", "removed"), (6, ...), (9, ...)]
"""
from __future__ import annotations

import ctypes

from ._lib import TailorError, _check
from .network import MODES


class Plan:
    """A validated schedule: ``modes(epoch)`` gives every block's mode while that epoch trains."""

    def __init__(self, algorithm: str, block_names: list[str], table: list[list[str]], every: int):
        self.algorithm = algorithm
        self.block_names = block_names
        self.every = every
        self._table = table

    @property
    def epochs(self) -> int:
        return len(self._table)

    def modes(self, epoch: int) -> dict[str, str]:
        """Each block's mode while `epoch` (0-based) trains; epochs past the end keep the last modes."""
        if not isinstance(epoch, int) or epoch < 0:
            raise TailorError(f"epoch must be a non-negative integer, got {epoch!r}", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
        row = self._table[min(epoch, len(self._table) - 1)]
        return dict(zip(self.block_names, row))

    @property
    def changes(self) -> list[tuple[int, str, str]]:
        """(epoch, block, new mode) for every change, in order."""
        out = []
        for e in range(1, self.epochs):
            for name, before, after in zip(self.block_names, self._table[e - 1], self._table[e]):
                if before != after:
                    out.append((e, name, after))
        return out

    def __repr__(self) -> str:
        steps = ", ".join(f"{b}→{m} at epoch {e}" for e, b, m in self.changes)
        return f"<tailor.Plan {self.algorithm} every {self.every}, {self.epochs} epochs: {steps}>"


def plan(net, algorithm: str, every: int = 3, epochs: int | None = None, blocks=None) -> Plan:
    """The schedule for `net` ("remove" or "shorten"), every block or `blocks` (names or indexes,
    in the order they change), one change every `every` epochs; `epochs` defaults to
    (len(blocks) + 1) · every. Raises TailorError for an impossible plan."""
    from .network import Network
    if not isinstance(net, Network):
        raise TailorError(f"net must be a tailor.Network, got {type(net).__name__}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    for value, what in ((every, "every"), (epochs, "epochs")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TailorError(f"{what} must be an integer, got {value!r}", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
    if not isinstance(algorithm, str):
        raise TailorError(f"algorithm must be 'remove' or 'shorten', got {algorithm!r}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    idx = None if blocks is None else [net._block_index(b) for b in blocks]
    arr = (ctypes.c_int64 * max(1, len(idx or [])))(*(idx or []))
    n_epochs = ctypes.c_int64()
    lib, h = net._lib, net._h
    ep = 0 if epochs is None else epochs
    _check(lib.tailor_plan_modes(h, algorithm.encode(), arr if idx else None, len(idx or []), every, ep,
                                 None, 0, ctypes.byref(n_epochs)))
    names = [b.name for b in net.blocks]
    modes = (ctypes.c_int32 * max(1, n_epochs.value * len(names)))()
    _check(lib.tailor_plan_modes(h, algorithm.encode(), arr if idx else None, len(idx or []), every, ep,
                                 modes, n_epochs.value * len(names), ctypes.byref(n_epochs)))
    k = len(names)
    table = [[MODES[modes[e * k + b]] for b in range(k)] for e in range(n_epochs.value)]
    return Plan(algorithm, names, table, every)
