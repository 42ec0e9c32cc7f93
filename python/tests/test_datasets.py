"""CIFAR-10 readers: the binary batches (read by the Swift core through tailor_cifar10_read) and
the pickle batches (read in Python) give the same arrays for the same records; malformed files
are clear errors. Synthetic files in the standard layouts; the real set is used by the examples."""
import os
import pickle

import numpy as np
import pytest

import tailor
from tailor import datasets


def _records(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, n).astype(np.uint8), rng.integers(0, 256, (n, 3072)).astype(np.uint8)


def _write_bin(folder, counts=(3, 2, 2, 2, 1), test=4):
    os.makedirs(folder)
    files = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for k, (name, n) in enumerate(zip(files, (*counts, test))):
        y, x = _records(n, k)
        np.concatenate([y[:, None], x], axis=1).tofile(os.path.join(folder, name))
    return files


def test_binary_batches_match_the_bytes(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    _write_bin(str(folder))
    d = datasets.load_cifar10(str(tmp_path))
    ys, xs = zip(*[_records(n, k) for k, n in enumerate((3, 2, 2, 2, 1))])
    assert d.train[0].shape == (10, 3, 32, 32) and d.train[0].dtype == np.float32
    np.testing.assert_array_equal(d.train[1], np.concatenate(ys))
    np.testing.assert_allclose(d.train[0].reshape(10, -1), np.concatenate(xs) / 255.0, rtol=1e-6)
    yt, xt = _records(4, 5)
    np.testing.assert_array_equal(d.test[1], yt)
    np.testing.assert_allclose(d.test[0].reshape(4, -1), xt / 255.0, rtol=1e-6)


def test_pickle_batches_give_the_same_arrays(tmp_path):
    _write_bin(str(tmp_path / "bin" / "cifar-10-batches-bin"))
    py = tmp_path / "py" / "cifar-10-batches-py"
    os.makedirs(py)
    for k, (name, n) in enumerate(zip([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"], (3, 2, 2, 2, 1, 4))):
        y, x = _records(n, k)
        with open(py / name, "wb") as f:
            pickle.dump({b"data": x, b"labels": [int(v) for v in y]}, f)
    a, b = datasets.load_cifar10(str(tmp_path / "bin")), datasets.load_cifar10(str(tmp_path / "py"))
    for u, v in ((a.train, b.train), (a.test, b.test)):
        np.testing.assert_array_equal(u[1], v[1])
        np.testing.assert_allclose(u[0], v[0], rtol=1e-6)


def _append_partial_record(path):
    with open(path, "ab") as f:
        f.write(b"\0" * 10)


def _truncate(path):
    open(path, "wb").close()


@pytest.mark.parametrize("damage,expected", [
    (_append_partial_record, "whole number of 3073-byte records"),
    (_truncate, "0 bytes"),
    (os.remove, "missing"),
])
def test_malformed_batches_are_clear_errors(tmp_path, damage, expected):
    folder = tmp_path / "cifar-10-batches-bin"
    _write_bin(str(folder))
    damage(str(folder / "data_batch_3.bin"))
    with pytest.raises((tailor.TailorError, FileNotFoundError, ValueError), match=expected):
        datasets.load_cifar10(str(tmp_path))


def test_a_label_above_nine_is_a_format_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    _write_bin(str(folder))
    raw = np.fromfile(folder / "test_batch.bin", np.uint8)
    raw[3073] = 12   # the second record's label
    raw.tofile(folder / "test_batch.bin")
    with pytest.raises(tailor.TailorError, match="record 1 has label 12") as e:
        datasets.load_cifar10(str(tmp_path))
    assert e.value.status_name == "TAILOR_ERR_FORMAT"


def test_the_c_reader_checks_its_buffers(tmp_path):
    import ctypes
    folder = tmp_path / "cifar-10-batches-bin"
    _write_bin(str(folder))
    lib = tailor._lib.lib()
    n = ctypes.c_int64()
    x = (ctypes.c_float * (3072 * 2))()
    y = (ctypes.c_int64 * 2)()
    path = os.fsencode(folder / "data_batch_1.bin")   # 3 records
    assert lib.tailor_cifar10_read(path, None, None, 0, ctypes.byref(n)) == 0 and n.value == 3
    status = lib.tailor_cifar10_read(path, x, y, 2, ctypes.byref(n))
    assert lib.tailor_status_name(status) == b"TAILOR_ERR_SHAPE"
    assert lib.tailor_cifar10_read(path, x, None, 2, ctypes.byref(n)) != 0     # labels NULL, x not
    assert lib.tailor_cifar10_read(None, None, None, 0, ctypes.byref(n)) != 0
    assert lib.tailor_cifar10_read(path, None, None, 0, None) != 0
