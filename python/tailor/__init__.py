"""Tailor: retrain residual networks while removing or shortening their skip connections
(Weng et al., arXiv 2301.07247), for resource-efficient FPGA inference.

The engine is libtailor (Swift, C ABI); this package is a thin ctypes wrapper that hands
weights in and out as numpy arrays with PyTorch's names and layouts.
"""
from ._lib import (BusyError, CancelledError, FormatError, InternalError, InvalidArgumentError, NotFoundError,
                   NumericError, ShapeError, TailorError, TailorIOError, UnsupportedError, VersionError)
from .network import Block, Network, Node, Skip, load
from . import zoo
from .estimate import Comparison, Report, estimate, simulate_design
from .estimate import fifos as estimate_fifos
from .budget import BudgetCheck, check_budget, fpga_parts
from .algorithms import compare, remove_skips, resume, shorten_skips
from .training import checkpoint_info
from .plan import Plan, plan
from .fixed import quantize
from . import plot

__version__ = "0.3.0"


def from_torch(model, input_shape, seed: int = 0) -> Network:
    """A Tailor network with the weights and skip inventory of a PyTorch ResNet-style module
    (traced with torch.fx; see ``tailor.torch_adapter.from_torch``). Needs torch."""
    from .torch_adapter import from_torch as _from_torch
    return _from_torch(model, input_shape, seed=seed)


def to_torch(net: Network):
    """An ``nn.Module`` computing `net` (any mix of long/removed/short blocks) with the same
    state_dict names and weights (see ``tailor.torch_adapter.to_torch``). Needs torch."""
    from .torch_adapter import to_torch as _to_torch
    return _to_torch(net)


def library_version() -> str:
    """The loaded libtailor's version ("MAJOR.MINOR.PATCH")."""
    from . import _lib
    return _lib.version()


__all__ = ["TailorError", "InvalidArgumentError", "ShapeError", "NotFoundError", "TailorIOError", "FormatError",
           "NumericError", "UnsupportedError", "CancelledError", "BusyError", "VersionError", "InternalError",
           "quantize", "Network", "Node", "Block", "Skip", "load", "zoo", "from_torch", "to_torch",
           "library_version", "__version__", "estimate", "estimate_fifos", "simulate_design", "compare", "Report",
           "Comparison", "plan", "Plan", "plot", "remove_skips", "shorten_skips",
           "resume", "checkpoint_info", "fpga_parts", "check_budget", "BudgetCheck"]
