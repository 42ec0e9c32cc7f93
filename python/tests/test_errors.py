"""Bad input through Python: each gives a TailorError with a clear message (checked by
substring) and the status, and the handle stays usable afterwards."""
import os

import numpy as np
import pytest

import tailor
from tailor import _lib
from tailor.network import Network

torch = None
try:  # only some cases use torch
    import torch
except ImportError:
    pass


def assert_error(fn, *substrings, status=None):
    with pytest.raises(tailor.TailorError) as info:
        fn()
    message = str(info.value)
    for s in substrings:
        assert s in message, f"{s!r} not in {message!r}"
    if status is not None:
        assert info.value.status_name == status, message
        assert info.value.status == {"TAILOR_ERR_INVALID_ARGUMENT": 1, "TAILOR_ERR_SHAPE": 2,
                                     "TAILOR_ERR_NOT_FOUND": 3, "TAILOR_ERR_IO": 4, "TAILOR_ERR_FORMAT": 5,
                                     "TAILOR_ERR_NUMERIC": 6, "TAILOR_ERR_VERSION": 10}[status]
    return info.value


def still_usable(net, reference=None):
    """The handle answers and (if given) still holds exactly `reference`."""
    sd = net.state_dict()
    assert len(net.nodes) > 0 and len(net.skips) >= 0
    if reference is not None:
        assert list(sd) == list(reference)
        for k in sd:
            assert sd[k].tobytes() == reference[k].tobytes(), k


# ---- zoo ----

def test_unknown_zoo_name():
    e = assert_error(lambda: tailor.zoo.create("resnet9"), "unknown zoo model 'resnet9'", "resnet8",
                     status="TAILOR_ERR_NOT_FOUND")
    assert "[TAILOR_ERR_NOT_FOUND]" in str(e)
    assert_error(lambda: tailor.zoo.create(8), "must be a string")


@pytest.mark.parametrize("kwargs,text", [
    ({"num_classes": 0}, "num_classes"),
    ({"num_classes": -5}, "num_classes"),
    ({"input_shape": (0, 32, 32)}, "channels must be in"),
    ({"input_shape": (3, 10**9, 32)}, "height must be in"),
    ({"input_shape": (0, 0, 0)}, "input_shape must be positive"),   # not the C API's "default input"
    ({"input_shape": (3, 32)}, "(channels, height, width)"),
])
def test_bad_zoo_arguments(kwargs, text):
    assert_error(lambda: tailor.zoo.create("resnet8", **kwargs), text)


# ---- parameters ----

def test_unknown_parameter_name(resnet8):
    before = resnet8.state_dict()
    assert_error(lambda: resnet8.set_param("layer9.conv.weight", np.zeros(3)), "layer9.conv.weight",
                 status="TAILOR_ERR_NOT_FOUND")
    still_usable(resnet8, before)


def test_strict_reports_missing_and_unexpected_together(resnet8):
    before = resnet8.state_dict()
    sd = dict(before)
    del sd["fc.bias"], sd["layer2.0.bn1.running_var"]
    sd["fc.extra"] = np.zeros(1)
    e = assert_error(lambda: resnet8.load_state_dict(sd), "Missing key(s)", '"fc.bias"',
                     '"layer2.0.bn1.running_var"', "Unexpected key(s)", '"fc.extra"')
    assert str(e).index("Missing") < str(e).index("Unexpected")
    still_usable(resnet8, before)


@pytest.mark.parametrize("key,value,text,status", [
    ("fc.weight", np.zeros((64, 10), np.float32), "size mismatch for fc.weight", "TAILOR_ERR_SHAPE"),
    ("conv1.weight", np.zeros((16, 3, 3), np.float32), "size mismatch for conv1.weight", "TAILOR_ERR_SHAPE"),
    ("bn1.num_batches_tracked", np.zeros(1, np.int64), "size mismatch", "TAILOR_ERR_SHAPE"),
    ("fc.bias", np.zeros(10, np.complex64), "unsupported dtype complex64", "TAILOR_ERR_INVALID_ARGUMENT"),
    ("fc.bias", np.array(["a"] * 10), "unsupported dtype", "TAILOR_ERR_INVALID_ARGUMENT"),
    ("fc.bias", np.zeros(10, bool), "unsupported dtype bool", "TAILOR_ERR_INVALID_ARGUMENT"),
    ("fc.bias", np.array([None] * 10), "unsupported dtype object", "TAILOR_ERR_INVALID_ARGUMENT"),
    ("fc.bias", np.array([0.0] * 9 + [np.nan]), "not finite", "TAILOR_ERR_NUMERIC"),
    ("layer3.0.conv2.weight", np.full((64, 64, 3, 3), np.inf), "not finite", "TAILOR_ERR_NUMERIC"),
    ("fc.weight", np.full((10, 64), -np.inf, np.float32), "not finite", "TAILOR_ERR_NUMERIC"),
    ("fc.weight", np.full((10, 64), 1e39), "not finite", "TAILOR_ERR_NUMERIC"),  # overflows float32
    ("bn1.running_var", np.full(16, -1.0, np.float32), "negative", "TAILOR_ERR_INVALID_ARGUMENT"),
    ("bn1.num_batches_tracked", np.array(-1), "not a non-negative integer", "TAILOR_ERR_INVALID_ARGUMENT"),
    ("bn1.num_batches_tracked", np.array(2.5), "not a non-negative integer", "TAILOR_ERR_INVALID_ARGUMENT"),
])
def test_bad_values_leave_everything_unchanged(resnet8, key, value, text, status):
    before = resnet8.state_dict()
    sd = dict(before)
    # change an earlier tensor too: a failed load must not leave it half applied
    sd["conv1.weight"] = np.ones_like(before["conv1.weight"]) if key != "conv1.weight" else value
    sd[key] = value
    e = assert_error(lambda: resnet8.load_state_dict(sd), text, status=status)
    assert key in str(e)
    still_usable(resnet8, before)
    resnet8.load_state_dict(before)  # and a good load still works


def test_bad_torch_tensors(resnet8):
    if torch is None:
        pytest.skip("torch not installed")
    before = resnet8.state_dict()
    sd = {k: torch.from_numpy(v) for k, v in before.items()}
    sd["fc.weight"] = torch.zeros(10, 63)
    assert_error(lambda: resnet8.load_state_dict(sd), "size mismatch for fc.weight", "(10, 63)")
    sd["fc.weight"] = torch.full((10, 64), float("nan"))
    assert_error(lambda: resnet8.load_state_dict(sd), "not finite")
    sd["fc.weight"] = torch.zeros(10, 64, dtype=torch.complex64)
    assert_error(lambda: resnet8.load_state_dict(sd), "unsupported dtype")
    sd["fc.weight"] = torch.zeros(10, 64, dtype=torch.bfloat16)  # widened, accepted
    resnet8.load_state_dict(sd)
    still_usable(resnet8)


def test_state_dict_must_be_a_mapping(resnet8):
    assert_error(lambda: resnet8.load_state_dict([("fc.bias", np.zeros(10))]), "must be a mapping")


# ---- graph building ----

@pytest.fixture
def small():
    with Network(seed=0) as net:
        net.add_input("input", (3, 16, 16))
        net.add_conv2d("a", "input", 8, 3, padding=1)
        net.add_conv2d("b", "input", 4, 3, padding=1)
        yield net


@pytest.mark.parametrize("build,texts,status", [
    (lambda n: n.add_conv2d("c", "missing", 8, 3), ["'c'", "unknown input node 'missing'"], "TAILOR_ERR_NOT_FOUND"),
    (lambda n: n.add_add("s", "a", "b"), ["'s'", "add needs equal shapes", "8×16×16", "4×16×16"], "TAILOR_ERR_SHAPE"),
    (lambda n: n.add_add("s", "a", "nowhere"), ["unknown input node 'nowhere'"], "TAILOR_ERR_NOT_FOUND"),
    (lambda n: n.add_relu("a", "b"), ["'a' already exists"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_input("x", (3, 8, 8)), ["one input node"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_conv2d("c", "a", 8, 40), ["kernel 40", "does not fit"], "TAILOR_ERR_SHAPE"),
    (lambda n: n.add_conv2d("c", "a", 8, 3, stride=0), ["stride"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_conv2d("c", "a", 0, 3), ["out_channels"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_dense("d", "a", 10), ["dense needs a flat input"], "TAILOR_ERR_SHAPE"),
    (lambda n: n.add_batchnorm("n", "a", eps=float("nan")), ["eps"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_batchnorm("n", "a", momentum=2.0), ["momentum"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_pool("p", "a", "max", 0), ["kernel"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_pool("p", "a", "median", 2), ["unknown pool kind"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_relu("", "a"), ["node names"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_relu("x\0y", "a"), ["NUL"], "TAILOR_ERR_INVALID_ARGUMENT"),
    (lambda n: n.add_relu(3, "a"), ["must be a string"], "TAILOR_ERR_INVALID_ARGUMENT"),
])
def test_wiring_errors(small, build, texts, status):
    before = small.nodes
    assert_error(lambda: build(small), *texts, status=status)
    assert small.nodes == before
    small.add_relu("ok", "a")  # still usable
    assert small.nodes[-1].name == "ok"


def test_node_before_input():
    with Network() as net:
        assert_error(lambda: net.add_relu("r", "x"), "add an input node first")
        assert repr(net) == "<tailor.Network (empty)>"
        assert_error(lambda: net.input_shape, "no nodes")


# ---- modes and blocks ----

@pytest.mark.parametrize("block,mode,texts", [
    (3, "long", ["block index 3 is out of range", "3 residual block"]),
    (-1, "short", ["block index -1 is out of range"]),
    (2**40, "short", ["out of range"]),
    ("layer4.0", "long", ["unknown block 'layer4.0'", "layer1.0"]),
    (0, "skipless", ["invalid mode 'skipless'", "long, removed, short"]),
    (0, 3, ["mode must be", "got 3"]),
    (0, -1, ["mode must be", "got -1"]),
    (0, None, ["invalid mode None"]),
    (1.0, "long", ["block must be an index or a block name"]),
])
def test_bad_modes_and_blocks(resnet8, block, mode, texts):
    modes = resnet8.modes
    assert_error(lambda: resnet8.set_mode(block, mode), *texts)
    assert resnet8.modes == modes
    resnet8.set_mode(0, "short")
    assert resnet8.modes["layer1.0"] == "short"


# ---- files ----

def test_missing_and_unwritable_files(tmp_path, resnet8):
    assert_error(lambda: tailor.load(tmp_path / "nope.tailor"), "nope.tailor", "No such file", status="TAILOR_ERR_IO")
    assert_error(lambda: resnet8.save(tmp_path / "no" / "dir" / "m.tailor"), "cannot write", status="TAILOR_ERR_IO")
    assert_error(lambda: tailor.load(tmp_path), status="TAILOR_ERR_IO")  # a directory
    assert_error(lambda: Network.from_bytes(b""), "0 bytes", status="TAILOR_ERR_FORMAT")
    assert_error(lambda: Network.from_bytes(b"\x00" * 7), status="TAILOR_ERR_FORMAT")
    still_usable(resnet8)
    assert not os.listdir(tmp_path)  # the failed atomic save left no temporary file behind


# ---- lifetime ----

def test_use_after_close(resnet8):
    twin = resnet8.copy()
    twin.close()
    twin.close()  # twice is fine
    twin.__del__()
    assert twin.closed
    for call in (lambda: twin.nodes, lambda: twin.skips, lambda: twin.blocks, lambda: twin.state_dict(),
                 lambda: twin.set_mode(0, "removed"), lambda: twin.load_state_dict({}), lambda: twin.copy(),
                 lambda: twin.save("/tmp/x.tailor"), lambda: twin.add_relu("r", "fc"), lambda: twin.describe(),
                 lambda: twin.input_shape, lambda: twin.summary()):
        assert_error(call, "closed")
    assert "closed" in repr(twin)
    still_usable(resnet8)


def test_context_manager_and_half_built_object():
    with tailor.zoo.resnet8() as net:
        assert not net.closed
    assert net.closed
    half = Network.__new__(Network)  # __init__ never ran
    half.__del__()
    half.close()
    assert "closed" in repr(half)


# ---- loading the library ----

def test_abi_version_mismatch(monkeypatch):
    monkeypatch.setattr(_lib, "EXPECTED_ABI_VERSION", 3)
    e = assert_error(lambda: _lib.check_abi(_lib.lib(), "libtailor.so"), "ABI version mismatch", "ABI version 2",
                     "expects ABI version 3", status="TAILOR_ERR_VERSION")
    assert e.status == 10
    monkeypatch.setattr(_lib, "_lib", None)  # a fresh load must refuse too
    assert_error(_lib.load_library, "ABI version 2", "ABI version 3")


def test_library_not_found_lists_every_path(monkeypatch, tmp_path):
    bogus = tmp_path / "libtailor.so"
    bogus.write_bytes(b"not an ELF file")
    monkeypatch.setenv("TAILOR_LIBRARY", str(bogus))
    monkeypatch.setattr(_lib, "_PKG_DIR", str(tmp_path / "pkg"))
    monkeypatch.setattr(_lib, "_REPO_DIR", str(tmp_path / "repo"))
    e = assert_error(_lib.load_library, str(bogus), str(tmp_path / "pkg" / "libtailor.so"),
                     str(tmp_path / "repo" / ".build" / "release" / "libtailor.so"), "swift build", "TAILOR_LIBRARY")
    assert "not found" in str(e)


def test_lookup_order(monkeypatch):
    monkeypatch.setenv("TAILOR_LIBRARY", "/x/libtailor.so")
    paths = _lib.candidate_paths()
    assert paths[0] == "/x/libtailor.so"
    assert paths[1].endswith(os.path.join("tailor", "libtailor.so"))
    assert paths[2].endswith(os.path.join(".build", "release", "libtailor.so"))
    monkeypatch.delenv("TAILOR_LIBRARY")
    assert len(_lib.candidate_paths()) == 2


def test_status_names_and_error_attributes(resnet8):
    L = _lib.lib()
    assert L.tailor_status_name(0) == b"TAILOR_OK"
    assert L.tailor_status_name(2) == b"TAILOR_ERR_SHAPE"
    assert L.tailor_status_name(12345)  # never NULL
    e = assert_error(lambda: resnet8.set_param("fc.weight", np.zeros(3)), status="TAILOR_ERR_SHAPE")
    assert isinstance(e, RuntimeError)
    resnet8.state_dict()
    assert L.tailor_last_error() == b""  # cleared by the successful call


def test_evaluate_that_overflows_is_a_numeric_error_not_a_nan_loss():
    """Finite but huge weights overflow the logits: predict and evaluate both say so."""
    with tailor.zoo.create("resnet8", seed=0) as net:
        sd = net.state_dict()
        sd["fc.weight"] = np.full_like(sd["fc.weight"], 3e38)
        net.load_state_dict(sd)
        x = np.random.default_rng(0).random((4, 3, 32, 32), dtype=np.float32)
        for call in (lambda: net.predict(x), lambda: net.evaluate(x, np.zeros(4, np.int64))):
            with pytest.raises(tailor.TailorError, match="overflowed") as e:
                call()
            assert e.value.status_name == "TAILOR_ERR_NUMERIC"


def test_every_status_has_its_exception_class_from_one_table():
    """The status table behind the exception classes agrees with tailor.h's enum, and each status
    raises its own class, which is also the matching builtin."""
    import re
    from pathlib import Path
    from tailor import _lib
    header = (Path(__file__).resolve().parents[2] / "include" / "tailor.h").read_text()
    enum = {int(v): n for n, v in re.findall(r"(TAILOR_ERR_\w+) = (\d+)", header)}
    assert {code: name for code, name, _, _ in _lib._STATUS_TABLE} == enum
    for code, name, cls_name, builtin in _lib._STATUS_TABLE:
        e = tailor.TailorError("m", status=code)
        assert type(e) is getattr(tailor, cls_name) and isinstance(e, builtin) and isinstance(e, tailor.TailorError)
        assert e.status == code and e.status_name == name and str(e) == "m"


def test_library_errors_are_caught_as_builtins():
    with pytest.raises(KeyError, match="unknown zoo model"):
        tailor.zoo.create("nope", num_classes=10)
    with pytest.raises(OSError, match="cannot open"):
        tailor.load("/nonexistent/model.tailor")
    with tailor.zoo.create("resnet8", num_classes=10) as net:
        with pytest.raises(tailor.ShapeError):
            net.predict(np.zeros((1, 3, 31, 32), np.float32))
        with pytest.raises(ArithmeticError):
            net.predict(np.full((1, 3, 32, 32), np.nan, np.float32))
