"""Test setup: import the package from this checkout and find libtailor.

If TAILOR_LIBRARY is unset and the package has no bundled library, point TAILOR_LIBRARY at
`<repo>/.build/release/libtailor.so`. If no library can be loaded at all, the run stops with
one clear message saying how to build it (a missing library is a failure, not a skip).
"""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYDIR)
BUILT = os.path.join(REPO, ".build", "release", "libtailor.so")

sys.path.insert(0, PYDIR)
if not os.environ.get("TAILOR_LIBRARY") and not os.path.isfile(os.path.join(PYDIR, "tailor", "libtailor.so")) \
        and os.path.isfile(BUILT):
    os.environ["TAILOR_LIBRARY"] = BUILT

import tailor  # noqa: E402
from tailor import _lib  # noqa: E402


def pytest_sessionstart(session):
    try:
        _lib.lib()
    except tailor.TailorError as e:
        pytest.exit(f"libtailor is not available, so the Python tests cannot run.\n{e}", returncode=1)


#: Minutes-long peer checks and stress runs: ``make test-quick`` (``-m "not slow"``) leaves them
#: out for everyday work; CI runs everything. Whole modules, and single tests by node id.
SLOW_MODULES = {"test_fixed_hls4ml.py", "test_qonnx.py", "test_crash_safety.py", "test_hls4ml_fifo.py",
                "test_onnx_hls4ml.py", "test_fixed_point.py", "test_hls4ml_peer.py", "test_notebook.py"}
SLOW_TESTS = {"test_cli.py::test_demo", "test_cli.py::test_remove_with_a_checkpoint_then_resume",
              "test_examples.py::test_walkthrough", "test_torch_schedule.py::test_ddp_two_ranks_agree"}


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a minutes-long peer check or stress run (make test-quick skips it)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = os.path.basename(str(item.fspath))
        test = f"{module}::{item.originalname}"
        if module in SLOW_MODULES or test in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


def pytest_report_header(config):
    return f"libtailor: {_lib.lib()._tailor_path} (version {_lib.version()})"


@pytest.fixture
def resnet8():
    """A fresh ResNet-8, closed after the test."""
    with tailor.zoo.resnet8(num_classes=10, seed=0) as net:
        yield net


@pytest.fixture
def subprocess_env():
    """Environment for a child Python that imports this checkout's package and library."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PYDIR + os.pathsep + env.get("PYTHONPATH", "")
    env["TAILOR_LIBRARY"] = _lib.lib()._tailor_path
    return env
