"""Tailor: retrain residual networks while removing or shortening their skip connections
(Weng et al., arXiv 2301.07247), for resource-efficient FPGA inference.

The engine is libtailor (Swift, C ABI); this package is a thin ctypes wrapper that hands
weights in and out as numpy arrays with PyTorch's names and layouts.
"""
from ._lib import TailorError
from .network import Block, Network, Node, Skip, load
from . import zoo

__version__ = "0.1.0"


def library_version() -> str:
    """The loaded libtailor's version ("MAJOR.MINOR.PATCH")."""
    from . import _lib
    return _lib.version()


__all__ = ["TailorError", "Network", "Node", "Block", "Skip", "load", "zoo", "library_version", "__version__"]
