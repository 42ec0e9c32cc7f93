"""Reference networks built by libtailor, with PyTorch (torchvision-scheme) parameter names.

``resnet8`` is MLPerf Tiny's CIFAR-10 ResNet-8; ``resnet20/32/44/56/110`` are He et al.'s
CIFAR ResNets; ``resnet18/34/50`` are torchvision's ImageNet ResNets. CIFAR models default to a
3x32x32 input, ImageNet ones to 3x224x224.
"""
from __future__ import annotations

import ctypes

from . import _lib
from ._lib import TailorError, _check, s
from .network import Network

CIFAR = ("resnet8", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110")
IMAGENET = ("resnet18", "resnet34", "resnet50")


def names() -> list[str]:
    """Every name :func:`create` accepts (as the library reports them)."""
    return [n for n in (_lib.u(_lib.lib().tailor_zoo_names()) or "").split(",") if n]


def create(name: str, num_classes: int = 10, input_shape=None, seed: int = 0) -> Network:
    """Builds the reference network `name` with `num_classes` outputs.

    `input_shape` is (channels, height, width); None gives the model's default (3x32x32 for
    CIFAR models, 3x224x224 for ImageNet ones). `seed` seeds parameter initialisation.
    """
    if not isinstance(name, str):
        raise TailorError(f"zoo model name must be a string, got {type(name).__name__}", status=1,
                          status_name="TAILOR_ERR_INVALID_ARGUMENT")
    chw = (0, 0, 0)   # the library's "default input" (3x32x32 CIFAR, 3x224x224 ImageNet)
    if input_shape is not None:
        dims = tuple(int(v) for v in input_shape)
        if len(dims) != 3:
            raise TailorError(f"input_shape must be (channels, height, width), got {tuple(input_shape)}",
                              status=2, status_name="TAILOR_ERR_SHAPE")
        if dims == (0, 0, 0):
            # ABI 1 refused a zero shape; in ABI 2 all zeros would silently mean the default.
            raise TailorError("input_shape must be positive, got (0, 0, 0)", status=1,
                              status_name="TAILOR_ERR_INVALID_ARGUMENT")
        chw = dims
    ptr = _lib.NetPtr()
    _check(_lib.lib().tailor_zoo_create(s(name), int(num_classes), *chw, ctypes.c_uint64(int(seed) & (2**64 - 1)),
                                        ctypes.byref(ptr)))
    return Network._from_ptr(ptr)


def _factory(name: str, default_shape):
    def build(num_classes: int = 10, input_shape=default_shape, seed: int = 0) -> Network:
        return create(name, num_classes=num_classes, input_shape=input_shape, seed=seed)
    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"{name} with `num_classes` outputs, input (C, H, W) = `input_shape` "
                     f"(default {default_shape}), weights seeded by `seed`.")
    return build


resnet8 = _factory("resnet8", (3, 32, 32))
resnet20 = _factory("resnet20", (3, 32, 32))
resnet32 = _factory("resnet32", (3, 32, 32))
resnet44 = _factory("resnet44", (3, 32, 32))
resnet56 = _factory("resnet56", (3, 32, 32))
resnet110 = _factory("resnet110", (3, 32, 32))
resnet18 = _factory("resnet18", (3, 224, 224))
resnet34 = _factory("resnet34", (3, 224, 224))
resnet50 = _factory("resnet50", (3, 224, 224))
